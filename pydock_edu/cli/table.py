"""How Docker's list commands look: aligned tables, sizes, durations and status texts.

``docker ps`` and ``docker images`` print their rows through Go's text/tabwriter:
cells are separated by tabs, and every column is padded with spaces to the width of
its widest cell plus three (and at least ten characters). ``--format`` replaces the
columns with a template (see :mod:`.template`); a template that starts with
``table`` keeps the aligned table with a header line.

Sizes, durations and sizes typed by users follow Docker's ``go-units`` package.
"""
import re
import time

from ..errors import InvalidArgument
from ..timefmt import is_zero, parse_time
from . import template

MIN_WIDTH = 10  # Docker's tabwriter: a padded cell is at least this wide
PADDING = 3     # spaces between the widest cell of a column and the next column

# While rendering a table header these functions return the header text unchanged,
# so "{{upper .Name}}" and "{{json .Labels}}" still give NAMES and LABELS.
_HEADER_FUNCTIONS = {
    name: (lambda value, *_: template.go_str(value), None)
    for name in ("json", "join", "lower", "pad", "split", "title", "truncate", "upper")
}


def render_table(rows, columns=None, fmt=None, headers=None):
    """Format ``rows`` (dicts or objects) as a Docker list command does; return the text.

    ``columns`` is the default layout, used when ``fmt`` is empty or just ``table``:
    either (HEADER, key or function of a row) pairs, or a ``table`` template.
    ``fmt`` is the ``--format`` value. ``table TEMPLATE`` makes a table whose
    columns are the template's tab-separated fields; the header of ``{{.Key}}`` is
    taken from ``headers``, then from the pairs, then from the key itself
    ("CreatedAt" gives "CREATED AT"). Any other template is rendered once per row
    with no header and no alignment; ``json`` is short for ``{{json .}}``.
    """
    pairs = [] if columns is None or isinstance(columns, str) else columns
    if not fmt or fmt == "table":
        fmt = columns if isinstance(columns, str) else None
    if fmt == "json":
        fmt = "{{json .}}"
    if fmt and not fmt.startswith("table"):
        row_template = template.parse(fmt.strip(" "))
        return "".join(row_template.render(row) + "\n" for row in rows)
    body = (fmt or "")[len("table"):].strip(" ")
    if body:
        row_template = template.parse(body)
        names = _HeaderNames({key: title for title, key in pairs if isinstance(key, str)})
        names.update(headers or {})
        lines = [row_template.render(names, functions=_HEADER_FUNCTIONS)]
        lines += [row_template.render(row) for row in rows]
    else:
        lines = ["\t".join(title for title, _ in pairs)]
        lines += ["\t".join(_cell(row, key) for _, key in pairs) for row in rows]
    return tabwrite("\n".join(lines) + "\n")


class _HeaderNames(dict):
    """Header texts by field name; a field without one gets its name in capitals."""

    def __missing__(self, key):
        return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).upper()


def _cell(row, key):
    """The text of one default-table cell."""
    if callable(key):
        value = key(row)
    else:
        value = row[key] if isinstance(row, dict) else getattr(row, key)
    return "" if value is None else str(value)


def tabwrite(text, min_width=MIN_WIDTH, padding=PADDING):
    """Align tab-separated cells into columns, as Go's text/tabwriter does for Docker.

    A cell is text ended by a tab, so the text after a line's last tab is never padded.
    A column is as wide as its widest cell plus ``padding`` (at least ``min_width``),
    measured over each run of adjacent lines that have a cell in that column.
    """
    lines = [line.split("\t") for line in text.split("\n")]
    widths = [[0] * (len(cells) - 1) for cells in lines]
    for column in range(max(len(cells) for cells in lines) - 1):
        run = []
        for number, cells in enumerate(lines + [[]]):  # the empty line ends the last run
            if len(cells) - 1 > column:
                run.append(number)
            elif run:
                width = max(min_width, *(len(lines[n][column]) + padding for n in run))
                for n in run:
                    widths[n][column] = width
                run = []
    return "\n".join(
        "".join(cell.ljust(width) for cell, width in zip(cells, line_widths)) + cells[-1]
        for cells, line_widths in zip(lines, widths)
    )


def human_size(size, precision=3):
    """A size in decimal units with ``precision`` significant digits: ``4.26MB``, ``712B``.

    Docker's SIZE columns use go-units' HumanSizeWithPrecision with 3 digits.
    """
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    size, unit = float(size), 0
    while size >= 1000 and unit < len(units) - 1:
        size /= 1000
        unit += 1
    return f"{size:.{precision}g}{units[unit]}"


_SIZE = re.compile(r"(\d+(?:\.\d+)?) ?([kmgtp])?i?b?", re.IGNORECASE)


def parse_size(text):
    """Bytes in a size typed for ``-m``/``--memory``: ``100``, ``512k``, ``1.5g``, ``10MB``.

    The units are binary (``k`` is 1024), as in go-units' RAMInBytes.
    """
    match = _SIZE.fullmatch(text)
    if not match:
        raise InvalidArgument(f"invalid size: '{text}'")
    number, unit = match.groups()
    return int(float(number) * 1024 ** "bkmgtp".index((unit or "b").lower()))


def human_duration(seconds):
    """A duration as Docker words it: ``Less than a second``, ``About a minute``, ``3 weeks``."""
    if int(seconds) < 1:
        return "Less than a second"
    if int(seconds) == 1:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def ago(epoch, now=None):
    """How long ago ``epoch`` was: ``5 seconds ago`` (the CREATED column of ``docker images``)."""
    now = time.time() if now is None else now
    return human_duration(now - epoch) + " ago"


def status_text(state, now=None):
    """The STATUS column of ``docker ps`` for an inspect ``State`` dict.

    ``Up 3 seconds``, ``Up 2 minutes (Paused)``, ``Up 5 seconds (healthy)``,
    ``Exited (0) 4 seconds ago``, ``Created``, ``Dead``: Docker's wording, in its order.
    """
    now = time.time() if now is None else now
    status = state.get("Status")
    started, finished = state.get("StartedAt"), state.get("FinishedAt")
    if status in ("running", "paused", "restarting"):
        if status == "restarting":
            return f"Restarting ({state.get('ExitCode', 0)}) {ago(parse_time(finished), now)}"
        up = "Up " + human_duration(now - parse_time(started))
        if status == "paused":
            return up + " (Paused)"
        health = (state.get("Health") or {}).get("Status")
        if health and health != "none":
            return f"{up} ({'health: starting' if health == 'starting' else health})"
        return up
    if status == "removing":
        return "Removal In Progress"
    if status == "dead":
        return "Dead"
    if is_zero(started):
        return "Created"
    if is_zero(finished):
        return ""
    return f"Exited ({state.get('ExitCode', 0)}) {ago(parse_time(finished), now)}"
