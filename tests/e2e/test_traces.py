"""One trace per email, through the running services, checked hop by hop.

Every service exports its spans over OTLP/HTTP to a receiver inside the test. Four emails
go through the whole system: a FAQ answer, a catalogue (LLM) answer, an LLM answer retried
once through the delay topic after a 503, and an email dead-lettered by a permanent 401
that an operator then reprocesses through the admin API. For each the test checks:

* every span of one run shares one trace id, and the task row records that trace id;
* the parent → child edges, hop by hop: ingest ``mail.inbound publish`` → responder
  ``mail.inbound process`` (Faust's OpenTelemetry sensor) → (``mail.llm-requests``
  publish → process → the GenAI ``chat`` span, and the delay topic on a retry) →
  responder ``mail.outbound publish`` → sender ``mail.outbound process`` → ``smtp send``;
  the projector's ``db apply`` spans are in the same trace;
* no orphan: every parent id is a span the receiver got;
* the reprocessed run is a new trace whose ``admin.reprocess`` span links to the earlier
  trace (and names it in ``mailroom.reprocess_of_trace_id``);
* no span attribute carries the customer's address or the email's text.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from harness import E2E, MakeSystem, customer_mail, wait_until
from otlp_receiver import OtlpReceiver, Span

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(300)]

ERROR = 2  # OTLP Status.code


@dataclass(frozen=True)
class Mail:
    name: str
    message_id: str
    address: str
    subject: str
    body: str

    @property
    def key(self) -> str:
        return self.message_id.strip("<>")

    def raw(self) -> bytes:
        return customer_mail(
            message_id=self.message_id,
            from_addr=f"Cliente <{self.address}>",
            subject=self.subject,
            body=self.body,
        )


class TraceView:
    """The spans of one trace with parent/child navigation."""

    def __init__(self, spans: Iterable[Span]) -> None:
        self.spans = sorted(spans, key=lambda s: s.start_ns)
        self.by_id = {s.span_id: s for s in self.spans}

    def find(
        self,
        name_suffix: str,
        *,
        service: str | None = None,
        kind: str | None = None,
        where: Callable[[Span], bool] = lambda s: True,
    ) -> list[Span]:
        return [
            s
            for s in self.spans
            if s.name.endswith(name_suffix)
            and (service is None or s.service == service)
            and (kind is None or s.kind == kind)
            and where(s)
        ]

    def one(self, name_suffix: str, **kw: Any) -> Span:
        found = self.find(name_suffix, **kw)
        assert found, f"no span {name_suffix!r} {kw} in:\n{self.dump()}"
        return found[0]

    def child_of(self, parent: Span) -> Callable[[Span], bool]:
        return lambda s: s.parent_id == parent.span_id

    def under(self, ancestor: Span) -> Callable[[Span], bool]:
        def check(span: Span) -> bool:
            seen = 0
            current: Span | None = span
            while current is not None and current.parent_id and seen < 100:
                if current.parent_id == ancestor.span_id:
                    return True
                current = self.by_id.get(current.parent_id)
                seen += 1
            return False

        return check

    def orphans(self) -> list[Span]:
        return [s for s in self.spans if s.parent_id and s.parent_id not in self.by_id]

    def roots(self) -> list[Span]:
        return [s for s in self.spans if not s.parent_id]

    def dump(self) -> str:
        return "\n".join(
            f"  {s.span_id} <- {s.parent_id} {s.short()} status={s.status_code}" for s in self.spans
        )


def traces_of(receiver: OtlpReceiver, key: str) -> set[str]:
    """Trace ids of every span that names the email (ingest, responder, sender)."""
    return {
        s.trace_id
        for s in receiver.spans
        if key in (s.attributes.get("mail.message_key"), s.attributes.get("mailroom.message_key"))
    }


def check_no_orphans(view: TraceView) -> None:
    assert not view.orphans(), f"orphan spans {[s.short() for s in view.orphans()]}"
    assert len(view.roots()) == 1, f"roots {[s.short() for s in view.roots()]}\n{view.dump()}"


def check_delivery(view: TraceView, after: Span, key: str) -> Span:
    """responder ``mail.outbound publish`` under ``after`` → sender consume → SMTP send."""
    out_pub = view.one(
        "mail.outbound publish",
        service="mailroom-responder",
        kind="PRODUCER",
        where=view.under(after),
    )
    consume = view.one(
        "mail.outbound process",
        service="mailroom-sender",
        kind="CONSUMER",
        where=view.child_of(out_pub),
    )
    smtp = view.one(
        "smtp send",
        service="mailroom-sender",
        kind="CLIENT",
        where=lambda s: (
            view.child_of(consume)(s) and s.attributes.get("mailroom.message_key") == key
        ),
    )
    assert smtp.status_code != ERROR
    return smtp


def check_projector(view: TraceView, first_hop: Span) -> None:
    """The projector recorded the email and the responder's status changes in this trace."""
    view.one(
        "mail.inbound process",
        service="mailroom-sender",
        kind="CONSUMER",
        where=view.child_of(first_hop),
    )
    status_pubs = view.find("mail.status publish", service="mailroom-responder")
    assert status_pubs, view.dump()
    for pub in status_pubs:
        proc = view.one("mail.status process", service="mailroom-sender", where=view.child_of(pub))
        view.one("db apply", service="mailroom-sender", kind="CLIENT", where=view.child_of(proc))


