"""Holding replies: the customer hears from us when the provider keeps us waiting.

Every LLM request queued for the provider desk comes with a *holding check* on
``mail.responder.holding``, due ``RESPONDER_HOLDING_AFTER_S`` after the email reached
``mail.inbound`` (its ``occurred_at``: ingest's publish, or an operator's reprocess, a
run of its own). The desk answers one request at a time, so a request deep in a backlog
(an open breaker, the rate limit, retries on the delay topics) is nowhere the desk could
see it; the check waits for it instead. The holding topic is keyed by provider and has
as many partitions as ``mail.llm-requests``, so Faust gives its partition to the worker
whose desk owns the provider, and the check reads that desk's ``llm-done`` table.

When the check is due and the run is still not answered (nor handed off, nor
dead-lettered), one holding reply goes out (the ``holding_wait`` template, in the
customer's language), marked ``keeps_status=processing`` so the sender records it on the
task without ending it; ``holding|<run key>`` in ``llm-done`` then says it went out,
and the desk's dead letter sends no second one. The real answer follows whenever the desk
gets it. Exactly once: the mark is written after the reply is flushed (a crash in between
re-emits the same event id), and the sender's ledger sends one holding reply per email.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from datetime import timedelta

from opentelemetry import metrics

from mailroom_common.events import OutboundKind, TaskStatus
from mailroom_common.logging import get_logger
from mailroom_common.topics import HOLDING_CHECKS, LLM_REQUESTS
from mailroom_responder import outcomes
from mailroom_responder.decision.faq import FaqBook
from mailroom_responder.messages import HoldingCheck, LlmRequest
from mailroom_responder.outcomes import Emission
from mailroom_responder.ports import DonePort, Publisher, done_key, holding_key

__all__ = ["HoldingTimer", "Verdict", "check_for", "holding_reply", "queue_request", "verdict"]

log = get_logger("mailroom_responder.holding")


class Verdict(enum.StrEnum):
    WAIT = "wait"  # not due yet, or the desk is emitting this run's outcome right now
    SEND = "send"
    ANSWERED = "answered"  # the run is done: replied, handed off or dead-lettered
    ALREADY_SENT = "already_sent"


def verdict(
    *, now: float, due_at: float, answered: bool, already_sent: bool, finishing: bool = False
) -> Verdict:
    """Is it time for this run's holding reply? (pure)

    A run that is done needs none, and one already sent is never sent again, due or not;
    otherwise it is time once the email has waited ``RESPONDER_HOLDING_AFTER_S`` (``due_at``),
    unless the desk is just now emitting the answer (then wait and look again).
    """
    if answered:
        return Verdict.ANSWERED
    if already_sent:
        return Verdict.ALREADY_SENT
    if finishing or now < due_at:
        return Verdict.WAIT
    return Verdict.SEND


def check_for(request: LlmRequest, after_s: float) -> HoldingCheck:
    """The holding check of a request being queued for the first time."""
    return HoldingCheck(
        provider=request.provider,
        inbound=request.inbound,
        recipient=request.recipient,
        language=request.language,
        route=request.route,
        intent=request.intent,
        due_at=request.inbound.occurred_at + timedelta(seconds=after_s),
    )


async def queue_request(
    publisher: Publisher, request: LlmRequest, *, after_s: float | None
) -> None:
    """Queue an LLM request for the desk, with its holding check unless ``after_s`` is None
    (holding replies off)."""
    await publisher.emit_request(LLM_REQUESTS, request.provider, request)
    if after_s is not None:
        await publisher.emit_request(HOLDING_CHECKS, request.provider, check_for(request, after_s))


def holding_reply(check: HoldingCheck, faq: FaqBook) -> Emission:
    """The holding reply while the answer is still coming; the task keeps waiting for it."""
    return outcomes.outbound(
        check.inbound,
        OutboundKind.HOLDING,
        to=check.recipient,
        body=faq.template("holding_wait", check.language),
        route=check.route,
        intent=check.intent,
        keeps_status=TaskStatus.PROCESSING,
    )


class HoldingTimer:
    """The agent of ``mail.responder.holding``: waits for the head check (checks share one
    delay, so they are in due order) until it is due or its run is answered."""

    def __init__(
        self,
        *,
        done: DonePort,
        publisher: Publisher,
        faq: FaqBook,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        finishing: Callable[[], str | None] = lambda: None,
        hold_check_s: float = 0.25,
        enabled: bool = True,
    ) -> None:
        self.done = done
        self.publisher = publisher
        self.faq = faq
        self.clock = clock
        self.sleep = sleep
        self.finishing = finishing  # the run the desk is emitting the outcome of
        self.hold_check_s = hold_check_s
        self.enabled = enabled
        self._replies = metrics.get_meter("mailroom_responder").create_counter(
            "responder.holding.replies", description="Holding replies sent while waiting"
        )

    async def process(self, check: HoldingCheck, should_yield: Callable[[], bool]) -> str:
        """Handle one check; returns what happened (for logs and tests)."""
        email = check.inbound
        run, mark = done_key(email), holding_key(email)
        due = check.due_at.timestamp()
        while True:
            now = self.clock()
            decided = verdict(
                now=now,
                due_at=due,
                answered=self.done.is_done(run),
                already_sent=self.done.is_done(mark),
                finishing=self.finishing() == run,
            )
            if decided is not Verdict.WAIT:
                break
            if should_yield():
                # A rebalance or shutdown: the partition's next owner gets the check.
                await self.publisher.emit_request(HOLDING_CHECKS, check.provider, check)
                return "yielded"
            await self.sleep(min(due - now if now < due else self.hold_check_s, self.hold_check_s))
        if decided is not Verdict.SEND or not self.enabled:
            return decided.value if self.enabled else "disabled"
        await self.publisher.emit(holding_reply(check, self.faq))
        await self.publisher.flush()
        await self.done.mark_done(mark)
        self._replies.add(1, {"language": check.language})
        log.warning(
            "holding.sent",
            message_key=email.message_key,
            waited_s=round(now - email.occurred_at.timestamp(), 1),
            route=check.route.value,
        )
        return "sent"
