"""``python -m mailroom_responder.explain`` as a shop owner runs it: a subprocess, JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
DEMO_CATALOGUE = ROOT / "deploy/local/demo/catalogue.csv"
FIELDS = {
    "id",
    "route",
    "intent",
    "reason",
    "confidence",
    "language",
    "product_skus",
    "excerpt",
    "reply",
    "llm_needed",
}


def _faq_path() -> Path:
    return Path(str(resources.files("mailroom_responder.decision").joinpath("faq.yaml")))


def _explain(lines: list[str], *args: str) -> list[dict[str, object]]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailroom_responder.explain",
            "--catalogue",
            str(DEMO_CATALOGUE),
            "--faq",
            str(_faq_path()),
            *args,
        ],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_explain_decides_every_line_and_reports_bad_ones() -> None:
    mails = [
        {"id": "m1", "from": "a@x.com", "subject": "Consulta", "body": "¿Hacen envíos a Salta?"},
        {
            "id": "m2",
            "from": "b@x.com",
            "subject": "black denim jacket",
            "body": "Hi! Do you have the denim jacket in L? How much is it?\n\n"
            "On Mon, 3 Mar 2025 at 10:02, Tienda <hola@tienda.com> wrote:\n"
            "> I want a refund, my lawyer will call you\n",
        },
        "not json at all",
        {"id": "m4", "subject": "x"},
        {
            "id": "m5",
            "from": "c@x.com",
            "subject": "",
            "body": "Voy a pedirle al banco que me devuelva la plata.",
            "in_reply_to": "<1@x.com>",
        },
    ]
    lines = [m if isinstance(m, str) else json.dumps(m, ensure_ascii=False) for m in mails]
    out = _explain(lines, "--shop-name", "Tienda Demo")
    assert len(out) == 5
    faq, product, bad, missing, chargeback = out
    assert set(faq) >= FIELDS
    assert (faq["route"], faq["intent"], faq["language"]) == ("faq", "shipping", "es")
    assert isinstance(faq["reply"], str)
    assert faq["reply"]
    assert faq["llm_needed"] is False
    assert faq["excerpt"] is None
    # The quoted refund/lawyer lines are an earlier message: they never decide.
    assert (product["route"], product["language"]) == ("catalogue", "en")
    assert product["product_skus"][0] == "CPA-JEA"
    # Price and stock are answered from the catalogue's templates, with live figures.
    assert product["llm_needed"] is False
    assert product["excerpt"] is None
    assert "Campera de jean: ARS 54,900." in product["reply"]
    assert "It does not come in black" in product["reply"]  # the subject asks black
    assert set(bad) == {"id", "error"}
    assert bad["id"] is None
    assert missing["id"] == "m4"
    assert "body" in str(missing["error"])
    assert (chargeback["route"], chargeback["intent"]) == ("handoff", "chargeback")
    assert 0 < float(str(chargeback["confidence"])) <= 1


def test_explain_refuses_a_missing_file(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailroom_responder.explain",
            "--catalogue",
            str(tmp_path / "nope.csv"),
            "--faq",
            str(_faq_path()),
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "explain:" in proc.stderr


@pytest.mark.parametrize("catalogue_format", ["csv", "json"])
def test_explain_reads_both_catalogue_formats(tmp_path: Path, catalogue_format: str) -> None:
    if catalogue_format == "json":
        import csv

        rows = list(csv.DictReader(DEMO_CATALOGUE.open(encoding="utf-8")))
        path = tmp_path / "catalogue.json"
        path.write_text(json.dumps(rows), "utf-8")
    else:
        path = DEMO_CATALOGUE
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailroom_responder.explain",
            "--catalogue",
            str(path),
            "--faq",
            str(_faq_path()),
        ],
        input=json.dumps({"id": 1, "subject": "", "body": "¿Precio del jean mom?"}) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(proc.stdout)
    assert (result["route"], result["intent"]) == ("catalogue", "price")
    assert result["product_skus"][0] == "JEA-MOM"


def test_explain_gives_the_faq_fact_asked_not_the_whole_entry() -> None:
    mails = [
        {"id": "s1", "subject": "Talles", "body": "Hola, ¿cómo me mido para saber mi talle?"},
        {"id": "s2", "subject": "Talles", "body": "Hola, quería consultar por los talles."},
        {"id": "s3", "subject": "", "body": "Hi, I'm between two sizes, which one should I get?"},
    ]
    measure, general, between = _explain([json.dumps(m, ensure_ascii=False) for m in mails])
    assert (measure["route"], measure["intent"]) == ("faq", "sizes")
    assert measure["reply"] == (
        "Nuestra guía de talles está en cada producto de la tienda, con las medidas en centímetros."
    )
    assert (general["route"], general["intent"]) == ("faq", "sizes")
    assert general["reply"] == (
        "Nuestra guía de talles está en cada producto de la tienda, con las medidas en "
        "centímetros.\n\nSi estás entre dos talles, te recomendamos el más grande."
    )
    assert len(str(measure["reply"])) < 100 < len(str(general["reply"]))
    assert (between["route"], between["intent"], between["language"]) == ("faq", "sizes", "en")
    assert between["reply"] == "If you are between two sizes, we recommend the larger one."


def test_explain_gives_the_same_decision_whatever_the_hash_seed() -> None:
    # sets iterate in a per-process order: a reason or evidence built by walking one would
    # tell the shop a different story for the same mail after every restart
    corpus = sorted((ROOT / "bench/data/routing").glob("dev_*.jsonl"))
    lines = [line for path in corpus for line in path.read_text(encoding="utf-8").splitlines()]
    command = [sys.executable, "-m", "mailroom_responder.explain", "--catalogue"]
    command += [str(DEMO_CATALOGUE), "--faq", str(_faq_path())]
    runs = []
    for seed in ("1", "2"):
        proc = subprocess.run(
            command,
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        runs.append(proc.stdout.splitlines())
    assert len(runs[0]) == len(lines)
    differing = [a for a, b in zip(runs[0], runs[1], strict=True) if a != b]
    assert not differing, f"{len(differing)} decisions differ between hash seeds: {differing[:2]}"
