"""Circuit breaker as a pure state machine: values in, values out, ``now`` passed in.

closed --(threshold consecutive failures)--> open --(cool-down over: one probe)-->
half_open --success--> closed, half_open --failure--> open. The state is a frozen
dataclass so it can live in a Faust table (``to_dict``/``from_dict``) and be recovered
from the changelog on another worker.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["Admission", "Breaker", "BreakerConfig", "BreakerPhase", "Transition"]


class BreakerPhase(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    failure_threshold: int = 3
    cooldown_s: float = 120.0
    # A probe that never reported back (its worker died) blocks nobody longer than this.
    probe_timeout_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Transition:
    source: BreakerPhase
    target: BreakerPhase
    reason: str


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    wait_until: float | None = None
    transition: Transition | None = None


@dataclass(frozen=True, slots=True)
class Breaker:
    phase: BreakerPhase = BreakerPhase.CLOSED
    consecutive_failures: int = 0
    open_until: float | None = None
    probe_started_at: float | None = None

    def admit(self, now: float, cfg: BreakerConfig) -> tuple[Breaker, Admission]:
        """May a request go now? Moving open→half_open hands out the one probe."""
        if self.phase is BreakerPhase.CLOSED:
            return self, Admission(allowed=True)
        if self.phase is BreakerPhase.OPEN:
            if self.open_until is not None and now < self.open_until:
                return self, Admission(allowed=False, wait_until=self.open_until)
            probing = replace(self, phase=BreakerPhase.HALF_OPEN, probe_started_at=now)
            t = Transition(BreakerPhase.OPEN, BreakerPhase.HALF_OPEN, "cool-down over; probing")
            return probing, Admission(allowed=True, transition=t)
        # HALF_OPEN: only one probe at a time.
        started = self.probe_started_at
        if started is not None and now < started + cfg.probe_timeout_s:
            return self, Admission(allowed=False, wait_until=started + cfg.probe_timeout_s)
        return replace(self, probe_started_at=now), Admission(allowed=True)

    def on_success(self, now: float, cfg: BreakerConfig) -> tuple[Breaker, Transition | None]:
        del now, cfg  # same signature as on_failure; success needs neither
        closed = Breaker()
        if self.phase is BreakerPhase.CLOSED:
            return closed, None
        return closed, Transition(self.phase, BreakerPhase.CLOSED, "probe succeeded")

    def on_failure(self, now: float, cfg: BreakerConfig) -> tuple[Breaker, Transition | None]:
        failures = self.consecutive_failures + 1
        if self.phase is BreakerPhase.HALF_OPEN:
            opened = Breaker(BreakerPhase.OPEN, failures, now + cfg.cooldown_s, None)
            return opened, Transition(BreakerPhase.HALF_OPEN, BreakerPhase.OPEN, "probe failed")
        if self.phase is BreakerPhase.OPEN:
            # A call admitted before the breaker opened failed late: stay open.
            return replace(self, consecutive_failures=failures), None
        if failures >= cfg.failure_threshold:
            opened = Breaker(BreakerPhase.OPEN, failures, now + cfg.cooldown_s, None)
            reason = f"{failures} consecutive failures"
            return opened, Transition(BreakerPhase.CLOSED, BreakerPhase.OPEN, reason)
        return replace(self, consecutive_failures=failures), None

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase.value,
            "consecutive_failures": self.consecutive_failures,
            "open_until": self.open_until,
            "probe_started_at": self.probe_started_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Breaker:
        return cls(
            phase=BreakerPhase(data.get("phase", "closed")),
            consecutive_failures=int(data.get("consecutive_failures", 0)),
            open_until=data.get("open_until"),
            probe_started_at=data.get("probe_started_at"),
        )
