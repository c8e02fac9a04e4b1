"""Issue 11, point 7: a host without some (or any) cgroup controllers.

A container host, a partial cgroup v2 delegation or an empty /sys/fs/cgroup must not break ps, top,
rm -f, pause or an attached run: pydock works without the missing controller and refuses, in one
line, only the flag that needs it. Each layout is built in a private mount namespace of a child
(``unshare -m``): every pydock command of a test runs in a fresh one built the same way, so shims
started there see the same layout, and the pytest process and the other tests never do.

Layouts: ``none`` (an empty tmpfs over /sys/fs/cgroup); ``v2-partial`` (a cgroup v2 subtree whose
parent delegates only ``pids`` -- on a v1 host the unified hierarchy has no controllers at all --
bind-mounted as /sys/fs/cgroup); and, where the host has v1 hierarchies, ``v1-cpu-memory`` and
``v1-pids-freezer`` (a tmpfs with only those hierarchies mounted back).
"""

import os
import shlex
import subprocess
import sys
import sysconfig

import pytest

pytestmark = pytest.mark.privileged

CGROUP = "/sys/fs/cgroup"


def _mounts(fstype):
    """(mount point, super options) of the mounts of ``fstype`` in this mount namespace."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            kind, _, options = right.split()[:3]
            if kind == fstype:
                found.append((left.split()[4], options))
    return found


def _v1_hierarchies():
    """controller -> the options that mount its v1 hierarchy again (``cpu`` or ``cpu,cpuacct``)."""
    found = {}
    for _, options in _mounts("cgroup"):
        names = [o for o in options.split(",") if o not in ("rw", "ro") and "=" not in o]
        for name in names:
            found[name] = ",".join(names)
    return found


def _unified():
    """Where this host's cgroup v2 hierarchy is mounted (/sys/fs/cgroup on v2, .../unified on a hybrid)."""
    points = [point for point, _ in _mounts("cgroup2")]
    return (CGROUP if CGROUP in points else points[0]) if points else None


V1 = _v1_hierarchies()
LAYOUTS = ["none"] + (["v2-partial"] if _unified() else []) + (
    ["v1-cpu-memory", "v1-pids-freezer"] if all(c in V1 for c in ("cpu", "memory", "pids", "freezer")) else [])


class Layout:
    """A cgroup layout, and ``pydock`` run inside a fresh mount namespace that has it."""

    def __init__(self, name, setup, controllers, cleanup=()):
        self.name, self.setup, self.controllers, self.cleanup = name, setup, set(controllers), cleanup

    def pydock(self, *args, timeout=120):
        script = " && ".join(self.setup) + ' && exec "$@"'
        cli = os.path.join(sysconfig.get_path("scripts"), "pydock")
        cli = [cli] if os.path.exists(cli) else [sys.executable, "-m", "pydock_edu.cli.main"]
        return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *cli, *map(str, args)],
                              capture_output=True, text=True, timeout=timeout, check=False)


def _tmpfs():
    return f"mount -t tmpfs -o size=64k,mode=755 pydock-test-cgroup {CGROUP}"


@pytest.fixture(params=LAYOUTS)
def layout(request, busybox_image):
    name = request.param
    if name == "none":
        yield Layout(name, [_tmpfs()], [])
        return
    if name.startswith("v1-"):
        wanted = name.split("-")[1:]
        setup = [_tmpfs()]
        for controller in wanted:
            setup += [f"mkdir -p {CGROUP}/{controller}",
                      f"mount -t cgroup -o {V1[controller]} cgroup {CGROUP}/{controller}"]
        yield Layout(name, setup, wanted)
        return
    # v2-partial: <unified>/<session parent>/delegation/sub, where each level hands down only pids (if it has it).
    parent = os.path.join(_unified(), os.environ["PYDOCK_CGROUP_PARENT"])
    outer = os.path.join(parent, "delegation")
    inner = os.path.join(outer, "sub")
    made_parent = not os.path.isdir(parent)
    os.makedirs(inner)
    try:
        for directory in (parent, outer):
            _delegate_pids(directory)
        with open(os.path.join(inner, "cgroup.controllers")) as f:
            controllers = f.read().split()
        yield Layout(name, [f"mount --bind {shlex.quote(inner)} {CGROUP}"], controllers + ["freezer"])
    finally:
        for top, _, _ in sorted(os.walk(outer), key=lambda w: -w[0].count("/")):
            os.rmdir(top)
        if made_parent:
            os.rmdir(parent)


def _delegate_pids(directory):
    """Hand the pids controller (alone) down to the children of ``directory``, if it has it."""
    with open(os.path.join(directory, "cgroup.controllers")) as f:
        if "pids" in f.read().split():
            with open(os.path.join(directory, "cgroup.subtree_control"), "w") as f:
                f.write("+pids")


