"""The Linux system calls a container is made of, through ctypes, each reporting itself to explain.

Python 3.11 has no ``os.unshare``/``os.setns`` and no ``mount``; these thin wrappers call libc.
Each function first describes the step with :func:`pydock_edu.explain.step`, then makes it, so the
``--explain`` output is produced by the very code that acts. With ``RECORD_ONLY`` set (a host
without the privileges, such as Binder), the steps are reported and not made.
"""

import ctypes
import os

from .. import explain

# Recording mode: report every step, make none (set by ``pydock --explain`` on a host without
# the privileges; inherited by the shim and the container's first process through the environment).
RECORD_ONLY = os.environ.get("PYDOCK_RECORD_ONLY") == "1"


def record_only():
    """Switch this process and the processes it starts to recording mode."""
    global RECORD_ONLY
    RECORD_ONLY = True
    os.environ["PYDOCK_RECORD_ONLY"] = "1"

# Namespace flags, from <linux/sched.h>.
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACE_NAMES = {
    CLONE_NEWNS: "mnt", CLONE_NEWUTS: "uts", CLONE_NEWIPC: "ipc", CLONE_NEWPID: "pid",
    CLONE_NEWNET: "net", CLONE_NEWCGROUP: "cgroup", CLONE_NEWUSER: "user",
}

# Mount flags, from <linux/mount.h>.
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_STRICTATIME = 1 << 24
MNT_DETACH = 2
_MOUNT_FLAG_NAMES = [
    (MS_RDONLY, "ro"), (MS_NOSUID, "nosuid"), (MS_NODEV, "nodev"), (MS_NOEXEC, "noexec"),
    (MS_REMOUNT, "remount"), (MS_BIND, "bind"), (MS_REC, "rec"), (MS_PRIVATE, "private"),
    (MS_SLAVE, "slave"), (MS_STRICTATIME, "strictatime"),
]

_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
PR_SET_PDEATHSIG = 1
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41}.get(os.uname().machine, 155)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(text):
    return None if text is None else os.fsencode(text)


def namespace_names(flags):
    return ",".join(name for flag, name in NAMESPACE_NAMES.items() if flags & flag)


def unshare(flags):
    """unshare(2): move this process into new namespaces (a new PID namespace takes its next child)."""
    explain.step("unshare", f"unshare({namespace_names(flags)})")
    if not RECORD_ONLY:
        _check(_libc.unshare(flags), "unshare")


def setns(fd, kind):
    """setns(2): join the namespace that the open file ``fd`` (a /proc/PID/ns/* file) refers to."""
    explain.step("setns", f"setns({kind})")
    if not RECORD_ONLY:
        _check(_libc.setns(fd, 0), f"setns {kind}")


def mount_flag_names(flags):
    return ",".join(name for flag, name in _MOUNT_FLAG_NAMES if flags & flag)


def mount(source, target, fstype=None, flags=0, data=None, shown=None):
    """mount(2): attach a filesystem (or a bind of a directory) at ``target``.

    ``shown``: the path that ``target`` (a ``/proc/self/fd/N`` name) stands for, for the explain step.
    """
    options = ",".join(x for x in (mount_flag_names(flags), data) if x)
    where = f"{target} = {shown}" if shown else target
    explain.step("mount", f"mount {fstype or source or 'none'} on {where}" + (f" ({options})" if options else ""))
    if not RECORD_ONLY:
        _check(_libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)), f"mount {target}")


# The new mount API (Linux 5.2+; mount_setattr 5.12+), whose syscall numbers are the same on every architecture.
_SYS_OPEN_TREE, _SYS_MOVE_MOUNT, _SYS_MOUNT_SETATTR = 428, 429, 442
_AT_FDCWD, _AT_EMPTY_PATH, _AT_RECURSIVE = -100, 0x1000, 0x8000
_OPEN_TREE_CLONE, _OPEN_TREE_CLOEXEC = 1, 0o2000000
_MOVE_MOUNT_F_EMPTY_PATH, _MOVE_MOUNT_T_EMPTY_PATH = 0x04, 0x40
_MOUNT_ATTR_RDONLY = 0x1


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def open_tree_clone(source):
    """open_tree(2) with OPEN_TREE_CLONE: a detached copy of the mounts at ``source`` (a recursive
    bind mount not attached anywhere yet); return its fd (-1 in recording mode)."""
    explain.step("mount", f"open_tree {source} (clone,rec): a bind mount not attached yet")
    if RECORD_ONLY:
        return -1
    fd = _libc.syscall(_SYS_OPEN_TREE, _AT_FDCWD, _b(source),
                       _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC | _AT_RECURSIVE)
    if fd < 0:
        _check(-1, f"open_tree {source}")
    return fd


