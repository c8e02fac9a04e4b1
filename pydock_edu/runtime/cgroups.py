"""Control groups: the limits of a container (memory, CPU, processes) and its freezer.

A cgroup is a directory in the cgroup filesystem; a process joins it by writing its PID to
``cgroup.procs``, and limits are values written to control files. Two layouts exist:

* cgroup v1 (this project's lab VM): one hierarchy per controller, so one directory per
  controller: ``/sys/fs/cgroup/memory/pydock/<id>``, ``/sys/fs/cgroup/pids/pydock/<id>``...
* cgroup v2 (current Debian/Ubuntu): one unified hierarchy, ``/sys/fs/cgroup/pydock/<id>``.
  A controller reaches a child only when its parent lists it in ``cgroup.subtree_control``, and a
  cgroup that hands controllers down may hold no processes itself (the "no internal processes"
  rule): so processes live only in the leaves, ``<id>``, never in ``pydock``.

What each limit is on either layout:

=====================  ==========================================  ======================================
what                   v1 file                                     v2 file
=====================  ==========================================  ======================================
``-m``                 memory.limit_in_bytes (+ memsw, no swap)    memory.max, memory.swap.max = 0
OOMKilled              memory.oom_control ``oom_kill N``           memory.events ``oom_kill N``
``--cpus``             cpu.cfs_quota_us / cpu.cfs_period_us        cpu.max ``QUOTA PERIOD``
``--pids-limit``       pids.max                                    pids.max
pause / unpause        freezer.state FROZEN / THAWED               cgroup.freeze 1/0, cgroup.events frozen
top, ps, kill          cgroup.procs (of any mounted hierarchy)     cgroup.procs
=====================  ==========================================  ======================================

A host need not offer every controller (a container host, a partial v2 delegation, an empty
/sys/fs/cgroup): pydock then works without it and refuses only the flag that needs it
(:func:`require`); ``pydock info`` says what is missing (:func:`missing`). Without any hierarchy,
a container's processes are found through its PID namespace instead of ``cgroup.procs``.

Where the cgroups live is docs/CGROUPS.md's subject; :class:`Cgroup` hides the layouts behind the
same methods, and every file written is reported to explain.
"""

import errno
import os
import platform
import time

from .. import explain
from . import linux

CGROUP_ROOT = "/sys/fs/cgroup"
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids", "freezer", "blkio")
V2_WANTED = ("cpu", "memory", "pids")  # the controllers pydock enables for its containers
CPU_PERIOD_US = 100_000

# The controllers pydock uses, and what does not work without each.
NEEDED_FOR = {
    "memory": "-m/--memory, OOMKilled",
    "cpu": "--cpus",
    "pids": "--pids-limit",
    "freezer": "pause/unpause",
}


def version():
    """2 when /sys/fs/cgroup is the unified (v2) hierarchy, 1 when it holds v1 hierarchies, 0 when neither."""
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        return 2
    return 1 if _v1_mounted() else 0


def _v1_mounted():
    return [c for c in V1_CONTROLLERS if os.path.exists(os.path.join(CGROUP_ROOT, c, "cgroup.procs"))]


def parent_name():
    return os.environ.get("PYDOCK_CGROUP_PARENT") or "pydock"


def driver():
    """How the cgroups are managed: ``cgroupfs``, pydock writes the directories itself, on systemd too.

    On a systemd host, pydock's subtree ``/sys/fs/cgroup/pydock`` sits beside systemd's slices, as
    podman's and Docker's cgroupfs managers put theirs; docs/CGROUPS.md says why that is safe across
    ``systemctl daemon-reload`` and what a systemd driver (a delegated scope per container) would add.
    """
    return "cgroupfs"


def systemd_host():
    """Whether systemd is the init system (it then owns the root cgroup and its slices)."""
    return os.path.isdir("/run/systemd/system")


def parent_path():
    """The directory under which the containers' cgroups are made (the first hierarchy's, on v1)."""
    found = version()
    if found == 2:
        return os.path.join(CGROUP_ROOT, parent_name())
    mounted = _v1_mounted()
    return os.path.join(CGROUP_ROOT, mounted[0], parent_name()) if mounted else ""


def controllers():
    """The controllers this host offers (v2: the root's ``cgroup.controllers``; v1: the mounted hierarchies).

    On v2 the freezer is a core file (``cgroup.freeze``, Linux 5.2+), not a controller; it is listed
    as ``freezer`` so that both versions read alike.
    """
    found = version()
    if found == 2:
        names = read(os.path.join(CGROUP_ROOT, "cgroup.controllers")).split()
        return names + (["freezer"] if _kernel_at_least(5, 2) else [])
    return _v1_mounted() if found == 1 else []


def delegated():
    """The controllers the hierarchy's root hands to its children right now (v2: its ``subtree_control``).

    On v1 every mounted hierarchy is the controller's own, so this is :func:`controllers`.
    """
    if version() != 2:
        return controllers()
    names = read(os.path.join(CGROUP_ROOT, "cgroup.subtree_control")).split()
    return names + (["freezer"] if _kernel_at_least(5, 2) else [])


