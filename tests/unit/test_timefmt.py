"""RFC 3339 timestamps with nanoseconds, as in Docker's inspect output."""
import time

import pytest

from pydock_edu.timefmt import ZERO, format_time, is_zero, parse_time


def test_parse_time_utc_and_offsets():
    assert parse_time("1970-01-01T00:00:00Z") == 0
    assert parse_time("2026-11-27T21:03:46Z") == 1795813426
    assert parse_time("2026-11-27T23:03:46+02:00") == 1795813426
    assert parse_time("2026-11-27T20:33:46-00:30") == 1795813426


def test_parse_time_keeps_the_fraction():
    assert parse_time("2026-11-27T21:03:46.5Z") == 1795813426.5
    assert parse_time("2026-11-27T21:03:46.123456789Z") == pytest.approx(1795813426.123456789)


def test_format_time_writes_go_rfc3339nano():
    assert format_time(0) == "1970-01-01T00:00:00Z"
    assert format_time(1795813426.5) == "2026-11-27T21:03:46.5Z"
    assert format_time(1795813426.25) == "2026-11-27T21:03:46.25Z"


def test_format_time_defaults_to_now_with_nanoseconds():
    text = format_time()
    assert text.endswith("Z") and len(text) <= len("2026-11-27T21:03:46.123456789Z")
    assert abs(parse_time(text) - time.time()) < 5


def test_round_trip_to_the_microsecond():
    text = "2026-11-27T21:03:46.123456Z"
    assert format_time(parse_time(text))[:26] == text[:26]


def test_zero_time():
    assert ZERO == "0001-01-01T00:00:00Z"
    assert format_time(parse_time(ZERO)) == ZERO
    assert is_zero(ZERO) and is_zero("") and is_zero(None)
    assert not is_zero("2026-11-27T21:03:46Z")


def test_parse_time_rejects_other_text():
    with pytest.raises(ValueError):
        parse_time("yesterday")
