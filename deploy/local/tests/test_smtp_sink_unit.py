"""SMTP sink: fault parsing/counting and file naming (no servers)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mailroom_devstack.smtp_sink import FaultSource, parse_fault, sanitize_message_id


def test_sanitize_message_id() -> None:
    assert sanitize_message_id("<abc.123@example.com>") == "abc.123@example.com"
    assert sanitize_message_id("<a/b c@x>") == "a_b_c@x"
    assert sanitize_message_id(None) == "no-message-id"
    assert sanitize_message_id("<../../etc/passwd>") == "etc_passwd"
    assert len(sanitize_message_id("<" + "x" * 500 + "@y>")) == 80


def test_parse_fault() -> None:
    assert parse_fault(None) is None
    assert parse_fault({"mode": "accept"}) is None
    fault = parse_fault({"mode": "reject", "code": 451, "message": "try later"})
    assert fault is not None
    assert fault.reply() == "451 try later"
    assert fault.stage == "data"
    for bad in (
        {"mode": "explode"},
        {"mode": "reject", "code": 250},
        {"mode": "reject", "stage": "x"},
    ):
        with pytest.raises(ValueError):  # noqa: PT011
            parse_fault(bad)


def _write(path: Path, data: object) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def test_fault_count_and_match(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    source = FaultSource(path)
    assert source.check("data", "a@x", ["b@y"]) is None  # no file: accept
    _write(path, {"mode": "reject", "code": 550, "count": 2, "match_to": "B@Y"})
    assert source.check("data", "a@x", ["other@z"]) is None  # not matching: not counted
    assert source.check("rcpt", "a@x", ["b@y"]) is None  # other stage
    first = source.check("data", "a@x", ["b@y"])
    assert first is not None
    assert first.code == 550
    assert source.check("data", "a@x", ["b@y"]) is not None
    assert source.check("data", "a@x", ["b@y"]) is None  # count used up
    _write(path, {"mode": "reject", "code": 550, "count": 2, "match_to": "B@Y"})
    assert source.check("data", "a@x", ["b@y"]) is not None  # rewritten: new count
    path.write_text("{not json")
    assert source.check("data", "a@x", ["b@y"]) is None  # invalid file: accept
