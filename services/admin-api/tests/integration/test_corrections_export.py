"""Correction → export → route_eval, as a shop would run it on a fresh clone.

Tasks with their stored emails are seeded, an operator's corrections are recorded through
the API, ``python -m mailroom_common export-routing-corpus FILE`` runs in a subprocess and
``bench/route_eval.py`` reads what it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]
ROUTE_EVAL = ROOT / "bench" / "route_eval.py"
DEMO_CATALOGUE = ROOT / "deploy" / "local" / "demo" / "catalogue.csv"
QUOTE = "El lun, 3 mar 2025 a las 10:02, Tienda <hola@tienda.com> escribió:\n> ¿Algo más?"

# (subject, text, quoted, the router's language, the operator's correction)
MAILS: dict[int, tuple[str, str, str, str, dict[str, Any]]] = {
    1: (
        "envíos",
        "Hola! ¿Hacen envíos a Córdoba? ¿Cuánto tarda en llegar?",
        QUOTE,
        "es",
        {"route": "faq", "intent": "shipping"},
    ),
    2: (
        "hoodie",
        "Hi, do you have the buzo canguro in a large? Thanks",
        "",
        "en",
        {"route": "catalogue", "intent": "stock", "product_skus": ["BUZ-CAN"]},
    ),
    3: (
        "reclamo",
        "Me cobraron dos veces el pedido 4411, quiero hablar con una persona ya.",
        "",
        "es",
        {"route": "handoff", "intent": "needs_order_or_account"},
    ),
    4: (
        "local",
        "¿Tienen local a la calle para ir a probarme ropa? ¿En qué barrio?",
        "",
        "es",
        {"route": "llm"},
    ),
    5: ("out of office", "I am away until Monday.", "", "en", {"route": "ignored"}),
}


def run(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def env_for(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url}


async def seed_and_correct(url: str, kafka: Any, tools: Any) -> list[str]:
    """The tasks, their emails and decisions, corrected through the API; their keys."""
    engine = create_async_engine(url)
    seeder = tools.seeder_cls(engine)
    at = datetime.now(UTC) - timedelta(minutes=5)
    tasks = []
    for n, (subject, text, quoted, language, _) in MAILS.items():
        email = seeder.inbound(n).model_copy(
            update={"subject": subject, "text": text, "quoted_text": quoted}
        )
        tasks.append(
            seeder.task(
                n,
                created_at=at,
                status="sent",
                route="llm",
                subject=subject,
                original=email.model_dump(mode="json"),
                decision={
                    "route": "llm",
                    "intent": "general",
                    "reason": "llm: no FAQ entry or product matched",
                    "confidence": 0.3,
                    "language": language,
                    "product_skus": [],
                    "evidence": [],
                    "decided_by": "router",
                },
            )
        )
    # From before originals were stored: nothing to export.
    tasks.append(seeder.task(6, created_at=at, status="sent", route="faq"))
    try:
        await seeder.add(*tasks)
        async with tools.running_app(tools.make_settings(url, kafka)) as api:
            for task, body in zip(
                tasks, [m[4] for m in MAILS.values()] + [{"route": "llm"}], strict=True
            ):
                response = await api.client.put(f"/v1/tasks/{task.id}/correction", json=body)
                assert response.status_code == 200, response.text
    finally:
        await engine.dispose()
    return [t.message_key for t in tasks]


async def test_corrections_export_to_a_corpus_route_eval_reads(
    own_database_url: str, kafka_topics: Any, tools: Any, tmp_path: Path
) -> None:
    env = env_for(own_database_url)
    # The SKUs a correction names must be in the shop's catalogue.
    imported = run("-m", "mailroom_common", "import-catalogue", DEMO_CATALOGUE, env=env)
    assert imported.returncode == 0, imported.stderr
    keys = await seed_and_correct(own_database_url, kafka_topics, tools)

    corpus = tmp_path / "corrected.jsonl"
    corpus.write_text("an older export\n")
    exported = run("-m", "mailroom_common", "export-routing-corpus", corpus, env=env)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == (
        f"routing corpus {corpus}: 4 corrected tasks written, 2 skipped "
        "(no stored email: 1, route not in the routing corpus: 1)"
    )
    lines = [json.loads(line) for line in corpus.read_text("utf-8").splitlines()]
    assert [line["id"] for line in lines] == keys[:4]
    by_id = {line["id"]: line for line in lines}
    assert by_id[keys[0]]["body"].endswith(QUOTE)
    assert by_id[keys[0]]["tags"] == ["quoted"]
    assert by_id[keys[1]]["products"] == ["BUZ-CAN"]
    assert by_id[keys[1]]["language"] == "en"
    assert by_id[keys[3]]["intent"] == "general"
    assert not list(tmp_path.glob(".corrected.jsonl.*"))  # no temporary file left

    figures_run = run(ROUTE_EVAL, corpus, "--json", env=env)
    assert figures_run.returncode == 0, figures_run.stderr
    figures = json.loads(figures_run.stdout)
    assert figures["mails"] == 4
    assert {r: f["n"] for r, f in figures["routes"].items()} == {
        "faq": 1,
        "catalogue": 1,
        "llm": 1,
        "handoff": 1,
    }
    assert figures["by_language"]["en"]["n"] == 1
    assert {m["id"] for m in figures["misses"]} <= set(keys[:4])

    report = run(ROUTE_EVAL, corpus, env=env)
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith(f"corpus {corpus}: 4 mails")


def test_export_fails_clearly_and_keeps_the_old_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("kept\n")
    refused = run(
        "-m",
        "mailroom_common",
        "export-routing-corpus",
        corpus,
        env=env_for("postgresql+asyncpg://mailroom:s3cret@127.0.0.1:1/mailroom"),
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: cannot read the database at postgresql+asyncpg://")
    assert "s3cret" not in refused.stderr
    assert "Traceback" not in refused.stderr
    assert corpus.read_text() == "kept\n"

    unwritable = run(
        "-m",
        "mailroom_common",
        "export-routing-corpus",
        tmp_path / "missing-dir" / "c.jsonl",
        env=env_for("postgresql+asyncpg://mailroom:mailroom@127.0.0.1:1/mailroom"),
    )
    assert unwritable.returncode == 2
    assert "is not a directory" in unwritable.stderr
