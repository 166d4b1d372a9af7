from __future__ import annotations

import socket
import threading

import pytest

from mailroom_ingest.imap import _LineReader, parse_fetch_response, parse_search_response


def test_search_filters_the_star_quirk() -> None:
    # "UID SEARCH UID 11:*" on a folder whose highest UID is 10 answers "10".
    assert parse_search_response([b"10"], after=10) == []
    assert parse_search_response([b"12 11 13"], after=10) == [11, 12, 13]
    assert parse_search_response([None], after=0) == []


def test_fetch_with_uid_before_the_literal() -> None:
    data = [
        (b'1 (UID 41 INTERNALDATE "03-Mar-2025 10:00:00 +0100" BODY[] {5}', b"hello"),
        b")",
        (b'2 (UID 42 INTERNALDATE " 4-Mar-2025 11:00:00 +0000" BODY[] {3}', b"bye"),
        b")",
    ]
    mails = parse_fetch_response(data)
    assert [(m.uid, m.raw) for m in mails] == [(41, b"hello"), (42, b"bye")]
    assert mails[0].internaldate is not None
    assert mails[0].internaldate.isoformat() == ("2025-03-03T10:00:00+01:00")


def test_fetch_with_uid_after_the_literal_and_flag_noise() -> None:
    data = [
        b"3 (FLAGS (\\Seen))",
        (b"1 (BODY[] {5}", b"hello"),
        b' UID 7 INTERNALDATE "03-Mar-2025 10:00:00 +0000")',
    ]
    [mail] = parse_fetch_response(data)
    assert (mail.uid, mail.raw) == (7, b"hello")
    assert mail.internaldate is not None


def test_line_reader_keeps_a_partial_line_across_a_timeout() -> None:
    a, b = socket.socketpair()
    with a, b:
        reader = _LineReader(a)
        a.settimeout(0.2)
        b.sendall(b"* 3 EXI")
        with pytest.raises(TimeoutError):
            reader.readline()
        b.sendall(b"STS\r\n* 1 RECENT\r\n")
        assert reader.readline() == b"* 3 EXISTS\r\n"
        assert reader.readline() == b"* 1 RECENT\r\n"


def test_line_reader_reads_literals_and_eof() -> None:
    a, b = socket.socketpair()
    with a:
        reader = _LineReader(a)
        payload = b"x" * 300_000

        def send() -> None:
            b.sendall(b"{300000}\r\n" + payload + b")\r\n")
            b.close()

        threading.Thread(target=send).start()
        assert reader.readline() == b"{300000}\r\n"
        assert reader.read(300_000) == payload
        assert reader.readline(1_000_001) == b")\r\n"
        assert reader.readline() == b""
