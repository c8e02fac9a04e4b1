"""Cgroup limits that really bite (memory, processes, CPU), the freezer, and how containers are stopped."""

import os
import re
import time

import pytest
from foundation_helpers import cgroup_file, container_dir, inspect, wait_for

pytestmark = pytest.mark.privileged

# PID 1 itself grows a shell variable by doubling it, so PID 1 is what the OOM killer must pick.
MEMORY_HOG = "a=xxxxxxxxxxxxxxxx; while true; do a=$a$a; done"


def read(path):
    with open(path) as f:
        return f.read()


def test_memory_limit_kills_a_memory_hog(pydock, run):
    res = run("--name", "hog", "-m", "20m", "busybox", "sh", "-c", MEMORY_HOG, timeout=60)
    assert res.returncode == 137, res.stderr
    assert inspect(pydock, "hog", "{{.State.OOMKilled}} {{.State.ExitCode}} {{.State.Status}}") == "true 137 exited"
    assert inspect(pydock, "hog", "{{.HostConfig.Memory}}") == str(20 * 1024 * 1024)


def test_memory_limit_is_written_to_the_cgroup(pydock, detached):
    cid = detached("-m", "32m", "busybox", "sleep", "60")
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        assert read(cgroup_file(cid, "memory", "memory.max")).strip() == str(32 * 1024 * 1024)
    else:
        assert read(cgroup_file(cid, "memory", "memory.limit_in_bytes")).strip() == str(32 * 1024 * 1024)
    pydock("rm", "-f", cid, check=True)
    assert not os.path.exists(os.path.dirname(cgroup_file(cid, "memory", "x")))  # removed with the container


def test_a_small_enough_program_runs_under_a_memory_limit(run):
    res = run("--rm", "-m", "20m", "busybox", "sh", "-c", "a=$(head -c 1000000 /dev/zero | tr '\\0' x); "
                                                          "echo ${#a}")
    assert res.returncode == 0 and res.stdout == "1000000\n", res.stderr


def test_memory_below_the_minimum_is_refused(run):
    res = run("--rm", "-m", "4m", "busybox", "true")
    assert res.returncode == 125 and "Minimum memory limit allowed is 6MB" in res.stderr


def test_pids_limit_stops_a_fork_loop(pydock, run):
    res = run("--name", "forks", "--pids-limit", "20", "busybox", "sh", "-c",
              "for i in $(seq 50); do sleep 2 & done; wait", timeout=60)
    assert "can't fork" in res.stderr or "Resource temporarily unavailable" in res.stderr, res.stderr
    assert inspect(pydock, "forks", "{{.State.Status}} {{.HostConfig.PidsLimit}}") == "exited 20"
    # the host is unaffected: it can still start processes
    assert pydock("ps", "-a", "-q").returncode == 0


def pids_limit_hits(cid):
    """How many forks the pids controller refused ("max" in pids.events), 0 without the file."""
    path = cgroup_file(cid, "pids", "pids.events")
    if not os.path.exists(path):
        return 0
    return int(dict(line.split() for line in read(path).splitlines()).get("max", 0))


def test_pids_limit_contains_a_real_fork_bomb(pydock, detached):
    cid = detached("--pids-limit", "20", "busybox", "sh", "-c", "bomb() { bomb | bomb & }; bomb; sleep 60")
    assert read(cgroup_file(cid, "pids", "pids.max")).strip() == "20"
    if os.path.exists(cgroup_file(cid, "pids", "pids.events")):
        wait_for(lambda: pids_limit_hits(cid) > 0, timeout=60)  # the bomb ran into the limit
    else:
        time.sleep(2)
    peak = cgroup_file(cid, "pids", "pids.peak")
    assert int(read(peak if os.path.exists(peak) else cgroup_file(cid, "pids", "pids.current"))) <= 20
    res = pydock("rm", "-f", cid, timeout=60)
    assert res.returncode == 0, res.stderr
    assert pydock("ps", "-aq").stdout == ""


