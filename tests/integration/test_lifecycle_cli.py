"""The container lifecycle from the CLI: create, start, wait, restart, rename, rm; names and ID prefixes."""

import json
import re

import pytest
from foundation_helpers import assert_one_line_error, inspect

pytestmark = pytest.mark.privileged


def status(pydock, ref):
    return inspect(pydock, ref, "{{.State.Status}}")


def test_the_state_diagram(pydock, create):
    cid = create("--name", "life", "busybox", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done")
    assert len(cid) == 64 and re.fullmatch("[0-9a-f]{64}", cid)
    assert pydock("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout == "life Created\n"
    assert pydock("ps", "-q").stdout == ""  # not running: only ps -a shows it

    assert pydock("start", "life").stdout == "life\n"
    assert status(pydock, "life") == "running"
    assert re.fullmatch(r"life Up (Less than a second|\d+ seconds?)\n",
                        pydock("ps", "--format", "{{.Names}} {{.Status}}").stdout)
    assert pydock("start", "life").returncode == 0  # starting a running container does nothing

    assert pydock("stop", "life", timeout=30).stdout == "life\n"
    assert status(pydock, "life") == "exited"
    assert re.fullmatch(r"life Exited \(0\) .* ago\n", pydock("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout)

    assert pydock("restart", "-t", "1", "life", timeout=30).returncode == 0
    assert status(pydock, "life") == "running"
    assert pydock("restart", "-t", "1", "life", timeout=30).returncode == 0  # a running one: stop, then start
    assert status(pydock, "life") == "running"

    res = pydock("rm", "life")
    assert res.returncode != 0 and "container is running" in res.stderr and res.stderr.count("\n") == 1
    assert pydock("rm", "-f", "life", timeout=30).stdout == "life\n"
    assert pydock("ps", "-aq").stdout == ""


def test_start_attach_returns_the_exit_code(pydock, create):
    cid = create("busybox", "sh", "-c", "echo out; echo err >&2; exit 5")
    res = pydock("start", "-a", cid)
    assert (res.returncode, res.stdout, res.stderr) == (5, "out\n", "err\n")
    res = pydock("start", "-a", cid)  # a second start runs the command again
    assert (res.returncode, res.stdout) == (5, "out\n")
    assert pydock("logs", cid).stdout == "out\nout\n"


def test_wait(pydock, detached, create):
    first = detached("busybox", "sh", "-c", "sleep 0.5; exit 3")
    second = detached("busybox", "true")
    res = pydock("wait", first, second, timeout=30)
    assert res.stdout == "3\n0\n"
    assert pydock("wait", create("busybox", "true")).stdout == "0\n"  # never started
    removed_on_exit = detached("--rm", "busybox", "sh", "-c", "sleep 3; exit 4")
    assert pydock("wait", removed_on_exit, timeout=30).stdout == "4\n"  # as docker wait does for --rm
    res = pydock("wait", "no-such-container")
    assert_one_line_error(res)


def test_rename(pydock, create):
    cid = create("--name", "before", "busybox", "true")
    create("--name", "taken", "busybox", "true")
    assert pydock("rename", "before", "after").returncode == 0
    assert inspect(pydock, cid, "{{.Name}}") == "/after"
    assert_one_line_error(pydock("inspect", "before"))
    res = pydock("rename", "after", "taken")
    assert_one_line_error(res)
    assert 'The container name "/taken" is already in use' in res.stderr
    res = pydock("rename", "after", "bad name!")
    assert_one_line_error(res)
    assert "Invalid container name (bad name!)" in res.stderr
    res = pydock("rename", "after", "")
    assert_one_line_error(res)
    assert "Neither old nor new names may be empty" in res.stderr
    assert inspect(pydock, cid, "{{.Name}}") == "/after"
    assert sorted(pydock("ps", "-a", "--format", "{{.Names}}").stdout.split()) == ["after", "taken"]


def test_names(pydock, create):
    create("--name", "dup", "busybox", "true")
    res = pydock("create", "--network", "none", "--name", "dup", "busybox", "true")
    assert_one_line_error(res, 125)
    assert 'Conflict. The container name "/dup" is already in use by container' in res.stderr
    for bad in ("-lead", "a", "white space", "sl/ash", "ü"):
        res = pydock("create", "--network", "none", "--name", bad, "busybox", "true")
        assert_one_line_error(res, 125)
    generated = pydock("inspect", "-f", "{{.Name}}", create("busybox", "true")).stdout.strip()
    assert re.fullmatch(r"/[a-z]+_[a-z]+", generated)
    assert sorted(pydock("ps", "-a", "--format", "{{.Names}}").stdout.split()) == sorted(["dup", generated[1:]])


def test_lookup_by_id_prefix_name_and_ambiguous_prefix(pydock, create):
    cids, shared, unique = [], None, None
    while not (shared and unique):  # two IDs that start alike, and one that starts unlike any other
        cids.append(create("busybox", "true"))
        firsts = [c[0] for c in cids]
        shared = next((f for f in firsts if firsts.count(f) > 1), None)
        unique = next((c for c in cids if firsts.count(c[0]) == 1), None)
    for ref in (unique, unique[:12], unique[:5]):
        assert inspect(pydock, ref, "{{.Id}}") == unique
    name = inspect(pydock, unique, "{{.Name}}")
    assert inspect(pydock, name[1:], "{{.Id}}") == unique
    assert inspect(pydock, name, "{{.Id}}") == unique  # "/name" is the same name
    for command in (["inspect", shared], ["rm", shared], ["logs", shared]):
        res = pydock(*command)
        assert_one_line_error(res)
        assert f"multiple IDs found with provided prefix: {shared}" in res.stderr, command
    res = pydock("start", shared)  # then the names that failed, as docker/cli's start.go ends
    assert res.returncode == 1 and res.stderr == (f"Error: multiple IDs found with provided prefix: {shared}\n"
                                                  f"Error: failed to start containers: {shared}\n")
    res = pydock("inspect", "0" * 64 if not any(c.startswith("0" * 6) for c in cids) else "f" * 64)
    assert_one_line_error(res, 1)
    assert "No such container" in res.stderr or "No such object" in res.stderr
    assert len(pydock("ps", "-aq").stdout.split()) == len(cids)  # the store is intact


def test_rm_many_and_missing(pydock, create):
    one, two = create("busybox", "true"), create("busybox", "true")
    res = pydock("rm", one, "no-such-container", two)
    assert res.returncode != 0 and res.stdout == f"{one}\n{two}\n"
    assert res.stderr == "Error: No such container: no-such-container\n"
    assert pydock("ps", "-aq").stdout == ""


def test_inspect_has_dockers_keys(pydock, create):
    cid = create("--name", "keys", "-e", "A=1", "-l", "tier=web", "-m", "64m", "--cpus", "0.5",
                 "--pids-limit", "30", "busybox", "sh", "-c", "exit 0")
    [doc] = json.loads(pydock("inspect", "keys", check=True).stdout)
    for key in ("Id", "Created", "Path", "Args", "State", "Image", "Name", "Config", "HostConfig",
                "GraphDriver", "Mounts", "NetworkSettings", "LogPath", "HostnamePath", "HostsPath",
                "ResolvConfPath", "RestartCount", "Driver", "Platform"):
        assert key in doc, key
    for key in ("Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid", "ExitCode",
                "Error", "StartedAt", "FinishedAt"):
        assert key in doc["State"], key
    assert doc["Id"] == cid and doc["Name"] == "/keys" and doc["Path"] == "sh" and doc["Args"] == ["-c", "exit 0"]
    assert doc["Image"].startswith("sha256:") and doc["Driver"] == "overlay"
    assert doc["State"]["StartedAt"] == "0001-01-01T00:00:00Z"
    assert "A=1" in doc["Config"]["Env"] and doc["Config"]["Labels"] == {"tier": "web"}
    assert doc["Config"]["Image"] == "busybox" and doc["Config"]["Cmd"] == ["sh", "-c", "exit 0"]
    host = doc["HostConfig"]
    assert (host["Memory"], host["NanoCpus"], host["PidsLimit"], host["NetworkMode"]) == \
        (64 * 1024 * 1024, 500_000_000, 30, "none")
    assert set(doc["GraphDriver"]["Data"]) >= {"LowerDir", "UpperDir", "WorkDir", "MergedDir"}
    for private in ("Shim", "ImageName", "RuntimeMounts"):
        assert private not in doc

    assert pydock("start", "-a", "keys").returncode == 0
    assert inspect(pydock, "keys", "{{.State.Status}} {{.State.ExitCode}} {{.State.Pid}}") == "exited 0 0"
    assert inspect(pydock, "keys", "{{json .Config.Labels}}") == '{"tier":"web"}'
    assert pydock("container", "inspect", "-f", "{{.Name}}", "keys").stdout == "/keys\n"
    res = pydock("inspect", "keys", "no-such-thing")
    assert res.returncode == 1 and json.loads(res.stdout)[0]["Id"] == cid
    assert res.stderr == "Error: No such object: no-such-thing\n"
