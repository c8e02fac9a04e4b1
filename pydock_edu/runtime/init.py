"""The container's first process, from fork to execve.

The shim forks this process after ``unshare(CLONE_NEWPID)``, so it is PID 1 of a new PID
namespace. In order, it: joins the container's cgroup, unshares the other namespaces, waits for
the engine to plug in the network, builds its root filesystem and pivots into it, sets the
hostname, becomes the container's user, and executes the command. If any step fails before
execve, it tells the shim why over ``sync`` and exits with Docker's code for it.
"""

import json
import os
import signal

from .. import explain
from ..errors import PydockError
from . import linux, rootfs, users

TIOCSCTTY = 0x540E
TIOCSWINSZ = 0x5414
TIOCSPTLCK = 0x40045431
TIOCGPTN = 0x80045430


def run(spec, cgroup, stdio, sync):
    """Become the container (never returns)."""
    try:
        _become_container(spec, cgroup, stdio, sync)
    except PydockError as e:
        _fail(sync, str(e), e.exit_code)
    except BaseException as e:  # anything else is an engine failure, reported in one line
        _fail(sync, f"container init: {e}", 125)


def _fail(sync, message, code):
    try:
        sync.sendall(json.dumps({"error": message, "code": code}).encode() + b"\n")
    finally:
        os._exit(code)


def _become_container(spec, cgroup, stdio, sync):
    os.setsid()
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
    # If the shim dies, so does the container: no container is ever left unsupervised.
    linux.set_parent_death_signal(signal.SIGKILL)
    cgroup.add(0)
    _enter_namespaces(spec, sync)
    rootfs.setup(spec)
    if spec["tty"]:
        _make_terminal(sync, spec.get("console_size"))
    linux.sethostname(spec["hostname"])
    uid, gid, groups, home = users.resolve(spec["user"])
    env = _environment(spec, home)
    workdir = spec["cwd"] or "/"
    os.makedirs(workdir, exist_ok=True)
    linux.set_credentials(uid, gid, groups)
    os.chdir(workdir)
    _exec(spec["args"], env)


def _make_terminal(sync, size):
    """Open a pseudo-terminal in the container's own /dev/pts, make it our controlling terminal
    and stdio, and pass the master side to the shim over ``sync`` (SCM_RIGHTS), as runc does."""
    import fcntl
    import socket
    import struct

    explain.step("tty", "open /dev/ptmx; the slave /dev/pts/N becomes stdin, stdout, stderr and the controlling terminal")
    if linux.RECORD_ONLY:
        return
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    number = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0" * 4))[0]
    slave = os.open(f"/dev/pts/{number}", os.O_RDWR)
    if size:
        fcntl.ioctl(slave, TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    fcntl.ioctl(slave, TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)
    socket.send_fds(sync, [b'{"pty": true}\n'], [master])
    os.close(master)


def _enter_namespaces(spec, sync):
    """unshare(2) the namespaces the container owns; join those it shares with another container."""
    flags = linux.CLONE_NEWNS | linux.CLONE_NEWUTS | linux.CLONE_NEWIPC | linux.CLONE_NEWCGROUP
    network = spec["network"]
    if network == "new":
        flags |= linux.CLONE_NEWNET
    linux.unshare(flags)
    if network == "new":
        linux.loopback_up()
    if network.startswith("/proc/"):
        fd = os.open(network, os.O_RDONLY)
        linux.setns(fd, "net")
        os.close(fd)
    if spec["wait_for_network"]:
        sync.sendall(b'{"netns": true}\n')
        if sync.recv(16) != b"go\n":
            os._exit(125)


def _environment(spec, home):
    env = dict(item.split("=", 1) if "=" in item else (item, "") for item in spec["env"])
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env.setdefault("HOSTNAME", spec["hostname"])
    env.setdefault("HOME", home or "/root")
    if spec["tty"]:
        env.setdefault("TERM", "xterm")
    return env


def find_executable(name, path):
    """Look ``name`` up in $PATH as execvp(3) does; raise Docker's 127 if it is nowhere."""
    if "/" in name or linux.RECORD_ONLY:  # nothing to look in while recording: no container root
        return name
    for directory in path.split(":"):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate):
            return candidate
    raise PydockError(f'exec: "{name}": executable file not found in $PATH', 127)


def default_signals():
    """Give the command a clean signal state, as runc does: every signal back to its default action
    (``signal(sig, SIG_DFL)``) and none blocked (``sigprocmask(SIG_SETMASK, {})``).

    Dispositions set to "ignore" survive execve(2): Python ignores SIGPIPE and SIGXFSZ, and a shell
    ignores SIGINT and SIGQUIT in a background job, so without this the container's processes would
    inherit them (a ``trap`` on them would never fire; ``yes | head -1`` would not end by SIGPIPE).
    Handlers are reset by execve anyway; the mask is inherited as is.
    """
    explain.step("signal", "reset every signal to its default action and unblock all (sigprocmask)")
    if linux.RECORD_ONLY:
        return
    for signum in range(1, signal.NSIG):
        if signum in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(signum, signal.SIG_DFL)
        except (OSError, ValueError):  # the C library's own real-time signals (32, 33)
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _exec(args, env):
    """execve(2): replace this process with the container's command."""
    if not args:
        raise PydockError("no command specified")
    program = find_executable(args[0], env["PATH"])
    default_signals()
    try:
        linux.execve(program, args, env)
    except FileNotFoundError:
        raise PydockError(f'exec: "{args[0]}": stat {program}: no such file or directory', 127) from None
    except PermissionError:
        raise PydockError(f'exec: "{args[0]}": permission denied', 126) from None
    except OSError as e:
        raise PydockError(f'exec: "{args[0]}": {e.strerror.lower()}', 126) from None
