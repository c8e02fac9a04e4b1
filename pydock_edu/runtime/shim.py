"""The shim: one small process that supervises one container, as podman's conmon does.

The engine starts it with ``python -S`` (few imports: it stays small for as long as the
container runs) and it:

1. forks once and lets its parent exit, so it belongs to no engine, CLI or Jupyter kernel;
2. creates the container's cgroup and forks the container's PID 1 into a new PID namespace
   (through a short-lived intermediate process; see :mod:`.init` for what PID 1 does);
3. answers the child's request for a network (the engine plugs in the veth), and learns from the
   child whether execve succeeded;
4. copies the container's stdout/stderr to the json-file log and to attached clients, and
   their input to the container's stdin;
5. when PID 1 exits, records the exit code, removes the cgroup and network, and honours ``--rm``.

A start that fails at any step is undone here: PID 1 is killed, the cgroup and the network
attachments are removed, and the container stays ``created`` with the reason in ``State.Error``.
That includes an engine that is killed halfway: its end of the handshake socket closes before it
said ``go``. And a container whose record disappears (its state directory deleted by hand) is
stopped, since no command could find it any more.
"""

import contextlib
import json
import os
import select
import signal
import socket
import sys
import time

from .. import container, events, explain, state
from ..network import release_container
from ..timefmt import format_time
from . import attach, health, init, linux
from .cgroups import Cgroup

TIOCSWINSZ = 0x5414
RECORD_CHECK_SECONDS = 2  # how often a running container's shim checks that its record still exists


def main():
    container_id = sys.argv[1]
    sync = socket.socket(fileno=int(os.environ.pop("PYDOCK_SYNC_FD")))
    attach_fd = os.environ.pop("PYDOCK_ATTACH_FD", None)
    for fd in (sync.fileno(), attach_fd):  # inherited from the engine; the container must not inherit them
        if fd is not None:
            os.set_inheritable(int(fd), False)
    if os.fork():
        os._exit(0)  # the engine waits for this exit; the shim lives on, re-parented to init
    explain.write_to_inherited_fd()
    Shim(container_id, sync, attach_fd).run()