def missing():
    """The controllers pydock uses that this host lacks, each with what does not work without it."""
    have = set(controllers())
    return {name: what for name, what in NEEDED_FOR.items() if name not in have}


def require(controller, what, exit_code=125):
    """Refuse ``what`` (a flag or a command) in one line when the host has no ``controller``.

    Recording mode refuses nothing: it shows the steps a host with the controller would take.
    """
    if controller not in controllers() and not linux.RECORD_ONLY:
        from ..errors import PydockError

        raise PydockError(f"{what} needs the cgroup {controller} controller, which this host does not have "
                          f"({_where(controller)}); see pydock info", exit_code)


def require_limits(memory=0, nano_cpus=0, pids_limit=0):
    """Refuse the limit flags this host cannot enforce, before anything is created."""
    for value, controller, flag in ((memory, "memory", "--memory"), (nano_cpus, "cpu", "--cpus"),
                                    (pids_limit, "pids", "--pids-limit")):
        if value and (controller != "pids" or value > 0):
            require(controller, flag)


def _where(controller):
    found = version()
    if found == 0:
        return f"no cgroup hierarchy is mounted at {CGROUP_ROOT}"
    if found == 1:
        return f"nothing mounted at {os.path.join(CGROUP_ROOT, controller)}"
    if controller == "freezer":
        return "cgroup v2 has no cgroup.freeze before Linux 5.2"
    return f"not in {os.path.join(CGROUP_ROOT, 'cgroup.controllers')}"


