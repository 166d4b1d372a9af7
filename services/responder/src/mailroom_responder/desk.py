"""The provider desk: the one place LLM calls happen, one request at a time.

Runs inside the agent that owns the provider's partition of ``mail.llm-requests``, so
its breaker/limiter state (read and written through ``StateStore``) is the cluster's.
For each request: wait while the gate says so (back-pressure, no attempt used), reserve
the slot durably, call, then record the result and emit the email's outcome.
I/O goes through small ports so tests can drive it without Kafka.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from mailroom_common.events import (
    AlertSeverity,
    OutboundKind,
    TaskStatus,
)
from mailroom_common.logging import get_logger
from mailroom_common.telemetry import current_trace_id
from mailroom_common.topics import LLM_REQUESTS, RETRY_TOPICS
from mailroom_responder import gatekeeper, outcomes
from mailroom_responder.breaker import BreakerPhase, Transition
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import FaqBook
from mailroom_responder.decision.reply_gate import GateRules
from mailroom_responder.decision.safety import plain_text
from mailroom_responder.limiter import parse_rate_limit_headers
from mailroom_responder.llm_client import ErrorKind, LlmCallError, LlmClient, LlmResult
from mailroom_responder.messages import LlmRequest
from mailroom_responder.outcomes import Emission
from mailroom_responder.ports import DonePort, Publisher, StatePort, done_key, holding_key
from mailroom_responder.provider import ProviderConfig, ProviderState

__all__ = ["Desk", "DeskConfig"]

log = get_logger("mailroom_responder.desk")
tracer = trace.get_tracer("mailroom_responder")


@dataclass(frozen=True, slots=True)
class DeskConfig:
    provider: ProviderConfig
    inbound_topic: str
    max_attempts: int = 5
    retry_delays_s: tuple[float, ...] = (30.0, 60.0, 120.0, 120.0)
    holding_reply: bool = True
    handoff_ack: bool = True
    reply_max_chars: int = 1200
    price_input_per_token: float = 0.59e-6
    price_output_per_token: float = 0.79e-6
    hold_check_s: float = 0.25


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class Desk:
    def __init__(
        self,
        *,
        cfg: DeskConfig,
        client: LlmClient,
        state: StatePort,
        done: DonePort,
        publisher: Publisher,
        faq: FaqBook,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        catalogue: Callable[[], Awaitable[Catalogue]],
        gate_rules: GateRules | None = None,
    ) -> None:
        self.cfg = cfg
        self.catalogue = catalogue
        self.gate_rules = gate_rules
        self.client = client
        self.state = state
        self.done = done
        self.publisher = publisher
        self.faq = faq
        self.clock = clock
        self.sleep = sleep
        self.finishing: str | None = None  # the run whose outcome is being emitted
        meter = metrics.get_meter("mailroom_responder")
        self._transitions = meter.create_counter(
            "responder.breaker.transitions", description="Circuit breaker transitions"
        )
        self._calls = meter.create_counter(
            "responder.llm.calls", description="LLM calls by outcome"
        )
        self._waits = meter.create_counter(
            "responder.llm.waits", description="Times a request waited for the provider"
        )

    # ------------------------------------------------------------------ state helpers

    async def _save(self, state: ProviderState, transition: Transition | None) -> None:
        await self.state.save(state)
        now = self.clock()
        if transition is not None:
            self._transitions.add(
                1, {"from": transition.source.value, "to": transition.target.value}
            )
            log.warning(
                "llm.breaker",
                provider=state.provider,
                source=transition.source.value,
                target=transition.target.value,
                reason=transition.reason,
                open_until=str(_dt(state.breaker.open_until)) if state.breaker.open_until else None,
            )
            if transition.target is BreakerPhase.OPEN:
                await self.publisher.emit(
                    outcomes.alert(
                        None,
                        "breaker_opened",
                        f"LLM provider {state.provider} circuit opened: {transition.reason}",
                        severity=AlertSeverity.CRITICAL,
                        details={"open_until": str(_dt(state.breaker.open_until or now))},
                    )
                )
        await self.publisher.emit(outcomes.provider_state(state, self.cfg.provider, now))

    # ------------------------------------------------------------------ main entry

    async def process(self, request: LlmRequest, should_yield: Callable[[], bool]) -> str:
        """Handle one request; returns what happened (for logs and tests)."""
        email = request.inbound
        if self.done.is_done(done_key(email)):
            log.info("done.duplicate", message_key=email.message_key)
            return "duplicate"
        waited_for: str | None = None
        while True:
            now = self.clock()
            current = self.state.load()
            admitted, gate = current.admit(now, self.cfg.provider, request.estimated_tokens)
            if not gate.go:
                if gate.reason != waited_for:
                    waited_for = gate.reason
                    self._waits.add(1, {"reason": gate.reason or "?"})
                    log.info(
                        "waiting",
                        message_key=email.message_key,
                        reason=gate.reason,
                        until=str(_dt(gate.wait_until or now)),
                    )
                if should_yield():
                    # A rebalance or shutdown: hand the request back to the topic so the
                    # partition's next owner gets it, and let the stream move on.
                    await self.publisher.emit_request(LLM_REQUESTS, request.provider, request)
                    return "yielded"
                pause = (gate.wait_until or now) - now
                await self.sleep(max(0.0, min(pause, self.cfg.hold_check_s)))
                continue
            # Durable before the call: a worker that dies mid-call leaves the slot (and
            # the probe) counted for whoever takes over.
            await self._save(admitted, gate.transition)
            try:
                result = await self._call(request)
            except LlmCallError as err:
                outcome = await self._on_error(request, err)
                if outcome == "again":
                    continue
                return outcome
            answered = await self._on_success(request, result)
            if isinstance(answered, LlmRequest):  # the gate blocked it: ask once more
                request = answered
                continue
            return answered

    async def _call(self, request: LlmRequest) -> LlmResult:
        # GenAI conventions: a CLIENT span named "{operation} {model}".
        with tracer.start_as_current_span(
            f"chat {self.client.model}", kind=SpanKind.CLIENT
        ) as span:
            span.set_attribute("gen_ai.system", "groq")
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", self.client.model)
            span.set_attribute("gen_ai.request.max_tokens", self.client.max_tokens)
            span.set_attribute("mailroom.attempt", request.attempt + 1)
            try:
                result = await self.client.complete(request.messages)
            except LlmCallError as err:
                span.set_attribute("error.type", err.error_class)
                if err.status is not None:
                    span.set_attribute("http.response.status_code", err.status)
                span.set_status(Status(StatusCode.ERROR, err.message[:200]))
                self._calls.add(1, {"outcome": err.kind.value})
                log.warning(
                    "llm.call",
                    message_key=request.inbound.message_key,
                    outcome=err.kind.value,
                    status=err.status,
                    error_class=err.error_class,
                )
                raise
            span.set_attribute("gen_ai.response.model", result.model)
            span.set_attribute("gen_ai.usage.input_tokens", result.prompt_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", result.completion_tokens)
            self._calls.add(1, {"outcome": "ok"})
            log.info(
                "llm.call",
                message_key=request.inbound.message_key,
                outcome="ok",
                model=result.model,
                latency_ms=round(result.latency_ms, 1),
                input_tokens=result.prompt_tokens,
                output_tokens=result.completion_tokens,
            )
            return result

    # ------------------------------------------------------------------ outcomes

    async def _on_error(self, request: LlmRequest, err: LlmCallError) -> str:
        now = self.clock()
        info = parse_rate_limit_headers(err.headers, now)
        current = self.state.load()
        cfg = self.cfg.provider
        if err.kind is ErrorKind.RATE_LIMITED:
            state, transition = current.on_rate_limited(now, cfg, info)
            await self._save(state, transition)
            return "again"  # back-pressure: same request, no attempt used
        if err.kind is ErrorKind.PERMANENT:
            state, transition = current.on_permanent_failure(now, cfg, info)
            await self._save(state, transition)
            return await self._dead_letter(request, err, attempts=request.attempt + 1, now=now)
        state, transition = current.on_transient_failure(now, cfg, info)
        await self._save(state, transition)
        attempts = request.attempt + 1
        if attempts >= self.cfg.max_attempts:
            return await self._dead_letter(request, err, attempts=attempts, now=now)
        return await self._schedule_retry(request, err, attempts=attempts, now=now)

    async def _schedule_retry(
        self, request: LlmRequest, err: LlmCallError, *, attempts: int, now: float
    ) -> str:
        email = request.inbound
        index = attempts - 1
        delay = self.cfg.retry_delays_s[min(index, len(self.cfg.retry_delays_s) - 1)]
        # Retry n always uses the same topic, whose records then share one delay and
        # are in due order: its agent only ever waits for the head.
        topic = RETRY_TOPICS[min(index, len(RETRY_TOPICS) - 1)][1]
        failed_at = _dt(now)
        retry = request.model_copy(
            update={
                "attempt": attempts,
                "first_failure_at": request.first_failure_at or failed_at,
                "last_failure_at": failed_at,
                "last_error": f"{err.error_class}: {err.message}"[:500],
                "due_at": failed_at + timedelta(seconds=delay),
            }
        )
        await self.publisher.emit_request(topic, email.thread_key, retry)
        await self.publisher.emit(
            outcomes.status(
                email,
                TaskStatus.RETRYING,
                attempts=attempts,
                error=retry.last_error,
                reason=f"retry in {delay:g}s",
                route=request.route,
                intent=request.intent,
            )
        )
        log.warning(
            "waiting.retry",
            message_key=email.message_key,
            attempts=attempts,
            delay_s=delay,
            error_class=err.error_class,
        )
        return "retry"

    async def _dead_letter(
        self, request: LlmRequest, err: LlmCallError, *, attempts: int, now: float
    ) -> str:
        email = request.inbound
        failed_at = _dt(now)
        first = request.first_failure_at or failed_at
        out: list[Emission] = [
            outcomes.dead_letter(
                email,
                original_topic=self.cfg.inbound_topic,
                error_class=err.error_class,
                error_message=err.message,
                attempts=attempts,
                first_failure_at=first,
                last_failure_at=failed_at,
            ),
            outcomes.alert(
                email,
                "dead_letter",
                f"LLM answer given up after {attempts} attempt(s): {err.error_class}",
                severity=AlertSeverity.CRITICAL,
                details={"status": err.status, "error_class": err.error_class},
            ),
        ]
        if self.cfg.holding_reply and not self.done.is_done(holding_key(email)):
            # (One went out while the answer was held back: not a second one.)
            out.append(
                outcomes.outbound(
                    email,
                    OutboundKind.HOLDING,
                    to=request.recipient,
                    body=self.faq.template("holding", request.language),
                    route=request.route,
                    intent=request.intent,
                )
            )
        out.append(
            outcomes.status(
                email,
                TaskStatus.DEAD_LETTER,
                attempts=attempts,
                error=f"{err.error_class}: {err.message}"[:500],
                route=request.route,
                intent=request.intent,
                trace_id=current_trace_id(),
            )
        )
        await self._finish(done_key(email), out)
        log.error(
            "dead_letter",
            message_key=email.message_key,
            attempts=attempts,
            error_class=err.error_class,
            status=err.status,
        )
        return "dead_letter"

    async def _on_success(self, request: LlmRequest, result: LlmResult) -> str | LlmRequest:
        now = self.clock()
        info = parse_rate_limit_headers(result.headers, now)
        current = self.state.load()
        state, transition = current.on_success(now, self.cfg.provider, info)
        await self._save(state, transition)
        email = request.inbound
        reply = plain_text(result.text, self.cfg.reply_max_chars)
        verdict = gatekeeper.check(
            reply, request, catalogue=await self.catalogue(), faq=self.faq, rules=self.gate_rules
        )
        if not verdict.send:
            again = not request.gate_reasons
            log.warning(
                "llm.reply_blocked",
                message_key=email.message_key,
                reasons=list(verdict.reasons),
                then="regenerate" if again else "handoff",
            )
            if again:
                return gatekeeper.regenerate(request, reply, verdict)
            out = gatekeeper.hand_off(request, verdict, faq=self.faq, ack=self.cfg.handoff_ack)
            await self._finish(done_key(email), out)
            return "handoff"
        cost = (
            result.prompt_tokens * self.cfg.price_input_per_token
            + result.completion_tokens * self.cfg.price_output_per_token
        )
        usage = {
            "model": result.model,
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "cost_usd": round(cost, 8),
        }
        out = [
            outcomes.outbound(
                email,
                OutboundKind.REPLY,
                to=request.recipient,
                body=reply,
                route=request.route,
                intent=request.intent,
                **usage,
            ),
            outcomes.status(
                email,
                TaskStatus.REPLIED,
                attempts=request.attempt,
                route=request.route,
                intent=request.intent,
                reply_text=reply,
                latency_ms=round(result.latency_ms, 1),
                trace_id=current_trace_id(),
                **usage,
            ),
        ]
        await self._finish(done_key(email), out)
        log.info("done", message_key=email.message_key, route=request.route.value)
        return "replied"

    async def _finish(self, run_key: str, out: list[Emission]) -> None:
        # Outcome first, then "done": a crash in between re-emits the same events (same
        # ids) instead of losing them. The holding timer waits while this runs.
        self.finishing = run_key
        try:
            for emission in out:
                await self.publisher.emit(emission)
            await self.publisher.flush()
            await self.done.mark_done(run_key)
        finally:
            self.finishing = None
