"""Control groups: the limits of a container (memory, CPU, processes) and its freezer.

A cgroup is a directory in the cgroup filesystem; a process joins it by writing its PID to
``cgroup.procs``, and limits are values written to control files. Two layouts exist:

* cgroup v1 (this project's lab VM): one hierarchy per controller, so one directory per
  controller: ``/sys/fs/cgroup/memory/pydock/<id>``, ``/sys/fs/cgroup/pids/pydock/<id>``...
* cgroup v2 (current Debian/Ubuntu): one unified hierarchy, ``/sys/fs/cgroup/pydock/<id>``.

:class:`Cgroup` hides the difference behind the same methods; every file written is reported to
explain.
"""

import errno
import os
import time

from .. import explain
from . import linux

CGROUP_ROOT = "/sys/fs/cgroup"
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids", "freezer", "blkio")
CPU_PERIOD_US = 100_000


def version():
    """2 when /sys/fs/cgroup is the unified (v2) hierarchy, else 1."""
    return 2 if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")) else 1


def parent_name():
    return os.environ.get("PYDOCK_CGROUP_PARENT") or "pydock"


def controllers():
    """The controllers this host offers, as ``pydock info`` reports them."""
    if version() == 2:
        with open(os.path.join(CGROUP_ROOT, "cgroup.controllers")) as f:
            return f.read().split()
    return [c for c in V1_CONTROLLERS if os.path.isdir(os.path.join(CGROUP_ROOT, c))]


def write(path, value):
    """Write one value to a cgroup control file."""
    explain.step("cgroup", f"echo {value} > {path}")
    if not linux.RECORD_ONLY:
        with open(path, "w") as f:
            f.write(str(value))


def read(path):
    with open(path) as f:
        return f.read()


class Cgroup:
    """The cgroup of one container."""

    def __init__(self, container_id):
        self.v2 = version() == 2
        rel = os.path.join(parent_name(), container_id)
        if self.v2:
            self.dirs = {"unified": os.path.join(CGROUP_ROOT, rel)}
        else:
            self.dirs = {}
            seen = set()
            for controller in V1_CONTROLLERS:
                base = os.path.join(CGROUP_ROOT, controller)
                if os.path.isdir(base) and os.path.realpath(base) not in seen:
                    seen.add(os.path.realpath(base))
                    self.dirs[controller] = os.path.join(base, rel)

    def _dir(self, controller):
        return self.dirs["unified" if self.v2 else controller]

    def create(self, memory=0, nano_cpus=0, pids_limit=0):
        """mkdir the cgroup (one per v1 controller) and write the limits into it."""
        if self.v2:
            self._enable_v2_controllers()
        for path in self.dirs.values():
            explain.step("cgroup", f"mkdir {path}")
            if not linux.RECORD_ONLY:
                os.makedirs(path, exist_ok=True)
        if memory:
            if self.v2:
                write(os.path.join(self._dir("memory"), "memory.max"), memory)
                write(os.path.join(self._dir("memory"), "memory.swap.max"), 0)
            else:
                write(os.path.join(self._dir("memory"), "memory.limit_in_bytes"), memory)
                swap = os.path.join(self._dir("memory"), "memory.memsw.limit_in_bytes")
                if os.path.exists(swap):
                    write(swap, memory)
        if nano_cpus:
            quota = nano_cpus * CPU_PERIOD_US // 1_000_000_000
            if self.v2:
                write(os.path.join(self._dir("cpu"), "cpu.max"), f"{quota} {CPU_PERIOD_US}")
            else:
                write(os.path.join(self._dir("cpu"), "cpu.cfs_period_us"), CPU_PERIOD_US)
                write(os.path.join(self._dir("cpu"), "cpu.cfs_quota_us"), quota)
        if pids_limit and pids_limit > 0:
            write(os.path.join(self._dir("pids"), "pids.max"), pids_limit)

    def _enable_v2_controllers(self):
        """v2: a child cgroup gets a controller only if its parent lists it in subtree_control."""
        parent = os.path.join(CGROUP_ROOT, parent_name())
        if linux.RECORD_ONLY:
            return
        os.makedirs(parent, exist_ok=True)
        for directory in (CGROUP_ROOT, parent):
            control = os.path.join(directory, "cgroup.subtree_control")
            enabled = read(control).split()
            wanted = [c for c in ("cpu", "memory", "pids") if c not in enabled]
            if wanted:
                write(control, " ".join("+" + c for c in wanted))

    def add(self, pid):
        """Move process ``pid`` (0: the calling process) into the cgroup."""
        for path in self.dirs.values():
            write(os.path.join(path, "cgroup.procs"), pid)

    def freeze(self):
        """Stop every process of the cgroup (the freezer), as ``pause`` does."""
        if self.v2:
            write(os.path.join(self._dir("freezer"), "cgroup.freeze"), 1)
        else:
            write(os.path.join(self._dir("freezer"), "freezer.state"), "FROZEN")
        self._wait_frozen(True)

    def thaw(self):
        """Let the processes of the cgroup run again, as ``unpause`` does.

        The cgroup may vanish meanwhile (its container died and the shim removed it): then there is
        nothing left to thaw.
        """
        try:
            if self.v2:
                write(os.path.join(self._dir("freezer"), "cgroup.freeze"), 0)
            else:
                write(os.path.join(self._dir("freezer"), "freezer.state"), "THAWED")
            self._wait_frozen(False)
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ENODEV):
                raise

    def _wait_frozen(self, frozen):
        if linux.RECORD_ONLY:
            return
        for _ in range(500):
            if self.frozen() == frozen:
                return
            time.sleep(0.002)

    def frozen(self):
        if self.v2:
            return "frozen 1" in read(os.path.join(self._dir("freezer"), "cgroup.events"))
        return read(os.path.join(self._dir("freezer"), "freezer.state")).strip() == "FROZEN"

    def pids(self):
        """The host PIDs of every process in the cgroup."""
        try:
            return [int(x) for x in read(os.path.join(self._dir("pids"), "cgroup.procs")).split()]
        except FileNotFoundError:
            return []

    def oom_killed(self):
        """Whether the kernel's OOM killer killed a process of this cgroup."""
        name = "memory.events" if self.v2 else "memory.oom_control"
        try:
            text = read(os.path.join(self._dir("memory"), name))
        except FileNotFoundError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and int(value) > 0:
                return True
        return False

    def exists(self):
        return any(os.path.isdir(p) for p in self.dirs.values())

    def remove(self):
        """rmdir the cgroup once its processes are gone (a cgroup with members cannot be removed)."""
        for path in self.dirs.values():
            if not os.path.isdir(path):
                continue
            explain.step("cgroup", f"rmdir {path}")
            if linux.RECORD_ONLY:
                continue
            for _ in range(200):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:  # removed meanwhile by another process (the container's shim)
                    break
                except OSError as e:
                    if e.errno == errno.ENOENT:  # removed meanwhile (by the shim, or rm -f)
                        break
                    if e.errno != errno.EBUSY:
                        raise
                    time.sleep(0.005)

    def kill_all(self):
        """SIGKILL every process of the cgroup (thawed first: a frozen one dies only once it runs)
        and wait, at most a few seconds, until they are gone, so the cgroup can be removed."""
        import signal

        if linux.RECORD_ONLY or not self.exists():
            return
        signalled = set()
        for _ in range(500):
            pids = [pid for pid in self.pids() if pid not in signalled]
            if not pids and not self.pids():
                return
            for pid in pids:
                try:
                    linux.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if pids and not signalled:
                self.thaw()
            signalled.update(pids)
            time.sleep(0.01)
