"""Recording mode: ``--explain`` on a host without privileges reports every step and makes none."""

import glob
import os

import pytest

pytestmark = pytest.mark.privileged


def _cgroups(parent):
    return glob.glob(f"/sys/fs/cgroup/*/{parent}/*/") + glob.glob(f"/sys/fs/cgroup/{parent}/*/")


def test_recording_mode_shows_the_steps_and_makes_none(pydock, busybox_image, pydock_root):
    parent = os.environ["PYDOCK_CGROUP_PARENT"]
    before = _cgroups(parent)
    res = pydock("--explain", "run", "--rm", "-m", "32m", "-h", "planned", busybox_image, "touch", "/made",
                 env={"PYDOCK_RECORD_ONLY": "1"})
    assert res.returncode == 0, res.stderr
    steps = res.stderr
    for expected in ("unshare(mnt,uts,ipc,net,cgroup)", "mount overlay on", "lowerdir=", "pivot_root(., .)",
                     "memory.limit_in_bytes" if os.path.exists("/sys/fs/cgroup/memory") else "memory.max",
                     "sethostname('planned')", "execve('touch', ['touch', '/made'])"):
        assert expected in steps, f"{expected!r} missing from:\n{steps}"
    assert _cgroups(parent) == before  # no cgroup was made
    with open("/proc/self/mountinfo") as f:
        assert pydock_root not in f.read()  # nothing was mounted
    assert not os.path.exists("/made")  # the command did not run on the host
    assert pydock("ps", "-aq").stdout == ""  # --rm still honoured