class Shim:
    def __init__(self, container_id, sync, attach_fd):
        self.id = container_id
        self.sync = sync
        self.spec = state.read_json(os.path.join(container.directory(container_id), "spec.json"))
        self.cgroup = Cgroup(container_id)
        self.clients = {}  # socket -> FrameReader
        self.primary = None  # the client that started the container, if attached (stdin-once)
        if attach_fd is not None:
            self.primary = socket.socket(fileno=int(attach_fd))
            self.clients[self.primary] = attach.FrameReader()

    def run(self):
        self.pid = None
        try:
            message = self._start()
        except Exception as e:  # a step of the start failed (a limit the kernel refused, ...)
            message = {"error": f"failed to start the container: {e}", "code": 125}
        if "error" in message:
            self._failed_to_start(message)
            return
        record = container.update(self.id, self._mark_running)
        if record is None:  # removed while it started (rm -f of a container still starting)
            self._failed_to_start({"error": "the container was removed while it started", "code": 125})
            return
        health.start_monitor(record)
        self._send(self.sync, {"started": self.pid})
        self.sync.close()
        status = self._supervise()
        self._finish(status)

    def _start(self):
        """Make the cgroup, fork PID 1 and see it through to execve; return its last message.

        The engine answers the request for a network with ``go`` once the veth is plugged in. Any
        other answer, or none (its end of ``sync`` closed: the engine failed, or was killed), ends
        the start: the caller of ``_start`` undoes it, so no container waits for a network for ever.
        """
        self.cgroup.create(**self.spec["cgroup"])
        child_stdio, self.outputs, self.stdin = self._make_stdio()
        ours, theirs = socket.socketpair()
        self.pid = self._fork_pid1(child_stdio, ours, theirs)
        theirs.close()
        for fd in set(child_stdio):
            os.close(fd)
        pending = []
        try:
            while True:
                if not pending:
                    pending, fds = _read_messages(ours)
                message = pending.pop(0)
                if message.get("netns"):
                    self._send(self.sync, {"netns": self.pid})
                    answer = _read_line(self.sync)
                    if answer != b"go\n":
                        return _parse_answer(answer)
                    ours.sendall(answer)
                elif message.get("pty"):
                    self._use_terminal(fds[0])
                else:
                    return message
        finally:
            ours.close()

    def _fork_pid1(self, child_stdio, ours, theirs):
        """Fork the container's PID 1 into a new PID namespace; return its PID (as the host sees it).

        ``unshare(CLONE_NEWPID)`` puts the caller's *next children* in a new namespace. Right after
        forking PID 1, the shim joins its own PID namespace again with setns(2): otherwise, once the
        container's namespace has died, the shim could start neither threads nor processes (the
        network clean-up needs both).
        """
        own = os.open("/proc/self/ns/pid", os.O_RDONLY)
        linux.unshare(linux.CLONE_NEWPID)
        pid = os.fork()
        if pid == 0:
            os.close(own)
            ours.close()
            self.sync.close()
            init.run(self.spec, self.cgroup, child_stdio, theirs)
        linux.setns(own, "pid")
        os.close(own)
        return pid

    def _make_stdio(self):
        """Pipes between the container and the shim (with ``-t`` the container makes a terminal)."""
        stdin_r = os.open("/dev/null", os.O_RDONLY)
        stdin_w = None
        if self.spec["tty"]:
            return (stdin_r, stdin_r, stdin_r), {}, None
        if self.spec["open_stdin"]:
            os.close(stdin_r)
            stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        return (stdin_r, out_w, err_w), {out_r: attach.STDOUT, err_r: attach.STDERR}, stdin_w

    def _use_terminal(self, master):
        """The master side of the container's terminal, made inside the container and passed to us."""
        self.outputs = {master: attach.STDOUT}
        if self.spec["open_stdin"]:
            self.stdin = master

    @staticmethod
    def _resize(fd, size):
        import fcntl
        import struct

        fcntl.ioctl(fd, TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))

    @staticmethod
    def _send(sock, message):
        try:
            sock.sendall(json.dumps(message).encode() + b"\n")
        except OSError:
            pass  # the engine is gone; the record on disk still tells the truth

    def _mark_running(self, record):
        record["State"].update(Status="running", Running=True, Paused=False, Pid=self.pid,
                               StartedAt=format_time(time.time()), ExitCode=0, Error="")
        health.reset(record)
        record["Shim"] = {"Pid": os.getpid(), "StartTime": process_start_time(os.getpid()), "BootId": boot_id()}

    def _failed_to_start(self, message):
        """The start failed: undo it (PID 1, its cgroup, its network); the container stays 'created'."""
        if self.pid:
            _kill(self.pid)
            os.waitpid(self.pid, 0)
        self.cgroup.kill_all()
        self.cgroup.remove()

        def mark(record):
            record["State"].update(ExitCode=message["code"], Error=message["error"])

        record = container.update(self.id, mark)
        release_container(self.id, delete_links=True)
        self._send(self.sync, message)
        self.sync.close()
        if record and record["HostConfig"].get("AutoRemove"):
            container.remove_files(self.id)

    def _supervise(self):
        """Relay output and input until PID 1 has exited and its output is drained; return its status."""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = container.attach_socket(self.id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            os.unlink(path)
        listener.bind(path)
        listener.listen(8)
        self.log = open(os.path.join(container.directory(self.id), self.id + "-json.log"), "ab")
        self.partial = {attach.STDOUT: b"", attach.STDERR: b""}
        status = None
        while True:
            if status is None:
                status = _reaped(self.pid)
            if status is not None and not self.outputs:
                break
            if status is None and not os.path.exists(container.record_file(self.id)):
                self._orphaned()
            watch = [wake_r, listener, *self.outputs, *self.clients]
            ready, _, _ = select.select(watch, [], [], 0.5 if status is not None else RECORD_CHECK_SECONDS)
            for fd in ready:
                if fd == wake_r:
                    os.read(wake_r, 512)
                elif fd == listener:
                    client, _ = listener.accept()
                    self.clients[client] = attach.FrameReader()
                elif fd in self.outputs:
                    self._forward_output(fd)
                else:
                    self._client_input(fd)
            if status is not None and not ready:
                break  # output pipes held open by nobody we can wait for
        listener.close()
        with contextlib.suppress(FileNotFoundError):  # the state root may have been removed under us
            os.unlink(path)
        self._flush_log()
        self.log.close()
        return status

    def _orphaned(self):
        """The container's record was deleted under it (its state directory removed by hand): no
        command could see or stop the container any more, so stop it here, as its record says."""
        _kill(self.pid)
        self.cgroup.kill_all()

    def _forward_output(self, fd):
        stream = self.outputs[fd]
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's last user is gone
            data = b""
        if not data:
            del self.outputs[fd]
            os.close(fd)
            return
        self._log(stream, data)
        for client in list(self.clients):
            try:
                client.sendall(attach.frame(stream, data))
            except OSError:
                self._drop(client)

    def _log(self, stream, data):
        """Append complete lines to the json-file log, as Docker's json-file driver does."""
        now = format_time(time.time())
        name = "stdout" if stream == attach.STDOUT else "stderr"
        data = self.partial.get(stream, b"") + data
        *lines, rest = data.split(b"\n")
        self.partial[stream] = rest
        entries = [json.dumps({"log": line.decode(errors="replace") + "\n", "stream": name, "time": now})
                   for line in lines]
        if entries:
            self.log.write(("\n".join(entries) + "\n").encode())
            self.log.flush()

    def _flush_log(self):
        now = format_time(time.time())
        for stream, rest in self.partial.items():
            if rest:
                name = "stdout" if stream == attach.STDOUT else "stderr"
                self.log.write(json.dumps({"log": rest.decode(errors="replace"), "stream": name,
                                           "time": now}).encode() + b"\n")

    def _client_input(self, client):
        try:
            data = client.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return
        for stream, payload in self.clients[client].feed(data):
            if stream == attach.STDIN and self.stdin is not None:
                os.write(self.stdin, payload)
            elif stream == attach.CONTROL:
                message = json.loads(payload)
                if message.get("close_stdin"):
                    self._close_stdin()
                if "resize" in message and self.spec["tty"]:
                    self._resize(next(iter(self.outputs), self.stdin), message["resize"])

    def _close_stdin(self):
        if self.stdin is not None and not self.spec["tty"]:
            os.close(self.stdin)
            self.stdin = None

    def _drop(self, client):
        self.clients.pop(client, None)
        client.close()
        if client is self.primary and self.spec.get("stdin_once"):
            self._close_stdin()

    def _finish(self, status):
        """Record the exit, remove cgroup and network, honour --rm, then tell attached clients."""
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code
        oom = self.cgroup.oom_killed()
        self.cgroup.remove()

        def mark(record):
            record["State"].update(Status="exited", Running=False, Paused=False, Restarting=False, Pid=0,
                                   ExitCode=code, OOMKilled=oom, FinishedAt=format_time(time.time()))
            record.pop("Shim", None)

        record = container.update(self.id, mark)
        release_container(self.id, delete_links=False)
        if record:
            name = record["Name"].lstrip("/")
            if oom:
                events.emit("container", "oom", self.id, {"name": name})
            events.emit("container", "die", self.id, {"exitCode": str(code), "name": name})
            if record.get("Mounts"):
                from ..volume.store import Volumes

                Volumes().unmount_for(record)
            if record["HostConfig"].get("AutoRemove"):
                container.remove_files(self.id)
                events.emit("container", "destroy", self.id, {"name": name})
        for client in list(self.clients):
            try:
                client.sendall(attach.control({"exit": code}))
            except OSError:
                pass
            client.close()


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read_line(sock):
    """One line from ``sock``, or what came before end of file (b"" if the peer closed it)."""
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = sock.recv(4096)
        except OSError:
            chunk = b""
        if not chunk:
            break
        data += chunk
    return data


def _parse_answer(answer):
    """The engine's answer instead of ``go``: its error, or that it is gone."""
    try:
        message = json.loads(answer)
    except ValueError:
        message = None
    if isinstance(message, dict) and "error" in message:
        return {"error": str(message["error"]), "code": int(message.get("code", 125))}
    return {"error": "the engine that started the container went away before its network was set up",
            "code": 125}


def _read_messages(sock):
    """JSON lines from the container's init, with any file descriptor passed along (SCM_RIGHTS).

    End of file (the socket closed by a successful execve) reads as one empty message.
    """
    data, fds, _, _ = socket.recv_fds(sock, 4096, 1)
    return [json.loads(line) for line in data.splitlines()] or [{}], fds


def _reaped(pid):
    """The wait status of ``pid`` if it has exited (reaping it), else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 0
    return status if done else None


def process_start_time(pid):
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat).

    None once it has exited, including as a zombie (state Z) that its parent has not reaped yet.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def boot_id():
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip()


if __name__ == "__main__":
    main()
