"""The events the send path emits about a message: status changes, dead letters, alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mailroom_common.events import OutboundEmail, StatusChanged, TaskStatus, utcnow
from mailroom_common.logging import get_logger
from mailroom_common.telemetry import current_trace_id
from mailroom_common.topics import ALERTS, DEAD_LETTER, STATUS

from .outcomes import alert, dead_letter, task_status
from .work import Publisher, Target

__all__ = ["Reporter"]

log = get_logger(__name__)


class Reporter:
    def __init__(self, publisher: Publisher) -> None:
        self._pub = publisher

    async def status(
        self,
        target: Target,
        status: TaskStatus,
        reason: str,
        attempts: int | None = None,
        error: str | None = None,
    ) -> None:
        if not target.is_task:
            return
        event = task_status(
            target.message_key,
            target.kind,
            status,
            reason=reason,
            trace_id=current_trace_id(),
            out=target.outbound,
            attempts=attempts,
            error=error,
        )
        await self.event(event)

    async def event(self, event: StatusChanged) -> None:
        await self._pub.publish(STATUS, event, key=event.message_key)

    async def alert(self, key: str, kind: str, message: str, **extra: Any) -> None:
        await self._pub.publish(
            ALERTS, alert(kind=kind, message=message, message_key=key, **extra), key=key
        )

    async def reject(
        self,
        *,
        message_key: str,
        kind: str,
        stage: str,
        error_class: str,
        error: str,
        original: dict[str, Any],
        original_topic: str,
        first_failure_at: datetime | None,
        outbound: OutboundEmail | None,
        attempts: int = 1,
    ) -> None:
        """A dead letter, its alert and (for a task's message) SEND_FAILED."""
        now = utcnow()
        log.error("dead_letter", message_key=message_key, kind=kind, stage=stage, error=error[:300])
        await self._pub.publish(
            DEAD_LETTER,
            dead_letter(
                message_key=message_key,
                kind=kind,
                stage=stage,
                error_class=error_class,
                error_message=error,
                attempts=attempts,
                first_failure_at=first_failure_at or now,
                last_failure_at=now,
                original=original,
                original_topic=original_topic,
            ),
            key=message_key,
        )
        await self.alert(
            message_key,
            "dead_letter",
            f"{kind} for {message_key} dead-lettered at {stage}: {error[:300]}",
            details={"stage": stage, "error_class": error_class},
            dedup="dead_letter",
        )
        if outbound is not None:
            target = Target(message_key, kind, outbound.thread_key, outbound)
            await self.status(
                target,
                TaskStatus.SEND_FAILED,
                f"{error_class}: {error[:300]}",
                attempts,
                error=error,
            )
