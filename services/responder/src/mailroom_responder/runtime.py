"""Glue between Faust events and the pure core: decoding, tracing, tables, publishing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import faust
from opentelemetry import trace
from opentelemetry.context import Context

from mailroom_common.events import (
    AlertSeverity,
    DeadLetterEvent,
    Disposition,
    EventDecodeError,
    InboundEmail,
    OutboundEmail,
    OutboundKind,
    decode_event,
)
from mailroom_common.logging import get_logger
from mailroom_common.telemetry import context_from_headers, hash_address
from mailroom_common.threads import thread_ids
from mailroom_common.topics import (
    CLASSIFY_REQUESTS,
    DEAD_LETTER,
    HOLDING_CHECKS,
    INBOUND,
    LLM_REQUESTS,
    RETRY_TOPICS,
    TopicSpec,
)
from mailroom_responder import holding, outcomes, ownership
from mailroom_responder.classifier import ClassifierDesk
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import FaqBook
from mailroom_responder.decision.text import strip_invisible
from mailroom_responder.desk import Desk
from mailroom_responder.history import append_turn, turns_from_value, turns_to_value
from mailroom_responder.inbound import InboundConfig, handle_inbound
from mailroom_responder.messages import (
    LlmRequestDecodeError,
    decode_classify_request,
    decode_holding_check,
    decode_request,
)
from mailroom_responder.outcomes import Emission
from mailroom_responder.prompt import Turn
from mailroom_responder.tables import Tables
from mailroom_responder.topics import Topics

__all__ = ["Owners", "Runtime", "TurnSink"]

log = get_logger("mailroom_responder.runtime")
tracer = trace.get_tracer("mailroom_responder")


class TurnSink(Protocol):
    async def add(
        self,
        *,
        thread_key: str,
        role: str,
        text: str,
        message_key: str | None,
        customer_address: str | None,
    ) -> None: ...


class Owners(Protocol):
    """Who owns which thread (``owners_store.OwnerCache``)."""

    async def owner_of(self, thread_ids: Sequence[str], message_key: str) -> str | None: ...


def _now() -> datetime:
    return datetime.now(UTC)


def _parent(event: Any) -> Context | None:
    """Parent of an agent's span: Faust's process span when its OpenTelemetry sensor opened
    one (None = the current context), else the context in the record's headers."""
    if trace.get_current_span().get_span_context().is_valid:
        return None
    return context_from_headers(event.headers)


