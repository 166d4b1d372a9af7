"""A routing correction as a corpus line, and the export command's checks, without a database."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mailroom_common.__main__ import main
from mailroom_common.events import InboundEmail
from mailroom_common.quotes import customer_parts
from mailroom_common.routing_corpus import (
    CorrectedTask,
    Skip,
    compose_body,
    corpus_line,
)
from mailroom_common.routing_export import ExportError, ExportSummary, read_corrected

# bench/data/routing/LABELS.md: the fields every line has, and the optional one.
FIELDS = {"id", "from", "subject", "body", "route", "intent", "products", "language", "tags"}
OPTIONAL = {"in_reply_to"}

DECISION: dict[str, Any] = {
    "route": "llm",
    "intent": "general",
    "reason": "llm: no FAQ entry or product matched",
    "confidence": 0.35,
    "language": "en",
    "product_skus": ["JEA-MOM"],
    "evidence": [],
    "decided_by": "router",
}


def original(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "message_key": "<k1@mail.example.com>",
        "thread_key": "<k1@mail.example.com>",
        "mailbox": "shop@mailroom.test",
        "from_address": "ana@example.com",
        "subject": "consulta",
        "text": "Do you ship to Córdoba?",
        "producer": "ingest",
    }
    values.update(fields)
    return InboundEmail(**values).model_dump(mode="json")


def corrected(**fields: Any) -> CorrectedTask:
    values: dict[str, Any] = {
        "message_key": "<k1@mail.example.com>",
        "route": "faq",
        "intent": "shipping",
        "original": original(),
        "decision": DECISION,
    }
    values.update(fields)
    return CorrectedTask(**values)


def line_of(task: CorrectedTask) -> dict[str, Any]:
    line = corpus_line(task)
    assert isinstance(line, dict), line
    return line


def test_a_correction_becomes_a_labelled_line() -> None:
    line = line_of(corrected(product_skus=("JEA-MOM", "REM-LIS", "JEA-MOM")))
    assert line == {
        "id": "<k1@mail.example.com>",
        "from": "ana@example.com",
        "subject": "consulta",
        "body": "Do you ship to Córdoba?",
        "route": "faq",
        "intent": "shipping",
        "products": ["JEA-MOM", "REM-LIS"],
        "language": "en",
        "tags": [],
    }
    assert FIELDS <= line.keys() <= FIELDS | OPTIONAL
    json.dumps(line)  # one JSONL line


def test_body_splits_back_into_what_ingest_stored() -> None:
    quoted = "El lun, 3 mar 2025 a las 10:02, Tienda <hola@tienda.com> escribió:\n> ¿Algo más?"
    email = original(
        text="Sí, el talle M.\nGracias", signature="Ana\n11 5555 5555", quoted_text=quoted
    )
    line = line_of(corrected(original=email))
    parts = customer_parts(line["body"])
    assert (parts.text, parts.signature, parts.quoted) == (
        "Sí, el talle M.\nGracias",
        "Ana\n11 5555 5555",
        quoted,
    )
    assert line["tags"] == ["quoted", "signature"]


def test_interleaved_quote_lines_stay_quoted() -> None:
    body = compose_body("Yes please", quoted="> Do you want the M?")
    assert customer_parts(body).text == "Yes please"
    assert compose_body("  only text  ") == "only text"


def test_intent_falls_back_to_the_routers_only_for_the_same_route() -> None:
    same = line_of(corrected(route="llm", intent=None, decision=DECISION | {"intent": "x"}))
    assert same["intent"] == "x"
    assert line_of(corrected(route="faq", intent=None))["intent"] == ""
    assert line_of(corrected(route="llm", intent=None, decision=None))["intent"] == "general"


def test_products_are_the_operators_never_the_routers() -> None:
    assert line_of(corrected(route="llm", intent=None))["products"] == []


def test_language_from_the_decision_else_spanish() -> None:
    for decision in (None, {"route": "faq"}, DECISION | {"language": "fr"}):
        assert line_of(corrected(decision=decision))["language"] == "es"


def test_in_reply_to_is_kept_when_the_email_had_one() -> None:
    line = line_of(corrected(original=original(in_reply_to="<r@shop>")))
    assert line["in_reply_to"] == "<r@shop>"


@pytest.mark.parametrize(
    ("task", "why"),
    [
        (corrected(route="ignored"), Skip.NOT_A_CORPUS_ROUTE),
        (corrected(original=None), Skip.NO_EMAIL),
        (corrected(original={"event_type": "dead_letter"}), Skip.NO_EMAIL),
    ],
)
def test_what_has_no_line(task: CorrectedTask, why: Skip) -> None:
    assert corpus_line(task) is why


def test_summary_line() -> None:
    summary = ExportSummary(Path("out.jsonl"), 3, Counter({Skip.NO_EMAIL: 1}))
    assert summary.line() == (
        "routing corpus out.jsonl: 3 corrected tasks written, 1 skipped (no stored email: 1)"
    )
    assert ExportSummary(Path("o"), 0, Counter()).line().endswith("0 skipped")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u:secret@h/db", r"must start with postgresql\+asyncpg://"),
        ("not a url", "not a database URL"),
    ],
)
async def test_a_bad_database_url_is_refused_before_connecting(url: str, message: str) -> None:
    with pytest.raises(ExportError, match=message) as info:
        await read_corrected(url)
    assert "secret" not in str(info.value)


def test_cli_refuses_an_unwritable_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Checked before the database is read, so no database is needed here.
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u:p@127.0.0.1:1/none")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["export-routing-corpus", str(blocker / "corpus.jsonl")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert main(["export-routing-corpus", str(tmp_path)]) == 2
    assert "it is a directory" in capsys.readouterr().err


def test_cli_reports_a_bad_database_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://u:p@h/db")
    assert main(["export-routing-corpus", str(tmp_path / "c.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: DATABASE_URL must start with postgresql+asyncpg://")
    assert not (tmp_path / "c.jsonl").exists()
