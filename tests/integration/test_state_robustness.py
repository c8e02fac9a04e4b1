"""The store under stress: parallel CLI processes, a shim killed outright, ``--rm`` clean-up."""

import glob
import json
import os
import signal
import subprocess
import sysconfig
import time

import pytest
from foundation_helpers import cgroup_file, container_dir, inspect, wait_for

pytestmark = pytest.mark.privileged

PYDOCK = os.path.join(sysconfig.get_path("scripts"), "pydock")


def in_parallel(argvs, timeout=180):
    """Start every ``pydock ARGV`` at once; return their CompletedProcess-like results, in order."""
    processes = [subprocess.Popen([PYDOCK, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for argv in argvs]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def session_cgroups():
    parent = os.environ["PYDOCK_CGROUP_PARENT"]
    return glob.glob(f"/sys/fs/cgroup/*/{parent}/*/") + glob.glob(f"/sys/fs/cgroup/{parent}/*/")


def store_files():
    root = os.environ["PYDOCK_ROOT"]
    return sorted(os.listdir(os.path.join(root, "containers")))


def test_twenty_parallel_runs(pydock, busybox_image):
    since = time.time()
    results = in_parallel([["run", "--rm", "--network", "none", "busybox", "sh", "-c", f"echo run-{i}"]
                           for i in range(20)])
    for i, res in enumerate(results):
        assert (res.returncode, res.stdout, res.stderr) == (0, f"run-{i}\n", ""), res
    assert pydock("ps", "-aq").stdout == ""
    assert store_files() == [] and session_cgroups() == []
    with open(os.path.join(os.environ["PYDOCK_ROOT"], "events.jsonl")) as f:
        actions = [e["Action"] for e in map(json.loads, f) if e["timeNano"] / 1e9 >= since and e["Type"] == "container"]
    for action in ("create", "start", "die", "destroy"):
        assert actions.count(action) == 20, (action, actions)


def test_parallel_creates_with_one_name(pydock, busybox_image):
    results = in_parallel([["create", "--network", "none", "--name", "contested", "busybox", "true"]] * 10)
    winners = [r for r in results if r.returncode == 0]
    losers = [r for r in results if r.returncode != 0]
    assert len(winners) == 1
    for res in losers:
        assert res.returncode == 125 and 'The container name "/contested" is already in use' in res.stderr
    assert pydock("ps", "-aq", "--no-trunc").stdout == winners[0].stdout
    assert store_files() == [winners[0].stdout.strip()]


def test_parallel_lifecycle_commands_leave_valid_records(pydock, busybox_image, detached):
    cids = [detached("busybox", "sleep", "60") for _ in range(6)]
    results = in_parallel([["stop", "-t", "1", cid] for cid in cids[:3]] + [["rm", "-f", cid] for cid in cids[3:]]
                          + [["ps", "-a"], ["inspect", cids[0]], ["ps", "-a", "-q"]])
    assert all(res.returncode == 0 for res in results), [res.stderr for res in results]
    assert sorted(pydock("ps", "-aq", "--no-trunc").stdout.split()) == sorted(cids[:3])
    for cid in cids[:3]:
        assert inspect(pydock, cid, "{{.State.Status}} {{.State.ExitCode}}") == "exited 137"  # PID 1 ignores TERM
        leftovers = [name for name in os.listdir(container_dir(cid)) if ".tmp" in name]
        assert leftovers == []  # every record was replaced whole


def shim_of(cid):
    """The shim's PID, from the engine's record on disk (not shown by inspect)."""
    with open(os.path.join(container_dir(cid), "config.v2.json")) as f:
        return json.load(f)["Shim"]["Pid"]


def exited_or_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_a_killed_shim_leaves_an_exited_container(pydock, detached):
    cid = detached("busybox", "sleep", "300")
    pid = int(inspect(pydock, cid, "{{.State.Pid}}"))
    shim = shim_of(cid)
    os.kill(shim, signal.SIGKILL)
    wait_for(lambda: exited_or_zombie(shim))
    res = pydock("ps", "-a", "--format", "{{.ID}} {{.Status}}")
    assert res.stdout.startswith(f"{cid[:12]} Exited (137) "), res.stdout
    assert inspect(pydock, cid, "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.State.Pid}}") == \
        "exited false 137 0"
    wait_for(lambda: exited_or_zombie(pid))  # the container's process died with its shim
    assert not os.path.exists(os.path.dirname(cgroup_file(cid, "pids", "x")))
    assert pydock("ps", "-q").stdout == ""
    assert pydock("start", cid).returncode == 0  # it can be started again
    assert inspect(pydock, cid, "{{.State.Status}}") == "running"
    assert pydock("rm", "-f", cid, timeout=30).returncode == 0
    assert store_files() == [] and session_cgroups() == []


def test_an_attached_run_reports_the_exit_of_a_killed_shim(busybox_image):
    process = subprocess.Popen([PYDOCK, "run", "--name", "attached", "--network", "none", "busybox", "sleep", "300"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cid = wait_for(lambda: subprocess.run([PYDOCK, "ps", "-q", "--no-trunc", "-f", "name=attached"],
                                          capture_output=True, text=True, check=True).stdout.strip())
    shim = shim_of(cid)
    os.kill(shim, signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == 137


def test_a_killed_shim_of_a_paused_container(pydock, detached):
    cid = detached("busybox", "sleep", "300")
    pydock("pause", cid, check=True)
    shim = shim_of(cid)
    os.kill(shim, signal.SIGKILL)
    wait_for(lambda: exited_or_zombie(shim))
    assert inspect(pydock, cid, "{{.State.Status}} {{.State.Paused}} {{.State.ExitCode}}") == "exited false 137"
    assert session_cgroups() == []


def test_rm_flag_removes_the_container_when_it_exits(pydock, detached):
    short = detached("--rm", "busybox", "sh", "-c", "sleep 0.3; exit 2")
    stopped = detached("--rm", "busybox", "sleep", "60")
    killed = detached("--rm", "busybox", "sleep", "60")
    assert pydock("stop", "-t", "1", stopped, timeout=30).returncode == 0
    assert pydock("kill", killed).returncode == 0
    wait_for(lambda: not os.path.exists(container_dir(short)) and not os.path.exists(container_dir(killed)))
    assert pydock("ps", "-aq").stdout == ""
    assert store_files() == [] and session_cgroups() == []
    attach_sockets = os.path.join(os.environ["PYDOCK_ROOT"], "run")
    assert not os.path.isdir(attach_sockets) or os.listdir(attach_sockets) == []
