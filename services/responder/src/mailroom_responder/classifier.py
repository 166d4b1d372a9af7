"""The classifier: one structured-output call to a cheap model for the router's unsure cases.

A decision whose confidence is below ``RESPONDER_CLASSIFIER_THRESHOLD`` (a handoff never:
the classifier may send an email to a person, never take one away from them) is not
acted on by the inbound agent. It becomes a ``ClassifyRequest`` on
``mail.classify-requests``, keyed by the classifier's provider key (``"groq:classifier"``),
so the one worker owning that partition owns the classifier model's breaker and limiter
(its own table: Groq's limits are per model), as the provider desk does for the main model.

The classifier desk never holds or retries. Past the request's deadline, with its breaker
open or probing, or with its limiter saying wait, the router's decision stands at once;
otherwise one call, bounded by what is left of the deadline. A transient failure counts
for its breaker; a failed, late, invalid or unsure answer means the router's decision. A
valid answer is merged (``merge``) into the router's decision, which the desk recomputes
(the router is pure). Either way the email then goes on exactly as if the router had
decided that (``handle_inbound`` with the decision), and the decision says who decided
and why: its reason, its evidence and ``decided_by`` on the status events.

Idempotency: what the classifier said (or why it was not asked) is written, and flushed,
to the ``classify-done`` table before any outcome is emitted, and the entry is marked done
after; a redelivered request replays the same decision (same event ids) or is skipped:
never two outcomes, never a second call.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from pydantic import ValidationError

from mailroom_common.events import (
    AlertSeverity,
    InboundEmail,
)
from mailroom_common.logging import get_logger
from mailroom_responder import holding, outcomes
from mailroom_responder.breaker import BreakerPhase, Transition
from mailroom_responder.classification import (
    Answer,
    Fallback,
    answer_schema,
    classify_messages,
    classify_request,
    continued,
    fell_back,
    merge,
    parse_answer,
    response_format,
    wants_classifier,
)
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import FaqBook
from mailroom_responder.decision.routing import Decision
from mailroom_responder.inbound import InboundConfig, handle_inbound, route_of
from mailroom_responder.limiter import RateLimitInfo, parse_rate_limit_headers
from mailroom_responder.llm_client import ClassifierClient, ErrorKind, LlmCallError, LlmResult
from mailroom_responder.messages import ClassifyRequest
from mailroom_responder.ports import Publisher, StatePort, done_key
from mailroom_responder.prompt import Turn
from mailroom_responder.provider import ProviderConfig, ProviderState

__all__ = [
    "ClassifierConfig",
    "ClassifierDesk",
    "ClassifyDonePort",
]

log = get_logger("mailroom_responder.classifier")
tracer = trace.get_tracer("mailroom_responder")


class ClassifyDonePort(Protocol):
    """The ``classify-done`` table: per email run, the decision taken and whether done."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    async def save(self, key: str, value: dict[str, Any]) -> None:
        """Store durably (the changelog write is flushed) before returning."""