def _remove_all(layout):
    ids = layout.pydock("ps", "-aq").stdout.split()
    if ids:
        layout.pydock("rm", "-f", *ids)


def _no_traceback(result):
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_containers_work_without_the_missing_controllers(layout):
    """Attached run (right exit code), --rm, run -d, ps, top, rm -f: none needs a controller."""
    try:
        res = _no_traceback(layout.pydock("run", "--network", "none", "--name", "attached", "busybox",
                                          "sh", "-c", "echo hello; exit 3"))
        assert (res.returncode, res.stdout) == (3, "hello\n"), res.stderr
        res = _no_traceback(layout.pydock("ps", "-a", "--filter", "name=attached", "--format", "{{.Status}}"))
        assert res.stdout.startswith("Exited (3)"), res.stdout + res.stderr  # not 137: the shim lived

        res = _no_traceback(layout.pydock("run", "--rm", "--network", "none", "--name", "gone", "busybox", "true"))
        assert res.returncode == 0, res.stderr
        assert layout.pydock("ps", "-aq", "--filter", "name=gone").stdout == ""  # --rm was honoured

        res = _no_traceback(layout.pydock("run", "-d", "--network", "none", "--name", "sleeper", "busybox",
                                          "sleep", "300"))
        assert res.returncode == 0, res.stderr
        res = _no_traceback(layout.pydock("ps", "--filter", "name=sleeper", "--format", "{{.Status}}"))
        assert res.stdout.startswith("Up"), res.stdout + res.stderr
        res = _no_traceback(layout.pydock("top", "sleeper"))
        assert res.returncode == 0 and "sleep 300" in res.stdout, res.stdout + res.stderr
        res = _no_traceback(layout.pydock("rm", "-f", "sleeper"))
        assert res.returncode == 0, res.stderr
        assert layout.pydock("ps", "-aq", "--filter", "name=sleeper").stdout == ""
    finally:
        _remove_all(layout)


@pytest.mark.parametrize("flag,controller", [(("-m", "64m"), "memory"), (("--cpus", "0.5"), "cpu"),
                                             (("--pids-limit", "50"), "pids")])
def test_a_limit_flag_is_refused_only_without_its_controller(layout, flag, controller):
    try:
        for verb in ("run", "create"):
            res = _no_traceback(layout.pydock(verb, "--network", "none", *flag, "busybox", "true"))
            if controller in layout.controllers:
                assert res.returncode == 0, res.stderr
                continue
            assert res.returncode == 125, res.stdout + res.stderr
            lines = res.stderr.strip().splitlines()
            name = {"memory": "--memory", "cpu": "--cpus", "pids": "--pids-limit"}[controller]
            assert len(lines) == 1 and lines[0].startswith(f"Error: {name} needs the cgroup {controller} "
                                                           "controller, which this host does not have"), lines
            assert layout.pydock("ps", "-aq").stdout == ""  # nothing was created
    finally:
        _remove_all(layout)


def test_pause_is_refused_only_without_a_freezer(layout):
    try:
        assert _no_traceback(layout.pydock("run", "-d", "--network", "none", "--name", "pausable", "busybox", "sleep",
                                    "300")).returncode == 0
        res = _no_traceback(layout.pydock("pause", "pausable"))
        if "freezer" in layout.controllers:
            assert res.returncode == 0, res.stderr
            assert layout.pydock("ps", "--filter", "name=pausable", "--format", "{{.Status}}").stdout.strip() \
                .endswith("(Paused)")
            assert _no_traceback(layout.pydock("unpause", "pausable")).returncode == 0
        else:
            assert res.returncode == 1, res.stdout + res.stderr
            assert res.stderr.strip().count("\n") == 0 and "cgroup freezer controller" in res.stderr, res.stderr
            res = _no_traceback(layout.pydock("unpause", "pausable"))
            assert res.returncode == 1 and "cgroup freezer controller" in res.stderr, res.stderr
        assert layout.pydock("ps", "--filter", "name=pausable", "--format", "{{.Status}}").stdout.startswith("Up")
    finally:
        _remove_all(layout)


def test_info_lists_what_is_missing_and_what_does_not_work(layout):
    res = _no_traceback(layout.pydock("info"))
    assert res.returncode == 0, res.stderr
    missing = next(line for line in res.stdout.splitlines() if line.startswith("Cgroup Missing:"))
    for controller, what in (("memory", "--memory"), ("cpu", "--cpus"), ("pids", "--pids-limit"),
                             ("freezer", "pause")):
        assert (controller in missing and what in missing) == (controller not in layout.controllers), missing
    assert "Cgroup Driver: cgroupfs" in res.stdout
    version = {"none": "none", "v2-partial": "2"}.get(layout.name, "1")
    assert f"Cgroup Version: {version}\n" in res.stdout
