"""What ``pydock info`` and ``pydock version`` report: the host, its privileges, what can work here."""

import os
import platform


def privileges():
    """The kernel features pydock needs, each with whether this process has it and why not."""
    checks = {}
    checks["root"] = (os.geteuid() == 0, "containers need root (CAP_SYS_ADMIN) to unshare namespaces and mount")
    checks["overlayfs"] = (_has_filesystem("overlay"), "the kernel has no overlay filesystem (modprobe overlay)")
    from .runtime import cgroups

    checks["cgroups"] = (os.access(cgroups.CGROUP_ROOT, os.W_OK) and cgroups.version() > 0,
                         f"no writable cgroup hierarchy at {cgroups.CGROUP_ROOT}: no memory, CPU or pids limits")
    checks["namespaces"] = (os.path.exists("/proc/self/ns/pid") and os.geteuid() == 0,
                            "creating PID/mount/network namespaces needs root")
    return checks


def missing_privileges():
    """Why containers cannot run on this host (empty when they can)."""
    return [why for ok, why in privileges().values() if not ok]


def _has_filesystem(name):
    try:
        with open("/proc/filesystems") as f:
            return any(line.split()[-1] == name for line in f if line.strip())
    except OSError:
        return False


def info(engine):
    from . import __version__, state
    from .runtime import cgroups

    records = engine.containers(all=True)
    statuses = [r["State"]["Status"] for r in records]
    checks = privileges()
    missing = cgroups.missing()
    return {
        "ID": _machine_id(),
        "Containers": len(records),
        "ContainersRunning": statuses.count("running"),
        "ContainersPaused": statuses.count("paused"),
        "ContainersStopped": len(records) - statuses.count("running") - statuses.count("paused"),
        "Images": len(engine.images.image_ids()),
        "Driver": "overlay",
        "DockerRootDir": state.root(),
        "CgroupDriver": cgroups.driver(),
        "CgroupParent": cgroups.parent_path(),
        "Init": "systemd" if cgroups.systemd_host() else "other",
        "CgroupVersion": str(cgroups.version() or "none"),
        "CgroupControllers": cgroups.controllers(),
        "CgroupDelegated": cgroups.delegated(),
        "CgroupMissing": missing,
        "KernelVersion": platform.release(),
        "OperatingSystem": _os_name(),
        "OSType": "linux",
        "Architecture": platform.machine(),
        "NCPU": os.cpu_count(),
        "MemTotal": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "Name": platform.node(),
        "ServerVersion": __version__,
        "Privileges": {name: ok for name, (ok, _) in checks.items()},
        "Warnings": [why for ok, why in checks.values() if not ok]
        + [f"no cgroup {name} controller here: {what} cannot work" for name, what in missing.items()],
    }


def _machine_id():
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            pass
    return ""


def _os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def version():
    import sys

    from . import API_VERSION, __version__

    return {
        "Client": {"Version": __version__, "ApiVersion": API_VERSION, "PythonVersion": platform.python_version(),
                   "Os": "linux", "Arch": platform.machine()},
        "Server": {"Engine": "pydock (native, daemonless)", "Version": __version__, "ApiVersion": API_VERSION,
                   "KernelVersion": platform.release(), "Os": "linux", "Arch": platform.machine(),
                   "Python": sys.version.split()[0]},
    }