@dataclass(frozen=True, slots=True)
class ClassifierConfig:
    provider: ProviderConfig
    enabled: bool = True
    key: str = "groq:classifier"
    threshold: float = 0.6
    timeout_s: float = 4.0
    response_format: str = "json_object"
    shop_name: str = "Tienda Mailroom"


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class ClassifierDesk:
    """Runs in the agent of ``mail.classify-requests``; the one caller of the classifier."""

    def __init__(
        self,
        *,
        cfg: ClassifierConfig,
        client: ClassifierClient,
        state: StatePort,
        done: ClassifyDonePort,
        publisher: Publisher,
        faq: FaqBook,
        catalogue: Callable[[], Awaitable[Catalogue]],
        inbound_cfg: InboundConfig,
        clock: Callable[[], float],
    ) -> None:
        self.cfg = cfg
        self.client = client
        self.state = state
        self.done = done
        self.publisher = publisher
        self.faq = faq
        self.catalogue = catalogue
        self.inbound_cfg = inbound_cfg
        self.clock = clock
        self.schema = answer_schema(faq)
        self.format = response_format(cfg.response_format, self.schema)
        meter = metrics.get_meter("mailroom_responder")
        self._outcomes = meter.create_counter(
            "responder.classifier.outcomes",
            description="Classifier requests by outcome (classified, fallback) and reason",
        )
        self._transitions = meter.create_counter(
            "responder.classifier.breaker.transitions",
            description="Circuit breaker transitions of the classifier model",
        )

    def wants(self, decision: Decision) -> bool:
        return self.cfg.enabled and wants_classifier(decision, self.cfg.threshold)

    def request_for(self, email: InboundEmail, history: Sequence[Turn]) -> ClassifyRequest:
        return classify_request(
            email,
            history,
            key=self.cfg.key,
            now=self.clock(),
            timeout_s=self.cfg.timeout_s,
        )

    # ------------------------------------------------------------------ main entry

    async def process(self, request: ClassifyRequest) -> str:
        """Decide (classifier or fallback) and let the email go on; returns the outcome."""
        email = request.inbound
        key = done_key(email)
        entry = self.done.get(key) or {}
        if entry.get("done"):
            log.info("classifier.duplicate", message_key=email.message_key)
            return "duplicate"
        catalogue = await self.catalogue()
        router = route_of(email, self.faq, catalogue)
        replay = "answer" in entry or "fallback" in entry
        if not replay:
            # What the classifier said, durable before any outcome: a redelivery replays it.
            entry = await self._consult(request)
            await self.done.save(key, entry)
        decision, outcome, why = self._settle(router, entry, catalogue)
        self._count(request, outcome, why, decision, router, replay=replay)
        result = handle_inbound(
            email,
            history=[Turn(t.get("role", "customer"), t.get("text", "")) for t in request.history],
            faq=self.faq,
            catalogue=catalogue,
            cfg=self.inbound_cfg,
            decision=decision,
        )
        who = "classifier" if outcome == "classified" else "fallback"
        for emission in continued(email, result.emissions, who, to_llm=result.request is not None):
            await self.publisher.emit(emission)
        if result.request is not None:
            await holding.queue_request(
                self.publisher, result.request, after_s=self.inbound_cfg.holding_after_s
            )
        await self.publisher.flush()
        await self.done.save(key, {**entry, "done": True})
        return "replayed" if replay else outcome

    async def _consult(self, request: ClassifyRequest) -> dict[str, Any]:
        try:
            answer = await self._ask(request)
        except Fallback as fb:
            return {"fallback": fb.why}
        return {"answer": answer.model_dump(mode="json")}

    def _settle(
        self, router: Decision, entry: dict[str, Any], catalogue: Catalogue
    ) -> tuple[Decision, str, str]:
        """(decision, "classified" or "fallback", why) from what the classifier said."""
        try:
            if "answer" not in entry:
                raise Fallback(str(entry.get("fallback") or "no_answer"))
            try:
                answer = Answer.model_validate(entry["answer"])
            except ValidationError:
                raise Fallback("invalid_answer") from None
            decision = merge(
                router, answer, faq=self.faq, catalogue=catalogue, threshold=self.cfg.threshold
            )
        except Fallback as fb:
            return fell_back(router, fb.why), "fallback", fb.why
        return decision, "classified", "ok"

    def _count(
        self,
        request: ClassifyRequest,
        outcome: str,
        why: str,
        decision: Decision,
        router: Decision,
        *,
        replay: bool,
    ) -> None:
        if not replay:
            self._outcomes.add(1, {"outcome": outcome, "reason": why})
        span = trace.get_current_span()
        span.set_attribute("mailroom.classifier.outcome", outcome)
        span.set_attribute("mailroom.classifier.reason", why)
        log.info(
            "classifier",
            message_key=request.inbound.message_key,
            outcome=outcome,
            reason=why,
            replay=replay,
            route=decision.route.value,
            intent=decision.intent,
            router_route=router.route.value,
            router_confidence=round(router.confidence, 3),
            waited_ms=round((self.clock() - request.asked_at.timestamp()) * 1000, 1),
        )

    async def _ask(self, request: ClassifyRequest) -> Answer:
        """Gate, reserve, call once; ``Fallback`` for every way this can fail."""
        if not self.cfg.enabled:
            # Turned off with requests still queued: they keep the router's decision.
            raise Fallback("disabled")
        now = self.clock()
        left = request.deadline.timestamp() - now
        if left <= 0:
            raise Fallback("deadline")
        messages = classify_messages(request.inbound, self.faq, self.schema, self.cfg.shop_name)
        chars = sum(len(m["content"]) for m in messages)
        tokens = math.ceil(chars / 4) + self.client.max_tokens
        admitted, gate = self.state.load().admit(now, self.cfg.provider, tokens)
        if not gate.go:
            raise Fallback(gate.reason or "not_admitted")
        # Durable before the call, as at the provider desk: a worker that dies mid-call
        # leaves the slot (and a probe) counted for whoever takes over.
        await self._save(admitted, gate.transition)
        try:
            result = await self._call(messages, left)
        except TimeoutError:
            await self._after_error(ErrorKind.TRANSIENT, RateLimitInfo())
            raise Fallback("timeout") from None
        except LlmCallError as err:
            info = parse_rate_limit_headers(err.headers, self.clock())
            await self._after_error(err.kind, info)
            raise Fallback(
                "rate_limited" if err.kind is ErrorKind.RATE_LIMITED else f"provider_{err.kind}"
            ) from None
        now = self.clock()
        state, transition = self.state.load().on_success(
            now, self.cfg.provider, parse_rate_limit_headers(result.headers, now)
        )
        await self._save(state, transition)
        return parse_answer(result.text)

    async def _call(self, messages: list[dict[str, str]], left: float) -> LlmResult:
        model = self.client.model
        with tracer.start_as_current_span(f"chat {model}", kind=SpanKind.CLIENT) as span:
            span.set_attribute("gen_ai.system", "groq")
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", model)
            span.set_attribute("gen_ai.request.max_tokens", self.client.max_tokens)
            span.set_attribute("mailroom.classifier", True)
            try:
                # The whole wait is bounded, not just each socket read.
                result = await asyncio.wait_for(
                    self.client.classify(messages, self.format, left), timeout=left
                )
            except TimeoutError:
                span.set_attribute("error.type", "timeout")
                span.set_status(Status(StatusCode.ERROR, "classifier deadline"))
                raise
            except LlmCallError as err:
                span.set_attribute("error.type", err.error_class)
                if err.status is not None:
                    span.set_attribute("http.response.status_code", err.status)
                span.set_status(Status(StatusCode.ERROR, err.message[:200]))
                raise
            span.set_attribute("gen_ai.response.model", result.model)
            span.set_attribute("gen_ai.usage.input_tokens", result.prompt_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", result.completion_tokens)
            return result

    async def _after_error(self, kind: ErrorKind, info: RateLimitInfo) -> None:
        now = self.clock()
        current = self.state.load()
        cfg = self.cfg.provider
        if kind is ErrorKind.RATE_LIMITED:
            state, transition = current.on_rate_limited(now, cfg, info)
        elif kind is ErrorKind.PERMANENT:
            state, transition = current.on_permanent_failure(now, cfg, info)
        else:
            state, transition = current.on_transient_failure(now, cfg, info)
        await self._save(state, transition)

    async def _save(self, state: ProviderState, transition: Transition | None) -> None:
        await self.state.save(state)
        now = self.clock()
        if transition is not None:
            self._transitions.add(
                1, {"from": transition.source.value, "to": transition.target.value}
            )
            log.warning(
                "classifier.breaker",
                provider=state.provider,
                source=transition.source.value,
                target=transition.target.value,
                reason=transition.reason,
            )
            if transition.target is BreakerPhase.OPEN:
                await self.publisher.emit(
                    outcomes.alert(
                        None,
                        "breaker_opened",
                        f"LLM provider {state.provider} circuit opened: {transition.reason}; "
                        "unsure emails keep the router's decision meanwhile",
                        severity=AlertSeverity.WARNING,
                        details={
                            "provider": state.provider,
                            "open_until": str(_dt(state.breaker.open_until or now)),
                        },
                    )
                )
        await self.publisher.emit(outcomes.provider_state(state, self.cfg.provider, now))