def check_llm_hop(view: TraceView, after: Span, *, ok: bool) -> tuple[Span, Span]:
    """``mail.llm-requests`` publish under ``after`` → process → the GenAI chat span."""
    pub = view.one(
        "mail.llm-requests publish",
        service="mailroom-responder",
        kind="PRODUCER",
        where=view.under(after),
    )
    proc = view.one(
        "mail.llm-requests process",
        service="mailroom-responder",
        kind="CONSUMER",
        where=view.child_of(pub),
    )
    chat = view.one("", service="mailroom-responder", kind="CLIENT", where=view.under(proc))
    assert chat.name.startswith("chat "), chat.name
    attrs = chat.attributes
    assert attrs["gen_ai.system"] == "groq"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert chat.name == f"chat {attrs['gen_ai.request.model']}"
    assert attrs["gen_ai.request.max_tokens"] > 0
    if ok:
        assert chat.status_code != ERROR
        assert attrs["gen_ai.usage.input_tokens"] > 0
        assert attrs["gen_ai.usage.output_tokens"] > 0
        assert attrs["gen_ai.response.model"]
    else:
        assert chat.status_code == ERROR
        assert "error.type" in attrs
    return proc, chat


def check_private(spans: Iterable[Span], mail: Mail) -> None:
    """Addresses only hashed, bodies never: no attribute or link carries either."""
    needles = [mail.address.lower(), mail.body.lower()[:30], mail.body.lower()[-25:]]
    for span in spans:
        values = [span.name, *map(str, span.attributes.values())]
        for link in span.links:
            values.extend(map(str, link.attributes.values()))
        for value in values:
            low = value.lower()
            for needle in needles:
                assert needle not in low, f"{span.short()} carries {needle!r}: {value[:200]}"


@pytest.fixture
async def otlp() -> AsyncIterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


async def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Spans arrive in batches: retry ``check`` until it passes or the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def wait_status(e: E2E, key: str, status: str, timeout: float = 60.0) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        rows = await e.db.tasks([key])
        row = rows.get(key)
        if row is None or row["status"] != status:
            return None
        ledger = await e.db.ledger([key])
        return row if all(r["state"] in ("sent", "failed", "suppressed") for r in ledger) else None

    result: dict[str, Any] = await wait_until(reached, timeout, f"{key} {status}", 0.3)
    return result