class Runtime:
    """Everything the agents need; one per worker process."""

    def __init__(
        self,
        *,
        app: faust.App,
        topics: Topics,
        tables: Tables,
        publisher: Any,
        desk: Desk,
        faq: FaqBook,
        catalogue: Callable[[], Awaitable[Catalogue]],
        inbound_cfg: InboundConfig,
        history_turns: int,
        turns: TurnSink | None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        hold_check_s: float = 0.25,
        classifier: ClassifierDesk | None = None,
        holding_timer: holding.HoldingTimer | None = None,
        owners: Owners | None = None,
    ) -> None:
        self.app = app
        self.topics = topics
        self.tables = tables
        self.publisher = publisher
        self.desk = desk
        self.faq = faq
        self.catalogue = catalogue
        self.inbound_cfg = inbound_cfg
        self.history_turns = history_turns
        self.turns = turns
        self.sleep = sleep
        self.clock = clock
        self.hold_check_s = hold_check_s
        self.classifier = classifier
        self.holding = holding_timer
        self.owners = owners

    def should_yield(self) -> bool:
        """True while Faust rebalances or stops: a held record must be handed back."""
        return bool(getattr(self.app, "rebalancing", False) or self.app.should_stop)

    # ------------------------------------------------------------------ bad records

    async def _bad_record(self, event: Any, topic: str, error: Exception) -> None:
        raw = event.value if isinstance(event.value, bytes) else str(event.value).encode()
        key = event.key.decode("utf-8", "replace") if isinstance(event.key, bytes) else None
        where = f"{topic}/{event.message.partition}@{event.message.offset}"
        now = _now()
        dead = DeadLetterEvent(
            producer=outcomes.PRODUCER,
            message_key=key or f"unknown:{where}",
            stage="responder",
            error_class=type(error).__name__,
            error_message=str(error)[:2000],
            attempts=0,
            first_failure_at=now,
            last_failure_at=now,
            original={"raw": raw[:20_000].decode("utf-8", "replace"), "record": where},
            original_topic=topic,
        )
        await self.publisher.emit(Emission(DEAD_LETTER, dead.message_key, dead))
        await self.publisher.emit(
            outcomes.alert(
                None,
                "bad_record",
                f"undecodable record on {topic}: {type(error).__name__}",
                severity=AlertSeverity.CRITICAL,
                details={"record": where, "error": str(error)[:500]},
            )
        )
        log.error("dead_letter.bad_record", record=where, error_class=type(error).__name__)

    # ------------------------------------------------------------------ mail.inbound

    async def on_inbound(self, event: Any) -> str:
        with tracer.start_as_current_span("responder.inbound", context=_parent(event)) as span:
            topic = self.topics.real_name(INBOUND)
            try:
                email = decode_event(event.value)
                if not isinstance(email, InboundEmail):
                    raise EventDecodeError(f"unexpected {email.event_type} on {topic}")
            except EventDecodeError as exc:
                await self._bad_record(event, topic, exc)
                return "bad_record"
            span.set_attribute("mailroom.message_key", email.message_key)
            span.set_attribute("mailroom.from", hash_address(email.from_address) or "")
            log.info("mail.processing", message_key=email.message_key, attempt=email.attempt)
            # Nothing is decided before the first catalogue load: this waits for it (the
            # record stays unacknowledged meanwhile), and the history is read after the wait.
            owned = await self._owned(email)
            if owned is not None:
                span.set_attribute("mailroom.human_owned", True)
                return owned
            catalogue = await self.catalogue()
            history = turns_from_value(self.tables.history.get(email.thread_key))
            recent = history[-self.history_turns :] if self.history_turns else []
            classifier = self.classifier
            result = handle_inbound(
                email,
                history=recent,
                faq=self.faq,
                catalogue=catalogue,
                cfg=self.inbound_cfg,
                defer=classifier.wants if classifier is not None else None,
            )
            decision = result.decision
            if decision is not None:
                span.set_attribute("mailroom.route", decision.route.value)
                span.set_attribute("mailroom.intent", decision.intent)
                log.info(
                    "intent",
                    message_key=email.message_key,
                    route=decision.route.value,
                    intent=decision.intent,
                    reason=decision.reason,
                )
            for emission in result.emissions:
                await self.publisher.emit(emission)
            if result.deferred and decision is not None and classifier is not None:
                # Unsure: the classifier's desk decides, or falls back to this decision.
                ask = classifier.request_for(email, recent)
                log.info(
                    "classifier.asked",
                    message_key=email.message_key,
                    confidence=round(decision.confidence, 3),
                )
                await self.publisher.emit_request(CLASSIFY_REQUESTS, ask.provider, ask)
            if result.request is not None:
                log.info(
                    "catalogue",
                    message_key=email.message_key,
                    excerpt_chars=len(result.request.context),
                )
                await holding.queue_request(
                    self.publisher, result.request, after_s=self.inbound_cfg.holding_after_s
                )
            if result.customer_turn is not None:
                await self._add_turn(email, result.customer_turn)
            if decision is None:
                return "skipped" if not result.emissions else "handoff"
            return "classify" if result.deferred else decision.route.value

    async def _owned(self, email: InboundEmail) -> str | None:
        """Settle a mail about a thread a person owns (or from the shop); else None."""
        if self.owners is None:
            return None
        shop = ownership.shop_mail(email)
        if shop is not None:
            await self.publisher.emit(shop)
            return None  # recorded as ignored from mail.inbound, like other screened mail
        if email.disposition is not Disposition.ANSWERABLE:
            return None
        reason = await self.owners.owner_of(thread_ids(email), email.message_key)
        if reason is None:
            return None
        log.info("mail.human_owned", message_key=email.message_key, reason=reason[:200])
        for emission in ownership.human_owned(email, reason):
            await self.publisher.emit(emission)
        body = strip_invisible(email.text)
        if body.strip():
            await self._add_turn(email, Turn("customer", body))
        return "human_owned"

    async def _add_turn(self, email: InboundEmail | OutboundEmail, turn: Turn) -> None:
        current = turns_from_value(self.tables.history.get(email.thread_key))
        kept = append_turn(current, turn, max(self.history_turns, 1))
        self.tables.history[email.thread_key] = turns_to_value(kept)
        if self.turns is not None:
            address = email.from_address if isinstance(email, InboundEmail) else email.to
            await self.turns.add(
                thread_key=email.thread_key,
                role=turn.role,
                text=turn.text,
                message_key=email.message_key,
                customer_address=address,
            )

    # ------------------------------------------------------------------ mail.outbound

    async def on_outbound(self, event: Any) -> bool:
        """Our own replies become the shop's turns in the history; True if recorded."""
        try:
            sent = decode_event(event.value)
        except EventDecodeError:
            return False  # not ours to judge: the sender dead-letters bad outbound records
        if (
            isinstance(sent, OutboundEmail)
            and sent.producer == outcomes.PRODUCER
            and sent.kind is OutboundKind.REPLY
        ):
            await self._add_turn(sent, Turn("shop", sent.body_text))
            return True
        return False

    # ------------------------------------------------------------------ mail.llm-requests

    async def on_llm_request(self, event: Any) -> str:
        with tracer.start_as_current_span("responder.llm_request", context=_parent(event)) as span:
            topic = self.topics.real_name(LLM_REQUESTS)
            try:
                request = decode_request(event.value)
            except LlmRequestDecodeError as exc:
                await self._bad_record(event, topic, exc)
                return "bad_record"
            span.set_attribute("mailroom.message_key", request.inbound.message_key)
            span.set_attribute("mailroom.attempt", request.attempt)
            return await self.desk.process(request, self.should_yield)

    # ------------------------------------------------------------------ mail.classify-requests

    async def on_classify_request(self, event: Any) -> str:
        with tracer.start_as_current_span("responder.classify", context=_parent(event)) as span:
            topic = self.topics.real_name(CLASSIFY_REQUESTS)
            try:
                request = decode_classify_request(event.value)
            except LlmRequestDecodeError as exc:
                await self._bad_record(event, topic, exc)
                return "bad_record"
            span.set_attribute("mailroom.message_key", request.inbound.message_key)
            if self.classifier is None:
                # Only a worker built without a classifier client (tests) gets here.
                log.warning("classifier.missing", message_key=request.inbound.message_key)
                return "skipped"
            return await self.classifier.process(request)

    # ------------------------------------------------------------------ holding checks

    async def on_holding(self, event: Any) -> str:
        """A holding check: wait until it is due or its email is answered (holding.py)."""
        with tracer.start_as_current_span("responder.holding_wait", context=_parent(event)):
            try:
                check = decode_holding_check(event.value)
            except LlmRequestDecodeError as exc:
                await self._bad_record(event, self.topics.real_name(HOLDING_CHECKS), exc)
                return "bad_record"
            if self.holding is None:
                return "skipped"
            return await self.holding.process(check, self.should_yield)

    # ------------------------------------------------------------------ delay topics

    async def on_retry(self, event: Any, spec: TopicSpec) -> str:
        """Wait until the record is due, then queue it for the provider again."""
        with tracer.start_as_current_span("responder.retry_wait", context=_parent(event)):
            try:
                request = decode_request(event.value)
            except LlmRequestDecodeError as exc:
                await self._bad_record(event, self.topics.real_name(spec), exc)
                return "bad_record"
            due = request.due_at.timestamp() if request.due_at else 0.0
            while (left := due - self.clock()) > 0:
                if self.should_yield():
                    await self.publisher.emit_request(spec, request.inbound.thread_key, request)
                    return "yielded"
                await self.sleep(min(left, self.hold_check_s))
            log.info(
                "waiting.retry_due",
                message_key=request.inbound.message_key,
                attempt=request.attempt,
            )
            await self.publisher.emit_request(
                LLM_REQUESTS, request.provider, request.model_copy(update={"due_at": None})
            )
            return "forwarded"


RETRY_SPECS: tuple[TopicSpec, ...] = tuple(spec for _, spec in RETRY_TOPICS)
