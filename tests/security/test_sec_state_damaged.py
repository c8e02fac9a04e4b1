"""Point 6 of the safety issue, reading: garbage in a state file is reported once and hides nothing else.

Each test damages files of a state root of its own (made fresh, so the warnings never reach other
tests) the way a hand edit or a disk error would, then uses the CLI as a student would: listings still
list every other object, the damaged one shows as ``Dead`` (a container) or is left out (a network),
and ``rm -f`` / ``volume rm`` clean it away. No command may end in a traceback.
"""

import json
import os
import shutil
import tempfile
import time

import pytest

pytestmark = pytest.mark.privileged

GARBAGE = {
    "not-json": b"garbage{",
    "truncated": b'{"Id": "',
    "not-utf8": b"\xff\xfe\x00",
    "a-list": b"[1, 2]",
    "wrong-types": None,  # the real record with State.Running a string, filled in by the test
}


@pytest.fixture
def state(pydock):
    """A fresh state root with busybox; ``state.cli(*args)`` runs pydock on it. Emptied afterwards."""
    parent = tempfile.mkdtemp(prefix="pydock-sec-state-", dir="/var/tmp")
    root = os.path.join(parent, "root")

    class State:
        path = root

        @staticmethod
        def cli(*args, **kwargs):
            return pydock(*args, env={"PYDOCK_ROOT": root}, **kwargs)

    State.cli("image", "bootstrap", "busybox", timeout=300, check=True)
    try:
        yield State
    finally:
        for cid in State.cli("ps", "-aq", "--no-trunc").stdout.split():
            State.cli("rm", "-f", cid, timeout=60)
        for name in State.cli("volume", "ls", "-q").stdout.split():
            State.cli("volume", "rm", "-f", name)
        shutil.rmtree(parent, ignore_errors=True)


def no_traceback(res):
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr
    return res


def warnings(res):
    return [line for line in res.stderr.splitlines() if line.startswith("WARNING")]