def make_tree_readonly(tree_fd, shown):
    """mount_setattr(2) MOUNT_ATTR_RDONLY on every mount of a detached tree (``shown`` names it)."""
    explain.step("mount", f"mount_setattr {shown} (ro,rec)")
    if not RECORD_ONLY:
        attr = _MountAttr(_MOUNT_ATTR_RDONLY, 0, 0, 0)
        _check(_libc.syscall(_SYS_MOUNT_SETATTR, tree_fd, b"", _AT_EMPTY_PATH | _AT_RECURSIVE,
                             ctypes.byref(attr), ctypes.sizeof(attr)), f"mount_setattr {shown}")


def move_mount(tree_fd, target_fd, source, shown):
    """move_mount(2): attach the detached tree ``tree_fd`` (of ``source``) on the object ``target_fd``
    holds (``shown`` is its path), with no path looked up."""
    where = f"/proc/self/fd/{target_fd} = {shown}" if target_fd >= 0 else shown
    explain.step("mount", f"move_mount {source} on {where}")
    if not RECORD_ONLY:
        _check(_libc.syscall(_SYS_MOVE_MOUNT, tree_fd, b"", target_fd, b"",
                             _MOVE_MOUNT_F_EMPTY_PATH | _MOVE_MOUNT_T_EMPTY_PATH), f"move_mount {shown}")


def umount(target, flags=0):
    """umount2(2): detach the filesystem at ``target`` (MNT_DETACH: lazily, once unused)."""
    explain.step("mount", f"umount {target}" + (" (detach)" if flags & MNT_DETACH else ""))
    if not RECORD_ONLY:
        _check(_libc.umount2(_b(target), flags), f"umount {target}")


def pivot_root(new_root, put_old):
    """pivot_root(2): make ``new_root`` the root of this mount namespace."""
    explain.step("pivot_root", f"pivot_root({new_root}, {put_old})")
    if not RECORD_ONLY:
        _check(_libc.syscall(_SYS_PIVOT_ROOT, _b(new_root), _b(put_old)), "pivot_root")


def sethostname(name):
    """sethostname(2): set the hostname of this UTS namespace."""
    explain.step("uts", f"sethostname({name!r})")
    if not RECORD_ONLY:
        data = name.encode()
        _check(_libc.sethostname(data, len(data)), "sethostname")


def set_parent_death_signal(signum):
    """prctl(PR_SET_PDEATHSIG): get ``signum`` when the parent (the shim) dies."""
    if not RECORD_ONLY:
        _check(_libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0), "prctl")


def mknod_char(path, major, minor, mode=0o666):
    """mknod(2): create a character device node."""
    explain.step("mknod", f"mknod {path} c {major} {minor}")
    if not RECORD_ONLY:
        os.mknod(path, mode | 0o020000, os.makedev(major, minor))
        os.chmod(path, mode)


def set_credentials(uid, gid, groups):
    """setgroups(2), setgid(2), setuid(2): become the container's user (groups first, uid last)."""
    explain.step("credentials", f"setgroups({groups}) setgid({gid}) setuid({uid})")
    if not RECORD_ONLY:
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)


def execve(program, args, env):
    """execve(2): replace this process with ``program``. In recording mode, end here instead."""
    explain.step("exec", f"execve({program!r}, {args!r})")
    if RECORD_ONLY:
        explain.close_inherited_fd()
        os._exit(0)
    explain.close_inherited_fd()
    os.execve(program, args, env)


def loopback_up():
    """ioctl(SIOCSIFFLAGS): bring up ``lo`` in this (new, empty) network namespace."""
    import fcntl
    import socket
    import struct

    explain.step("ioctl", "ip link set lo up (SIOCSIFFLAGS IFF_UP)")
    if RECORD_ONLY:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, _SIOCGIFFLAGS, request)[:18])[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | _IFF_UP))


def kill(pid, signum):
    """kill(2): send a signal to a process."""
    import signal

    try:
        name = signal.Signals(signum).name
    except ValueError:  # a real-time signal (SIGRTMIN+n) has no name of its own
        name = str(signum)
    explain.step("signal", f"kill({pid}, {name})")
    if not RECORD_ONLY:
        os.kill(pid, signum)