async def test_one_trace_per_email_hop_by_hop(make_system: MakeSystem, otlp: OtlpReceiver) -> None:
    e = await make_system(otlp_endpoint=otlp.endpoint)

    def mail(name: str, subject: str, body: str) -> Mail:
        return Mail(name, e.message_id(name), e.address(name), subject, body)

    faq = mail("faq", "Envíos", "Hola! ¿Hacen envíos a Córdoba y cuánto tardan en llegar?")
    llm = mail("llm", "Jean mom", "¿De qué tela es el jean mom? ¿Cómo calza?")
    retried = mail("retried", "Remera", "Hola, ¿la remera básica es de algodón? ¿Encoge?")
    again = mail("again", "Buzo", "Buenas, ¿el jean mom es de tela rígida? ¿Cómo calza?")

    # FAQ and catalogue emails together; the LLM path's faults are scripted one at a time
    # below, so each fault hits exactly the email it is meant for.
    await e.drop([faq.raw(), llm.raw()])
    rows = await e.db.wait_final([faq.key, llm.key], 90)
    assert rows[faq.key]["status"] == "sent", rows
    assert rows[faq.key]["route"] == "faq", rows
    assert rows[llm.key]["status"] == "sent", rows
    assert rows[llm.key]["route"] == "catalogue", rows

    await e.llm.configure(fail_status=503, fail_count=1)
    await e.drop([retried.raw()])
    rows.update(await e.db.wait_final([retried.key], 90))
    assert rows[retried.key]["status"] == "sent", rows
    changes = [c["status"] for c in await e.db.status_changes(retried.key)]
    assert "retrying" in changes, changes

    await e.llm.configure(permanent_status=401)
    await e.drop([again.raw()])
    dead = await wait_status(e, again.key, "dead_letter", 90)
    await e.llm.configure(permanent_status=None)
    earlier_trace = dead["trace_id"]
    assert earlier_trace, dead
    accepted = await e.system.reprocess(str(dead["id"]), key=f"e2e-{e.tag}")
    assert accepted["reprocess_of_trace_id"] == earlier_trace
    final = await wait_status(e, again.key, "sent", 90)

    # ---- FAQ: ingest → responder → sender → SMTP, projector alongside.
    def faq_trace() -> None:
        traces = traces_of(otlp, faq.key)
        assert len(traces) == 1, traces
        (trace_id,) = traces
        assert rows[faq.key]["trace_id"] == trace_id
        view = TraceView(otlp.trace(trace_id))
        root = view.one("mail.inbound publish", service="mailroom-ingest", kind="PRODUCER")
        assert root.parent_id is None
        consume = view.one(
            "mail.inbound process",
            service="mailroom-responder",
            kind="CONSUMER",
            where=view.child_of(root),
        )
        assert not view.find("mail.llm-requests publish")
        check_delivery(view, consume, faq.key)
        check_projector(view, root)
        check_no_orphans(view)
        check_private(view.spans, faq)

    await eventually(faq_trace)

    # ---- LLM: … → mail.llm-requests → chat → outbound → sender → SMTP.
    def llm_trace(m: Mail, *, retried: bool) -> None:
        traces = traces_of(otlp, m.key)
        assert len(traces) == 1, traces
        (trace_id,) = traces
        assert rows[m.key]["trace_id"] == trace_id
        view = TraceView(otlp.trace(trace_id))
        root = view.one("mail.inbound publish", service="mailroom-ingest", kind="PRODUCER")
        consume = view.one(
            "mail.inbound process",
            service="mailroom-responder",
            kind="CONSUMER",
            where=view.child_of(root),
        )
        proc, chat = check_llm_hop(view, consume, ok=not retried)
        if retried:
            # 503 → delay topic → back to mail.llm-requests → chat again, all one trace.
            assert chat.attributes.get("http.response.status_code") == 503
            retry_pub = view.one(
                "mail.responder.retry-30s publish",
                service="mailroom-responder",
                kind="PRODUCER",
                where=view.under(proc),
            )
            retry_proc = view.one(
                "mail.responder.retry-30s process",
                service="mailroom-responder",
                kind="CONSUMER",
                where=view.child_of(retry_pub),
            )
            proc, chat = check_llm_hop(view, retry_proc, ok=True)
            assert len(view.find("", kind="CLIENT", service="mailroom-responder")) == 2
        check_delivery(view, proc, m.key)
        check_projector(view, root)
        check_no_orphans(view)
        check_private(view.spans, m)

    await eventually(lambda: llm_trace(llm, retried=False))
    await eventually(lambda: llm_trace(retried, retried=True))

    # ---- Reprocess: a new trace, linked to the earlier one.
    def reprocess_traces() -> None:
        traces = traces_of(otlp, again.key)
        assert earlier_trace in traces
        assert len(traces) == 2, traces
        (new_trace,) = traces - {earlier_trace}
        assert final["trace_id"] == new_trace

        old = TraceView(otlp.trace(earlier_trace))
        old_root = old.one("mail.inbound publish", service="mailroom-ingest")
        old_consume = old.one(
            "mail.inbound process", service="mailroom-responder", where=old.child_of(old_root)
        )
        old_proc, _ = check_llm_hop(old, old_consume, ok=False)
        old.one("mail.dead-letter publish", service="mailroom-responder", where=old.under(old_proc))
        check_no_orphans(old)

        new = TraceView(otlp.trace(new_trace))
        reprocess = new.one("admin.reprocess", service="mailroom-admin-api")
        assert reprocess.attributes["mailroom.reprocess_of_trace_id"] == earlier_trace
        assert [link.trace_id for link in reprocess.links] == [earlier_trace]
        assert not new.find("mail.inbound publish", service="mailroom-ingest")
        consume = new.one(
            "mail.inbound process",
            service="mailroom-responder",
            kind="CONSUMER",
            where=new.child_of(reprocess),
        )
        proc, _ = check_llm_hop(new, consume, ok=True)
        check_delivery(new, proc, again.key)
        new.one("mail.inbound process", service="mailroom-sender", where=new.child_of(reprocess))
        check_no_orphans(new)
        check_private([*old.spans, *new.spans], again)

    await eventually(reprocess_traces)

    # Nothing anywhere carries an address or a body, whatever trace it is in.
    for m in (faq, llm, retried, again):
        check_private(otlp.spans, m)
    sent_to = sorted(entry["envelope_to"][0] for entry in e.sink.entries())
    assert sent_to.count(again.address) == 2  # the holding reply, then the answer
    assert {faq.address, llm.address, retried.address} <= set(sent_to)