def damage(path, kind):
    if GARBAGE[kind] is None:
        with open(path) as f:
            record = json.load(f)
        record["State"]["Running"] = "yes"
        data = json.dumps(record).encode()
    else:
        data = GARBAGE[kind]
    with open(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_a_damaged_container_record_shows_as_dead_and_can_be_removed(state, kind):
    good = state.cli("create", "--network", "none", "--name", "good", "busybox", "true", check=True).stdout.strip()
    bad = state.cli("create", "--network", "none", "--name", "bad", "busybox", "true", check=True).stdout.strip()
    damage(os.path.join(state.path, "containers", bad, "config.v2.json"), kind)

    listing = no_traceback(state.cli("ps", "-a", "--format", "{{.ID}} {{.Status}}"))
    assert listing.returncode == 0
    assert sorted(listing.stdout.splitlines()) == sorted([f"{good[:12]} Created", f"{bad[:12]} Dead"])
    assert len(warnings(listing)) == 1 and bad[:12] in listing.stderr  # reported once
    assert no_traceback(state.cli("ps", "-a", "-f", "status=dead", "-q")).stdout == bad[:12] + "\n"
    assert no_traceback(state.cli("inspect", "-f", "{{.State.Status}}", bad)).stdout == "dead\n"
    assert no_traceback(state.cli("inspect", "-f", "{{.Name}}", "good")).stdout == "/good\n"
    started = no_traceback(state.cli("start", bad))
    assert started.returncode != 0 and "damaged record" in started.stderr
    ran = no_traceback(state.cli("run", "--rm", "--network", "none", "busybox", "echo", "still-works"))
    assert (ran.returncode, ran.stdout) == (0, "still-works\n")

    removed = no_traceback(state.cli("rm", "-f", bad))
    assert removed.returncode == 0
    assert not os.path.exists(os.path.join(state.path, "containers", bad))
    assert state.cli("ps", "-aq", "--no-trunc").stdout == good + "\n"


def test_a_container_directory_without_record_is_dead_until_removed(state):
    ghost = "ab" * 32
    os.makedirs(os.path.join(state.path, "containers", ghost, "diff"))
    listing = no_traceback(state.cli("ps", "-a", "--format", "{{.ID}} {{.Status}}"))
    assert (listing.returncode, listing.stdout) == (0, f"{ghost[:12]} Dead\n")
    assert no_traceback(state.cli("rm", "-f", ghost[:12])).returncode == 0
    assert os.listdir(os.path.join(state.path, "containers")) == []


def test_damaged_log_lines_are_skipped(state):
    state.cli("run", "--network", "none", "busybox", "sh", "-c", "echo one; echo two", check=True)
    cid = state.cli("ps", "-aq", "--no-trunc").stdout.strip()
    with open(os.path.join(state.path, "containers", cid, cid + "-json.log"), "ab") as f:
        f.write(b'garbage\n{"log": 5}\n\xff\n')
    res = no_traceback(state.cli("logs", cid))
    assert (res.returncode, res.stdout) == (0, "one\ntwo\n")
    assert no_traceback(state.cli("info")).returncode == 0


def test_rm_f_of_a_running_container_with_a_damaged_record_stops_it(state):
    cid = state.cli("run", "-d", "--network", "none", "busybox", "sleep", "300", check=True).stdout.strip()
    record_file = os.path.join(state.path, "containers", cid, "config.v2.json")
    with open(record_file) as f:
        record = json.load(f)
    pid, shim = record["State"]["Pid"], record["Shim"]["Pid"]
    damage(record_file, "not-json")
    assert no_traceback(state.cli("rm", "-f", cid, timeout=60)).returncode == 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (alive(pid) or alive(shim)):
        time.sleep(0.1)
    assert not alive(pid) and not alive(shim)
    assert state.cli("ps", "-aq").stdout == ""


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_damaged_network_and_volume_records_hide_nothing_else(state):
    networks = os.path.join(state.path, "networks")
    assert state.cli("network", "ls").returncode == 0  # writes the built-in networks' records
    broken_network = os.path.join(networks, "cd" * 32 + ".json")
    with open(broken_network, "wb") as f:
        f.write(b'{"Name": "half')
    for name in ("vol-good", "vol-bad", "vol-gone"):
        state.cli("volume", "create", name, check=True)
    damage(os.path.join(state.path, "volumes", "vol-bad", "volume.json"), "a-list")
    os.unlink(os.path.join(state.path, "volumes", "vol-gone", "volume.json"))

    listed = no_traceback(state.cli("network", "ls", "--format", "{{.Name}}"))
    assert (listed.returncode, sorted(listed.stdout.split())) == (0, ["bridge", "host", "none"])
    assert len(warnings(listed)) == 1
    assert no_traceback(state.cli("network", "inspect", "-f", "{{.Name}}", "bridge")).stdout == "bridge\n"

    volumes = no_traceback(state.cli("volume", "ls", "-q"))
    assert (volumes.returncode, volumes.stdout.split()) == (0, ["vol-bad", "vol-gone", "vol-good"])
    assert len(warnings(volumes)) == 2
    ran = no_traceback(state.cli("run", "--rm", "--network", "none", "-v", "vol-good:/data", "busybox", "true"))
    assert ran.returncode == 0
    for name in ("vol-bad", "vol-gone"):
        assert no_traceback(state.cli("volume", "inspect", "-f", "{{.Name}}", name)).stdout == name + "\n"
        assert no_traceback(state.cli("volume", "rm", name)).returncode == 0
        assert not os.path.exists(os.path.join(state.path, "volumes", name))
    assert state.cli("volume", "ls", "-q").stdout == "vol-good\n"


def test_damaged_event_lines_are_skipped(state):
    state.cli("volume", "create", "before-damage", check=True)
    with open(os.path.join(state.path, "events.jsonl"), "ab") as f:
        f.write(b'garbage\n{"Type": "volume"}\n[1]\n\xff\xfe\n')
    state.cli("volume", "create", "after-damage", check=True)
    res = no_traceback(state.cli("events", "--since", "0", "--until", str(int(time.time()) + 1),
                                 "--format", "{{.Type}} {{.Action}} {{.Actor.ID}}", timeout=30))
    assert res.returncode == 0
    assert res.stdout.splitlines()[-2:] == ["volume create before-damage", "volume create after-damage"]
    assert len(warnings(res)) == 1


def test_over_long_names_get_one_line_errors(state):
    name = "a" * 300
    for args, code in ((("volume", "create", name), 1),
                       (("run", "--rm", "--network", "none", "-v", f"{name}:/data", "busybox", "true"), 125)):
        res = no_traceback(state.cli(*args))
        assert res.returncode == code and res.stderr.count("\n") == 1, res.stderr
        assert "too long" in res.stderr
    for kind in ("volumes", "containers"):
        directory = os.path.join(state.path, kind)
        assert not os.path.isdir(directory) or os.listdir(directory) == []
