"""Timestamps as Docker writes them: RFC 3339 in UTC with nanoseconds.

Docker's JSON (``docker inspect``) stores times with Go's ``RFC3339Nano`` layout,
for example ``2026-11-27T21:03:46.123456789Z``: up to nine fractional digits with
trailing zeros dropped. A time that was never set is Go's zero time,
``0001-01-01T00:00:00Z``. Inside the engine a time is a float of seconds since the
Unix epoch; these two functions convert between the forms.
"""
import re
import time

ZERO = "0001-01-01T00:00:00Z"

_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:[Zz]|([+-])(\d\d):(\d\d))"
)


def parse_time(text):
    """Return the epoch seconds of an RFC 3339 time (``Z`` or a ``+hh:mm`` offset)."""
    match = _RFC3339.fullmatch(text)
    if not match:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    import calendar

    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    seconds = calendar.timegm((int(year), int(month), int(day), int(hour), int(minute), int(second)))
    if fraction:
        seconds += int(fraction) / 10 ** len(fraction)
    if sign:
        offset = int(off_h) * 3600 + int(off_m) * 60
        seconds -= offset if sign == "+" else -offset
    return seconds


def format_time(epoch=None):
    """Write epoch seconds (default: now, to the nanosecond) as Docker's RFC 3339 UTC text."""
    if epoch is None:
        seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    else:
        whole, fraction = divmod(epoch, 1)  # split first: a float cannot hold epoch nanoseconds
        seconds, nanos = int(whole), round(fraction * 1_000_000_000)
        if nanos == 1_000_000_000:
            seconds, nanos = seconds + 1, 0
    t = time.gmtime(seconds)
    text = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"


def is_zero(text):
    """True when ``text`` is missing or Go's zero time (a time never set)."""
    return not text or text.startswith("0001-01-01T00:00:00")
