import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mailroom_admin_api.pagination import InvalidCursor, decode_cursor, encode_cursor


def test_cursor_round_trips_time_and_id() -> None:
    at = datetime(2026, 11, 27, 10, 0, 1, 123456, tzinfo=UTC)
    row_id = uuid.uuid4()
    cursor = decode_cursor(encode_cursor(at, row_id))
    assert cursor.at == at
    assert cursor.id == row_id


def test_cursor_keeps_the_instant_across_offsets() -> None:
    at = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=-3)))
    cursor = decode_cursor(encode_cursor(at, uuid.uuid4()))
    assert cursor.at == at
    assert cursor.at.tzinfo == UTC


def _raw(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not base64 !!",
        _raw("[]"),
        _raw("42"),
        _raw('{"t": "2026-01-01T00:00:00", "i": "' + str(uuid.UUID(int=1)) + '"}'),  # naive
        _raw('{"t": "2026-01-01T00:00:00+00:00", "i": "nope"}'),
        _raw('{"t": "yesterday", "i": "' + str(uuid.UUID(int=1)) + '"}'),
        _raw('{"t": "0001-01-01T00:00:00+23:00", "i": "' + str(uuid.UUID(int=1)) + '"}'),
        "\u00e9\u00e9",
    ],
)
def test_foreign_cursors_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(raw)
