"""Show what the SMTP sink stored (reads ``<outbox>/index.jsonl``).

python -m mailroom_devstack.sent_list            # table of all stored messages
python -m mailroom_devstack.sent_list --last 5 --json
python -m mailroom_devstack.sent_list --show 3   # print the 3rd-last message's .eml
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mailroom_devstack._paths import smtp_outbox_dir
from mailroom_devstack.smtp_sink import INDEX_NAME


def read_index(directory: Path | None = None) -> list[dict[str, Any]]:
    """Entries of the sink's JSONL index, oldest first (empty if nothing was sent)."""
    path = (directory or smtp_outbox_dir()) / INDEX_NAME
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    entries: list[dict[str, Any]] = []
    for line in lines:
        if line.strip():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line being written right now
    return entries


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="List mail stored by the SMTP sink")
    parser.add_argument("--dir", type=Path, default=None, help="outbox (.stack/smtp/outbox)")
    parser.add_argument("--last", type=int, default=None, help="only the last N")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.add_argument("--show", type=int, default=None, help="print the N-th last .eml")
    args = parser.parse_args(argv)
    directory = args.dir or smtp_outbox_dir()
    entries = read_index(directory)
    if args.show is not None:
        if not 0 < args.show <= len(entries):
            sys.exit(f"only {len(entries)} messages stored")
        sys.stdout.write((directory / entries[-args.show]["file"]).read_text(errors="replace"))
        return
    if args.last is not None:
        entries = entries[-args.last :] if args.last > 0 else []
    out = sys.stdout
    if args.json:
        for entry in entries:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return
    out.write(f"{len(entries)} message(s) in {directory}\n")
    for entry in entries:
        to = ", ".join(entry.get("envelope_to") or []) or entry.get("to", "")
        out.write(
            f"{entry.get('time', '')[:19]}  {entry.get('from', '')}  ->  {to}  "
            f"| {entry.get('subject', '')}  [{entry.get('message_id', '')}]  {entry['file']}\n"
        )


if __name__ == "__main__":
    main()
