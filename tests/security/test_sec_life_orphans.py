"""Point 9 of issue 11 (its lifecycle parts): no container outlives what could still see or stop it.

* ``kill -9`` of a build in the middle of a RUN step used to leave that step's container for ever.
  Its containers are labelled with their builder process; once that process is gone, the next
  build or ``container prune`` removes them.
* Deleting a container's record (its state directory, or just ``config.v2.json``) used to hide a
  container that kept running, unseen by ``ps`` and out of reach of ``rm -f``. Its shim notices
  that the record is gone and stops the container, frees its cgroup and its network.
"""

import json
import os
import shutil
import subprocess
import sysconfig
import time

import pytest
from test_sec_life_start_failures import SUBNETS, _assert_nothing_left, _dnat_rules

pytestmark = pytest.mark.privileged

PYDOCK = os.path.join(sysconfig.get_path("scripts"), "pydock")


def _wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def _kill_build_mid_run(pydock, context):
    """Start ``pydock build`` of a Dockerfile whose RUN sleeps, kill -9 it once the step runs; return
    the step's container ID."""
    (context / "Dockerfile").write_text("FROM busybox\nRUN sleep 120\n")
    build = subprocess.Popen([PYDOCK, "build", "--no-cache", "--network", "none", str(context)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        cid = _wait_for(lambda: pydock("ps", "-q", "--no-trunc").stdout.strip(), 60, "the RUN step's container")
    finally:
        build.kill()
        build.wait()
    time.sleep(1)
    assert pydock("ps", "-q", "--no-trunc").stdout.split() == [cid], "the RUN step's container should still run"
    return cid


def test_container_prune_removes_the_container_of_a_killed_build(pydock, busybox_image, pydock_root, tmp_path):
    cid = _kill_build_mid_run(pydock, tmp_path)
    res = pydock("container", "prune", "-f", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert cid in res.stdout.split()
    assert pydock("ps", "-aq").stdout.split() == []
    _assert_nothing_left(pydock_root, "kill -9 of a build mid-RUN, then container prune")
    scratch = os.path.join(pydock_root, "builder")
    assert [n for n in os.listdir(scratch) if n.count("_") == 2] == [], "the killed build's scratch directory"


def test_the_next_build_removes_the_container_of_a_killed_build(pydock, busybox_image, pydock_root, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _kill_build_mid_run(pydock, first)
    (second / "Dockerfile").write_text("FROM busybox\nRUN true\n")
    res = pydock("build", "--no-cache", "--network", "none", str(second), timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert pydock("ps", "-aq").stdout.split() == []
    _assert_nothing_left(pydock_root, "kill -9 of a build mid-RUN, then another build")
    scratch = os.path.join(pydock_root, "builder")
    assert [n for n in os.listdir(scratch) if n.count("_") == 2] == [], "the killed build's scratch directory"


def test_container_prune_removes_stopped_containers_and_keeps_running_ones(pydock, create, busybox_image):
    running = create("busybox", "sleep", "60")
    stopped = create("busybox", "true")
    try:
        pydock("start", running, check=True)
        res = pydock("container", "prune", "-f", check=True)
        assert stopped in res.stdout and running not in res.stdout
        assert pydock("ps", "-aq", "--no-trunc").stdout.split() == [running]
    finally:
        pydock("rm", "-f", running, stopped, timeout=60)


@pytest.mark.parametrize("deleted", ["record file", "state directory", "state directory, paused"])
def test_a_container_whose_record_was_deleted_is_stopped_and_cleaned_up(pydock, busybox_image, pydock_root,
                                                                         deleted):
    network = f"sec-life-orphan-{os.getpid()}"
    pydock("network", "create", "--subnet", next(SUBNETS), network, check=True)
    try:
        cid = pydock("run", "-d", "--network", network, "-p", "18094:80", "busybox", "sleep", "120",
                     check=True).stdout.strip()
        assert _dnat_rules(18094)
        if deleted.endswith("paused"):
            pydock("pause", cid, check=True)
        directory = os.path.join(pydock_root, "containers", cid)
        if deleted == "record file":
            os.unlink(os.path.join(directory, "config.v2.json"))
        else:
            shutil.rmtree(directory)
        _assert_nothing_left(pydock_root, f"a running container whose {deleted} was deleted", port=18094, wait=15)
        containers = json.loads(pydock("network", "inspect", network, check=True).stdout)[0]["Containers"]
        assert containers == {}, "its address is still taken"
    finally:
        for ref in pydock("ps", "-aq").stdout.split():
            pydock("rm", "-f", ref, timeout=60)
        pydock("network", "rm", network, timeout=60)
