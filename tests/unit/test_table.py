"""Docker-style tables, sizes, durations and status texts."""
import pytest

from pydock_edu.cli.table import (ago, human_duration, human_size, parse_size, render_table,
                                  status_text, tabwrite)
from pydock_edu.errors import InvalidArgument
from pydock_edu.timefmt import ZERO, parse_time

PS_COLUMNS = [("CONTAINER ID", "ID"), ("IMAGE", "Image"), ("COMMAND", "Command"),
              ("CREATED", "RunningFor"), ("STATUS", "Status"), ("PORTS", "Ports"), ("NAMES", "Names")]
PS_ROWS = [
    {"ID": "3f2a1b9c0d1e", "Image": "busybox", "Command": '"sh"', "RunningFor": "2 minutes ago",
     "Status": "Up 2 minutes", "Ports": "", "Names": "web"},
    {"ID": "a1b2c3d4e5f6", "Image": "localhost:5000/app:1.0", "Command": '"python app.py"',
     "RunningFor": "3 hours ago", "Status": "Exited (0) 4 seconds ago",
     "Ports": "0.0.0.0:8080->80/tcp", "Names": "app"},
]


def test_empty_ps_header_matches_docker():
    assert render_table([], PS_COLUMNS) == (
        "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n")


def test_default_table_pads_to_widest_cell_plus_three():
    assert render_table(PS_ROWS, PS_COLUMNS) == (
        "CONTAINER ID   IMAGE                    COMMAND           CREATED         STATUS"
        "                     PORTS                  NAMES\n"
        "3f2a1b9c0d1e   busybox                  \"sh\"              2 minutes ago   Up 2 minutes"
        "                                      web\n"
        "a1b2c3d4e5f6   localhost:5000/app:1.0   \"python app.py\"   3 hours ago     Exited (0) 4 seconds ago"
        "   0.0.0.0:8080->80/tcp   app\n")


def test_columns_may_be_functions_of_the_row():
    columns = [("REPOSITORY", "Repository"), ("SIZE", lambda row: human_size(row["Bytes"]))]
    rows = [{"Repository": "busybox", "Bytes": 4_261_000}]
    assert render_table(rows, columns) == "REPOSITORY   SIZE\nbusybox      4.26MB\n"


def test_table_format_takes_headers_from_columns_then_headers_then_field_names():
    fmt = r"table {{.ID}}\t{{.Names | upper}}\t{{.CreatedAt}}\t{{.Size}}"
    assert render_table(PS_ROWS[:1], PS_COLUMNS, fmt, headers={"Size": "SIZE (virtual)"}) == (
        "CONTAINER ID   NAMES     CREATED AT   SIZE (virtual)\n"
        "3f2a1b9c0d1e   WEB       <no value>   <no value>\n")


def test_table_alone_means_the_default_columns():
    assert render_table(PS_ROWS, PS_COLUMNS, "table") == render_table(PS_ROWS, PS_COLUMNS)


def test_the_default_may_be_a_table_template():
    default = r"table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    headers = {"ID": "CONTAINER ID", "RunningFor": "CREATED"}
    expected = render_table(PS_ROWS, PS_COLUMNS)
    assert render_table(PS_ROWS, default, None, headers) == expected
    assert render_table(PS_ROWS, default, "table", headers) == expected
    assert render_table(PS_ROWS, None, default, headers) == expected


def test_plain_format_renders_each_row_without_header_or_alignment():
    assert render_table(PS_ROWS, PS_COLUMNS, r"{{.ID}}\t{{.Names}}") == (
        "3f2a1b9c0d1e\tweb\na1b2c3d4e5f6\tapp\n")
    assert render_table([], PS_COLUMNS, "{{.ID}}") == ""


def test_json_format_is_one_object_per_line():
    rows = [{"ID": "abc", "Names": "web"}]
    assert render_table(rows, PS_COLUMNS, "json") == '{"ID":"abc","Names":"web"}\n'


