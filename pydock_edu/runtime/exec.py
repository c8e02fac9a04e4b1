"""``exec``: run another process inside a running container.

A helper process (started by :func:`.spawn.helper`, never forked from the caller) joins the
container's cgroup, then its namespaces with setns(2): IPC, UTS, network, cgroup, PID and, last,
mount, which also puts it in the container's root directory. A process cannot change its own
PID namespace, only its children's, so the helper then forks; the child becomes the user and
executes the command while the helper waits and reports its exit code. Every module the helper
needs is imported before setns: after joining the mount namespace, the host's Python library is
no longer visible.
"""

import fcntl
import json
import os
import select
import sys

from .. import explain
from ..errors import PydockError
from . import init, linux, users

NAMESPACES = ("ipc", "uts", "net", "cgroup", "pid", "mnt")


def main():
    spec = json.loads(sys.argv[1])
    explain.write_to_inherited_fd()
    error_r, error_w = os.pipe()
    try:
        enter(spec)
    except (OSError, PydockError) as e:
        _cannot_exec(e)
    if spec["detach"]:
        if os.fork():
            os._exit(0)
        _detach_stdio()  # the caller's pipes and terminal must not stay open while the command runs
    terminal = os.openpty() if spec["tty"] and not spec["detach"] else None
    pid = os.fork()
    if pid == 0:
        os.close(error_r)
        if terminal:
            _use_terminal(*terminal)
        _child(spec, error_w)
    os.close(error_w)
    error = b"".join(iter(lambda: os.read(error_r, 65536), b""))  # all of it: a long name makes a long message
    if terminal:
        os.close(terminal[1])
        _relay_terminal(terminal[0])
    _, status = os.waitpid(pid, 0)
    if error:
        _cannot_exec(json.loads(error)["error"])
    code = os.waitstatus_to_exitcode(status)
    sys.exit(128 - code if code < 0 else code)


def _cannot_exec(reason):
    """An exec that never ran its command exits 126, whatever the cause (not found, a directory...).

    Docker's daemon records 126 for an exec that fails to start and writes the reason into the
    exec's output stream, so its client prints it on stdout (moby: daemon/exec.go, and
    api/server/router/container/exec.go postContainerExecStart).
    """
    sys.stdout.write(f"OCI runtime exec failed: {reason}\n")
    sys.stdout.flush()
    sys.exit(126)


def enter(spec):
    """Join the container's cgroup and namespaces (the namespace files are opened first)."""
    fds = {kind: os.open(f"/proc/{spec['pid']}/ns/{kind}", os.O_RDONLY) for kind in NAMESPACES}
    for directory in spec["cgroups"]:
        from .cgroups import write

        write(os.path.join(directory, "cgroup.procs"), os.getpid())
    for kind in NAMESPACES:
        linux.setns(fds[kind], kind)
        os.close(fds[kind])


def _detach_stdio():
    """``exec -d``: leave the caller's session and point stdin, stdout and stderr at /dev/null."""
    os.setsid()
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _use_terminal(master, slave):
    """In the child: make the pseudo-terminal's slave side its controlling terminal and stdio."""
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, init.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)


def _relay_terminal(master):
    """Copy our stdin to the terminal and the terminal's output to our stdout until it closes."""
    watch = [master, 0]
    while True:
        ready, _, _ = select.select(watch, [], [])
        if master in ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the command and everything on its terminal have exited
                data = b""
            if not data:
                return
            os.write(1, data)
        if 0 in ready:
            data = os.read(0, 65536)
            if data:
                os.write(master, data)
            else:
                watch.remove(0)


def _child(spec, error_w):
    try:
        uid, gid, groups, home = users.resolve(spec["user"])
        env = dict(item.split("=", 1) for item in spec["env"] if "=" in item)
        env.setdefault("HOME", home or "/root")
        linux.set_credentials(uid, gid, groups)
        os.chdir(spec["cwd"] or "/")
        program = init.find_executable(spec["args"][0], env.get("PATH", "/usr/bin:/bin"))
        init.default_signals()
        linux.execve(program, spec["args"], env)
    except PydockError as e:
        os.write(error_w, json.dumps({"error": str(e), "code": e.exit_code}).encode())
    except FileNotFoundError as e:
        os.write(error_w, json.dumps({"error": f"exec: {e.strerror.lower()}: {e.filename}", "code": 127}).encode())
    except OSError as e:
        os.write(error_w, json.dumps({"error": f"exec: {e.strerror.lower()}", "code": 126}).encode())
    os._exit(127)