def cpu_seconds(cid):
    """CPU time the container's cgroup has used, in seconds (cpuacct on v1, cpu.stat on v2)."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        stat = dict(line.split() for line in read(cgroup_file(cid, "cpu", "cpu.stat")).splitlines())
        return int(stat["usage_usec"]) / 1e6
    return int(read(cgroup_file(cid, "cpuacct", "cpuacct.usage"))) / 1e9


def throttled_periods(cid):
    stat = dict(line.split() for line in read(cgroup_file(cid, "cpu", "cpu.stat")).splitlines())
    return int(stat["nr_throttled"])


def test_cpus_limit_throttles_a_busy_loop(detached):
    """A busy loop under --cpus 0.2 gets at most a fifth of a CPU, however idle the machine is."""
    cid = detached("--cpus", "0.2", "busybox", "sh", "-c", "while :; do :; done")
    time.sleep(0.5)
    used, began = cpu_seconds(cid), time.monotonic()
    time.sleep(2)
    share = (cpu_seconds(cid) - used) / (time.monotonic() - began)
    assert share < 0.3, share  # 0.2 of a CPU, plus what a busy machine's scheduling lets slip
    assert throttled_periods(cid) > 0  # the kernel held it back, period after period


COUNTER = ("(i=0; trap 'echo $i; exit 0' TERM; while :; do i=$((i+1)); done) & pid=$!; "
           "sleep 2; kill $pid; wait")


def test_cpus_limit_slows_a_counter(run):
    limited = run("--rm", "--cpus", "0.2", "busybox", "sh", "-c", COUNTER, timeout=60)
    free = run("--rm", "busybox", "sh", "-c", COUNTER, timeout=60)
    assert limited.returncode == 0 and free.returncode == 0, (limited.stderr, free.stderr)
    slow, fast = int(limited.stdout), int(free.stdout)
    if os.getloadavg()[0] < os.cpu_count():  # on a saturated machine the free loop gets little more
        assert slow < 0.6 * fast, (slow, fast)  # the quota allows 20% of one CPU; only a loose comparison


def test_cpus_limit_is_written_to_the_cgroup(detached):
    cid = detached("--cpus", "0.5", "busybox", "sleep", "60")
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        assert read(cgroup_file(cid, "cpu", "cpu.max")).split() == ["50000", "100000"]
    else:
        assert read(cgroup_file(cid, "cpu", "cpu.cfs_quota_us")).strip() == "50000"
        assert read(cgroup_file(cid, "cpu", "cpu.cfs_period_us")).strip() == "100000"


def counter_value(cid):
    """The number the container last wrote to /tmp/count, read from its upper dir on the host."""
    def value():
        try:
            text = read(os.path.join(container_dir(cid), "diff", "tmp", "count")).strip()
        except FileNotFoundError:
            return None
        return int(text) if text else None  # empty between the truncation and the write

    return wait_for(value, timeout=10)


def test_pause_freezes_and_unpause_resumes(pydock, detached):
    cid = detached("busybox", "sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done")
    first = counter_value(cid)
    wait_for(lambda: counter_value(cid) > first)  # it counts
    assert pydock("pause", cid).returncode == 0
    assert inspect(pydock, cid, "{{.State.Status}} {{.State.Paused}} {{.State.Running}}") == "paused true true"
    assert pydock("ps", "--format", "{{.Status}}").stdout.endswith("(Paused)\n")
    paused_at = counter_value(cid)
    time.sleep(0.6)
    assert counter_value(cid) == paused_at  # frozen
    if not os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        assert read(cgroup_file(cid, "freezer", "freezer.state")).strip() == "FROZEN"

    again = pydock("pause", cid)
    assert again.returncode != 0 and "is already paused" in again.stderr
    assert pydock("unpause", cid).returncode == 0
    assert inspect(pydock, cid, "{{.State.Status}} {{.State.Paused}}") == "running false"
    wait_for(lambda: counter_value(cid) > paused_at)  # and counts again


def test_unpause_of_a_running_container_is_an_error(pydock, detached):
    cid = detached("busybox", "sleep", "60")
    res = pydock("unpause", cid)
    assert res.returncode != 0 and "is not paused" in res.stderr and "Traceback" not in res.stderr
    assert inspect(pydock, cid, "{{.State.Status}}") == "running"


def test_a_paused_container_can_be_stopped_and_removed(pydock, detached):
    stopped = detached("busybox", "sleep", "60")
    removed = detached("busybox", "sleep", "60")
    for cid in (stopped, removed):
        assert pydock("pause", cid).returncode == 0
    res = pydock("stop", "-t", "1", stopped, timeout=30)
    assert res.returncode == 0, res.stderr
    assert inspect(pydock, stopped, "{{.State.Status}} {{.State.Paused}}") == "exited false"
    res = pydock("rm", "-f", removed, timeout=30)
    assert res.returncode == 0, res.stderr
    assert pydock("ps", "-aq", "--no-trunc").stdout.split() == [stopped]


def test_stop_kills_a_process_that_ignores_sigterm(pydock, detached):
    cid = detached("busybox", "sh", "-c", "trap '' TERM; while true; do sleep 0.1; done")
    start = time.monotonic()
    res = pydock("stop", "-t", "1", cid, timeout=30)
    elapsed = time.monotonic() - start
    assert res.returncode == 0 and res.stdout == cid + "\n", res.stderr
    assert 1.0 <= elapsed < 8, elapsed
    assert inspect(pydock, cid, "{{.State.Status}} {{.State.ExitCode}}") == "exited 137"


def test_a_term_trap_exits_with_its_own_code(pydock, detached):
    cid = detached("busybox", "sh", "-c", "trap 'echo bye; exit 7' TERM; while true; do sleep 0.1; done")
    start = time.monotonic()
    assert pydock("stop", "-t", "10", cid, timeout=30).returncode == 0
    assert time.monotonic() - start < 5  # the trap ran; no need to wait for the timeout
    assert inspect(pydock, cid, "{{.State.ExitCode}}") == "7"
    assert pydock("logs", cid).stdout == "bye\n"


def test_stop_signal_flag(pydock, detached):
    cid = detached("--stop-signal", "USR1", "busybox", "sh", "-c",
                   "trap 'exit 10' USR1; while true; do sleep 0.1; done")
    assert pydock("stop", cid, timeout=30).returncode == 0
    assert inspect(pydock, cid, "{{.State.ExitCode}}") == "10"
    cid = detached("busybox", "sh", "-c", "trap 'exit 11' HUP; while true; do sleep 0.1; done")
    assert pydock("stop", "-s", "HUP", cid, timeout=30).returncode == 0
    assert inspect(pydock, cid, "{{.State.ExitCode}}") == "11"


def test_kill_sends_the_signal_asked_for(pydock, detached):
    cid = detached("busybox", "sh", "-c", "trap 'echo got-usr1; exit 10' USR1; while true; do sleep 0.1; done")
    res = pydock("kill", "-s", "USR1", cid)
    assert res.returncode == 0 and res.stdout == cid + "\n"
    assert pydock("wait", cid, timeout=30).stdout == "10\n"
    assert pydock("logs", cid).stdout == "got-usr1\n"
    cid = detached("busybox", "sleep", "60")
    assert pydock("kill", "-s", "SIGKILL", cid).returncode == 0
    assert pydock("wait", cid, timeout=30).stdout == "137\n"
    res = pydock("kill", cid)
    assert res.returncode != 0 and "is not running" in res.stderr and res.stderr.count("\n") == 1


@pytest.mark.parametrize("bad", ["NOSUCHSIG", "0", "999"])
def test_kill_with_a_bad_signal(pydock, detached, bad):
    cid = detached("busybox", "sleep", "60")
    res = pydock("kill", "-s", bad, cid)
    assert res.returncode == 1 and res.stderr == f"Error: Invalid signal: {bad}\n"  # the daemon refuses it
    assert inspect(pydock, cid, "{{.State.Status}}") == "running"


def test_kill_with_a_real_time_signal(pydock, detached):
    cid = detached("busybox", "sh", "-c", "trap 'exit 12' 40; while true; do sleep 0.1; done")
    res = pydock("--explain", "kill", "-s", "40", cid)
    assert res.returncode == 0 and re.search(r"kill\(\d+, 40\)", res.stderr), res.stderr
    assert pydock("wait", cid, timeout=30).stdout == "12\n"


def test_stop_with_a_negative_timeout_waits_for_the_exit(pydock, detached):
    cid = detached("busybox", "sh", "-c", "trap 'sleep 1; exit 9' TERM; while true; do sleep 0.1; done")
    res = pydock("stop", "-t", "-1", cid, timeout=30)
    assert res.returncode == 0, res.stderr
    assert inspect(pydock, cid, "{{.State.ExitCode}}") == "9"