def test_tabwrite_aligns_runs_of_lines_and_never_pads_the_last_cell():
    assert tabwrite("a\tb\tc\nlonger-cell\tb\n") == (
        "a             b         c\n"
        "longer-cell   b\n")
    assert tabwrite("a\tb\nno tabs here\nc\td") == "a         b\nno tabs here\nc         d"


@pytest.mark.parametrize("size, text", [
    (0, "0B"), (712, "712B"), (1200, "1.2kB"), (4_261_000, "4.26MB"), (1_000_000, "1MB"),
    (123_456_789, "123MB"), (5_000_000_000_000, "5TB"),
])
def test_human_size(size, text):
    assert human_size(size) == text


@pytest.mark.parametrize("text, size", [
    ("100", 100), ("512k", 512 * 1024), ("10m", 10 * 1024 ** 2), ("1g", 1024 ** 3),
    ("1.5g", 3 * 1024 ** 3 // 2), ("10MB", 10 * 1024 ** 2), ("4 KiB", 4096), ("2T", 2 * 1024 ** 4),
    ("64b", 64),
])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["10zz", "", "m", "-1m", "1.g"])
def test_parse_size_refuses_bad_sizes(text):
    with pytest.raises(InvalidArgument) as err:
        parse_size(text)
    assert str(err.value) == f"invalid size: '{text}'"


@pytest.mark.parametrize("seconds, text", [
    (0, "Less than a second"), (0.9, "Less than a second"), (-3, "Less than a second"),
    (1, "1 second"), (59, "59 seconds"), (60, "About a minute"), (119, "About a minute"),
    (300, "5 minutes"), (3599, "59 minutes"), (3600, "About an hour"), (5399, "About an hour"),
    (3 * 3600, "3 hours"), (47 * 3600, "47 hours"), (2 * 86400, "2 days"), (13 * 86400, "13 days"),
    (21 * 86400, "3 weeks"), (120 * 86400, "4 months"), (2 * 365 * 86400, "2 years"),
])
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def test_ago():
    assert ago(1000, now=1005) == "5 seconds ago"
    assert ago(1000, now=1090) == "About a minute ago"


NOW = parse_time("2026-11-27T21:10:00Z")


@pytest.mark.parametrize("state, text", [
    ({"Status": "created", "StartedAt": ZERO, "FinishedAt": ZERO}, "Created"),
    ({"Status": "running", "StartedAt": "2026-11-27T21:09:57.123456789Z"}, "Up 2 seconds"),
    ({"Status": "running", "StartedAt": "2026-11-27T21:09:59.9Z"}, "Up Less than a second"),
    ({"Status": "paused", "StartedAt": "2026-11-27T21:08:00Z"}, "Up 2 minutes (Paused)"),
    ({"Status": "running", "StartedAt": "2026-11-27T21:09:55Z", "Health": {"Status": "healthy"}},
     "Up 5 seconds (healthy)"),
    ({"Status": "running", "StartedAt": "2026-11-27T21:09:55Z", "Health": {"Status": "starting"}},
     "Up 5 seconds (health: starting)"),
    ({"Status": "exited", "StartedAt": "2026-11-27T21:00:00Z", "FinishedAt": "2026-11-27T21:09:56Z",
      "ExitCode": 0}, "Exited (0) 4 seconds ago"),
    ({"Status": "exited", "StartedAt": "2026-11-27T18:00:00Z", "FinishedAt": "2026-11-27T19:00:00Z",
      "ExitCode": 137}, "Exited (137) 2 hours ago"),
    ({"Status": "exited", "StartedAt": ZERO, "FinishedAt": ZERO, "ExitCode": 127}, "Created"),
    ({"Status": "restarting", "StartedAt": "2026-11-27T21:00:00Z", "FinishedAt": "2026-11-27T21:09:30Z",
      "ExitCode": 1}, "Restarting (1) 30 seconds ago"),
    ({"Status": "removing", "StartedAt": "2026-11-27T21:00:00Z"}, "Removal In Progress"),
    ({"Status": "dead", "StartedAt": "2026-11-27T21:00:00Z"}, "Dead"),
])
def test_status_text(state, text):
    assert status_text(state, now=NOW) == text