def _kernel_at_least(major, minor):
    try:
        found = tuple(int(x) for x in platform.release().split("-")[0].split(".")[:2])
    except ValueError:
        return True
    return found >= (major, minor)


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
    """The cgroup of one container: one directory on v2, one per mounted controller on v1, none without any."""

    def __init__(self, container_id):
        self.v2 = version() == 2
        self.rel = rel = os.path.join(parent_name(), container_id)
        self.dirs = {}  # one directory per hierarchy
        self._controls = {}  # controller -> the directory whose files control it
        if self.v2:
            self.dirs["unified"] = os.path.join(CGROUP_ROOT, rel)
            self._controls = dict.fromkeys(controllers(), self.dirs["unified"])
            return
        by_hierarchy = {}
        for controller in _v1_mounted():
            base = os.path.join(CGROUP_ROOT, controller)
            hierarchy = os.path.realpath(base)  # cpu and cpuacct are often one hierarchy
            if hierarchy not in by_hierarchy:
                by_hierarchy[hierarchy] = self.dirs[controller] = os.path.join(base, rel)
            self._controls[controller] = by_hierarchy[hierarchy]

    def _dir(self, controller):
        """The directory whose files control ``controller``, or None when the host has no such controller.

        Recording mode plans the missing ones as they would be on v2, so that the steps still show.
        """
        found = self._controls.get(controller)
        if found is None and linux.RECORD_ONLY:
            return self.dirs.get("unified") or os.path.join(CGROUP_ROOT, self.rel)
        return found

    def create(self, memory=0, nano_cpus=0, pids_limit=0):
        """mkdir the cgroup (one per v1 controller) and write the limits into it."""
        require_limits(memory, nano_cpus, pids_limit)  # the engine checked; the host may have changed since
        if self.v2:
            self._enable_v2_controllers()
        for path in self.dirs.values():
            explain.step("cgroup", f"mkdir {path}")
            if not linux.RECORD_ONLY:
                os.makedirs(path, exist_ok=True)
        if self.v2 and not linux.RECORD_ONLY:
            self._check_v2_controllers(memory, nano_cpus, pids_limit)
        if memory:
            directory = self._dir("memory")
            if self.v2:
                write(os.path.join(directory, "memory.max"), memory)
                swap = os.path.join(directory, "memory.swap.max")  # absent without swap accounting
                if linux.RECORD_ONLY or os.path.exists(swap):
                    write(swap, 0)  # no swap: the limit is the limit, as memsw is on v1
            else:
                write(os.path.join(directory, "memory.limit_in_bytes"), memory)
                swap = os.path.join(directory, "memory.memsw.limit_in_bytes")
                if os.path.exists(swap):
                    write(swap, memory)
        if nano_cpus:
            directory = self._dir("cpu")
            quota = nano_cpus * CPU_PERIOD_US // 1_000_000_000
            if self.v2:
                write(os.path.join(directory, "cpu.max"), f"{quota} {CPU_PERIOD_US}")
            else:
                write(os.path.join(directory, "cpu.cfs_period_us"), CPU_PERIOD_US)
                write(os.path.join(directory, "cpu.cfs_quota_us"), quota)
        if pids_limit and pids_limit > 0:
            write(os.path.join(self._dir("pids"), "pids.max"), pids_limit)

    def _enable_v2_controllers(self):
        """v2: a child cgroup gets a controller only if its parent lists it in subtree_control.

        So every cgroup from the root down to the parent (``pydock``, or each level of a nested
        ``PYDOCK_CGROUP_PARENT``) hands them down. Only controllers the host offers are asked for, one
        at a time: one that cannot be enabled (a partial delegation) leaves the others working.
        """
        parent = os.path.join(CGROUP_ROOT, parent_name())
        if linux.RECORD_ONLY:
            return
        os.makedirs(parent, exist_ok=True)
        offered = controllers()
        chain = [CGROUP_ROOT]
        for part in parent_name().strip("/").split("/"):
            chain.append(os.path.join(chain[-1], part))
        for directory in chain:
            control = os.path.join(directory, "cgroup.subtree_control")
            enabled = read(control).split()
            for name in V2_WANTED:
                if name in offered and name not in enabled:
                    try:
                        write(control, "+" + name)
                    except OSError as e:
                        if e.errno not in (errno.EBUSY, errno.EINVAL, errno.ENOENT, errno.EOPNOTSUPP):
                            raise

    def _check_v2_controllers(self, memory, nano_cpus, pids_limit):
        """v2: the new cgroup's ``cgroup.controllers`` is what it really got; refuse a limit it cannot hold."""
        got = read(os.path.join(self.dirs["unified"], "cgroup.controllers")).split()
        for value, controller, flag in ((memory, "memory", "--memory"), (nano_cpus, "cpu", "--cpus"),
                                        (pids_limit, "pids", "--pids-limit")):
            if value and (controller != "pids" or value > 0) and controller not in got:
                self.remove()
                from ..errors import PydockError

                raise PydockError(f"{flag} needs the cgroup {controller} controller, which "
                                  f"{os.path.join(CGROUP_ROOT, parent_name())} could not enable")

    def add(self, pid):
        """Move process ``pid`` (0: the calling process) into the cgroup."""
        for path in self.dirs.values():
            write(os.path.join(path, "cgroup.procs"), pid)

    def freeze(self):
        """Stop every process of the cgroup (the freezer), as ``pause`` does."""
        require("freezer", "pause", exit_code=1)
        if self.v2:
            write(os.path.join(self._dir("freezer"), "cgroup.freeze"), 1)
        else:
            write(os.path.join(self._dir("freezer"), "freezer.state"), "FROZEN")
        self._wait_frozen(True)

    def thaw(self):
        """Let the processes of the cgroup run again, as ``unpause`` does.

        The cgroup may vanish meanwhile (its container died and the shim removed it): then there is
        nothing left to thaw; nor is there without a freezer.
        """
        if self._dir("freezer") is None:
            return
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
        """v2 freezes asynchronously: ``cgroup.events`` says ``frozen 1`` once every process has stopped."""
        if linux.RECORD_ONLY:
            return
        deadline = time.monotonic() + 5
        while self.frozen() != frozen and time.monotonic() < deadline:
            time.sleep(0.002)

    def frozen(self):
        directory = self._dir("freezer")
        if directory is None:
            return False
        if self.v2:
            return "frozen 1" in read(os.path.join(directory, "cgroup.events"))
        return read(os.path.join(directory, "freezer.state")).strip() == "FROZEN"

    def pids(self, init_pid=0):
        """The host PIDs of every process in the cgroup.

        Every hierarchy holds every process of the container, so any one's ``cgroup.procs`` will do.
        Without any hierarchy, the processes in the PID namespace of the container's PID 1
        (``init_pid``) are its processes.
        """
        if not self.dirs:
            return _pid_namespace_members(init_pid)
        path = self.dirs.get("pids") or next(iter(self.dirs.values()))
        try:
            return [int(x) for x in read(os.path.join(path, "cgroup.procs")).split()]
        except FileNotFoundError:
            return []

    def oom_killed(self):
        """Whether the kernel's OOM killer killed a process of this cgroup (never known without memory)."""
        directory = self._dir("memory")
        if directory is None:
            return False
        name = "memory.events" if self.v2 else "memory.oom_control"
        try:
            text = read(os.path.join(directory, name))
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


def _pid_namespace_members(init_pid):
    """The host PIDs of the processes in the PID namespace whose PID 1 is host PID ``init_pid``.

    Only a process that is PID 1 of a namespace other than ours counts as a container's init, so a
    recycled PID never names the host's own processes.
    """
    try:
        namespace = os.readlink(f"/proc/{init_pid}/ns/pid") if init_pid else None
        if namespace is None or namespace == os.readlink("/proc/self/ns/pid"):
            return []
        with open(f"/proc/{init_pid}/status") as f:
            nspid = next((line.split()[1:] for line in f if line.startswith("NSpid:")), [])
        if nspid[-1:] != ["1"]:
            return []
    except OSError:
        return []
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") == namespace:
                    members.append(int(entry))
            except OSError:
                pass
    return members
