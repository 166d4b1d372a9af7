"""``python -m mailroom_responder.check_reply``: the reply gate, offline.

For a shop checking what the gate lets through before trusting the bot::

    python -m mailroom_responder.check_reply --catalogue FILE [--faq FILE] \
        [--rules FILE] [--shop-name NAME] < cases.jsonl > verdicts.jsonl

Input: one JSON object per line with ``id``, ``subject``, ``body`` (the customer's mail as
plain text; a quoted earlier message and a signature are split off as ingest does) and
``reply`` (an answer to check); other keys are ignored. Output: one JSON object per input
line with ``id``, ``verdict`` (``send`` or ``block``) and ``reasons`` (why it is blocked;
empty for ``send``). A bad line gets ``{"id": …, "error": …}`` and the run goes on.

The checks are the responder's own (``mailroom_responder.decision.reply_gate``), with the
customer's language, the catalogue excerpt and our instructions worked out as the
responder works them out for that mail. This interface is read by tools outside the
repository: keep it stable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from mailroom_common.catalogue_import import CatalogueError, read_catalogue
from mailroom_common.quotes import customer_parts
from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.faq import FaqBook, load_faq
from mailroom_responder.decision.offline import EXCERPT_MAX_CHARS, catalogue_from_rows
from mailroom_responder.decision.reply_gate import GateRules, Mail, check_reply, load_rules
from mailroom_responder.decision.routing import decide
from mailroom_responder.decision.text import detect_language, strip_invisible
from mailroom_responder.jsonl import run_lines
from mailroom_responder.prompt import instructions

__all__ = ["Gate", "check_line", "main", "run"]


@dataclass(frozen=True, slots=True)
class Gate:
    catalogue: Catalogue
    faq: FaqBook
    rules: GateRules
    shop_name: str = ""
    max_words: int = 110


def check_line(obj: Any, gate: Gate) -> dict[str, Any]:
    if not isinstance(obj, dict):
        return {"id": None, "error": "each line must be a JSON object"}
    case_id = obj.get("id")
    if case_id is None:
        return {"id": None, "error": "missing 'id'"}
    fields = {k: obj.get(k, "" if k == "subject" else None) for k in ("subject", "body", "reply")}
    for key, value in fields.items():
        if not isinstance(value, str):
            return {"id": case_id, "error": f"'{key}' must be a string"}
    subject, body, reply = (strip_invisible(fields[k] or "") for k in ("subject", "body", "reply"))
    parts = customer_parts(body)
    language = "en" if detect_language(f"{subject}\n{parts.text}") == "en" else "es"
    decision = decide(subject, strip_invisible(parts.text), gate.faq, gate.catalogue)
    excerpt = (
        gate.catalogue.excerpt_for(decision.document, decision.found, EXCERPT_MAX_CHARS)
        if decision.document is not None
        else gate.catalogue.excerpt(parts.text, EXCERPT_MAX_CHARS)
    )
    mail = Mail(
        subject=subject,
        body=f"{parts.text}\n{parts.signature}",
        language=language,
        extra=(parts.quoted,),  # as the desk does: the earlier turns are trusted text
    )
    verdict = check_reply(
        reply,
        mail,
        catalogue=gate.catalogue,
        faq=gate.faq,
        context=excerpt,
        instructions=instructions(gate.shop_name, language, gate.max_words),
        rules=gate.rules,
    )
    return {"id": case_id, "verdict": verdict.verdict, "reasons": list(verdict.reasons)}


def run(lines: TextIO, out: TextIO, gate: Gate) -> int:
    """Check every line of ``lines``; returns the number of error lines."""
    return run_lines(lines, out, lambda obj: check_line(obj, gate))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mailroom_responder.check_reply",
        description="Check LLM answers (JSON lines on stdin) with the responder's reply gate.",
    )
    parser.add_argument("--catalogue", required=True, type=Path, help="CSV or JSON catalogue")
    parser.add_argument("--faq", type=Path, default=None, help="the FAQ YAML (default: packaged)")
    parser.add_argument(
        "--rules", type=Path, default=None, help="reply-gate YAML (default: packaged)"
    )
    parser.add_argument("--shop-name", default="", help="the shop's name, as in the prompt")
    args = parser.parse_args(argv)
    try:
        gate = Gate(
            catalogue=catalogue_from_rows(read_catalogue(args.catalogue)),
            faq=load_faq(args.faq),
            rules=load_rules(args.rules),
            shop_name=args.shop_name,
        )
    except (OSError, CatalogueError, ValueError) as exc:
        print(f"check_reply: {exc}", file=sys.stderr)
        return 2
    run(sys.stdin, sys.stdout, gate)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
