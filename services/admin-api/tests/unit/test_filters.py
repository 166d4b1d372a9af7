from datetime import UTC, datetime, timedelta, timezone

import pytest

from mailroom_admin_api.filters import InvalidWindow, as_utc, parse_window


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("90m", timedelta(minutes=90)), ("24h", timedelta(hours=24)), ("7d", timedelta(days=7))],
)
def test_window_units(raw: str, expected: timedelta) -> None:
    assert parse_window(raw) == expected


@pytest.mark.parametrize("raw", ["", "24", "h", "0h", "-1d", "367d", "1w", "24h "])
def test_bad_windows_are_refused(raw: str) -> None:
    with pytest.raises(InvalidWindow):
        parse_window(raw)


def test_naive_is_utc_and_aware_is_converted() -> None:
    assert as_utc(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)
    aware = datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=-3)))
    assert as_utc(aware) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert as_utc(None) is None


def test_out_of_range_offset_overflows() -> None:
    with pytest.raises(OverflowError):
        as_utc(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23))))
