"""``exec``, and a container's input and output: logs, attach, stdin, and a real terminal with ``-t``."""

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sysconfig
import termios
import time

import pytest
from foundation_helpers import assert_one_line_error, container_dir, wait_for

pytestmark = pytest.mark.privileged

PYDOCK = os.path.join(sysconfig.get_path("scripts"), "pydock")
SLEEPER = ("busybox", "sh", "-c", "while true; do sleep 0.1; done")


def test_exec_sees_the_containers_pid_namespace(pydock, detached):
    cid = detached(*SLEEPER)
    res = pydock("exec", cid, "ps", "-o", "pid,args")
    assert res.returncode == 0, res.stderr
    rows = {line.split(None, 1)[0]: line.split(None, 1)[1] for line in res.stdout.splitlines()[1:]}
    assert rows["1"] == "sh -c while true; do sleep 0.1; done"
    assert any(args == "ps -o pid,args" for args in rows.values())
    res = pydock("exec", cid, "sh", "-c",
                 "for f in self/ns/pid 1/ns/pid self/ns/mnt 1/ns/mnt; do readlink /proc/$f; done")
    pid_self, pid_one, mnt_self, mnt_one = res.stdout.split()
    assert pid_self == pid_one and mnt_self == mnt_one
    assert pydock("exec", cid, "hostname").stdout == cid[:12] + "\n"


def test_exec_options(pydock, detached):
    cid = detached("-e", "FROM_RUN=1", "-w", "/tmp", *SLEEPER)
    assert pydock("exec", cid, "pwd").stdout == "/tmp\n"  # the container's working directory
    assert pydock("exec", "-w", "/etc", cid, "pwd").stdout == "/etc\n"
    res = pydock("exec", "-e", "EXTRA=2", "-e", "FROM_RUN=override", cid, "sh", "-c", 'echo "$FROM_RUN $EXTRA"')
    assert res.stdout == "override 2\n"
    assert pydock("exec", cid, "sh", "-c", "echo $FROM_RUN").stdout == "1\n"
    assert pydock("exec", "-u", "nobody", cid, "id", "-u").stdout == "65534\n"
    assert pydock("exec", "--user", "1234:55", cid, "id").stdout == "uid=1234 gid=55\n"
    assert pydock("exec", cid, "sh", "-c", "exit 5").returncode == 5
    res = pydock("exec", "-i", cid, "cat", input="piped in\n")
    assert res.returncode == 0 and res.stdout == "piped in\n"
    assert pydock("exec", cid, "sh", "-c", "echo out; echo err >&2").stderr == "err\n"


def test_exec_detached_runs_in_the_background(pydock, detached):
    cid = detached(*SLEEPER)
    res = pydock("exec", "-d", cid, "sh", "-c", "sleep 0.3; echo done > /tmp/exec-d")
    assert res.returncode == 0 and res.stdout == ""
    marker = os.path.join(container_dir(cid), "diff", "tmp", "exec-d")
    def written():
        if not os.path.exists(marker):
            return False
        with open(marker) as f:
            return f.read() == "done\n"

    wait_for(written)


def test_exec_joins_the_containers_cgroup(pydock, detached):
    cid = detached(*SLEEPER)
    pydock("exec", "-d", cid, "sleep", "30", check=True)
    wait_for(lambda: any(row[-1] == "sleep 30" for row in top_rows(pydock, cid)))


def top_rows(pydock, cid):
    res = pydock("top", cid)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    titles = lines[0].split()
    return [line.split(None, len(titles) - 1) for line in lines[1:]]


def test_top_lists_the_containers_processes(pydock, detached):
    cid = detached(*SLEEPER)
    res = pydock("top", cid)
    assert res.stdout.split("\n", 1)[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    commands = [row[-1] for row in top_rows(pydock, cid)]
    assert "sh -c while true; do sleep 0.1; done" in commands
    assert all("pytest" not in c and "python" not in c for c in commands)  # not the host's processes
    res = pydock("top", cid, "-o", "pid,comm")
    assert res.stdout.split("\n", 1)[0].split() == ["PID", "COMMAND"]
    res = pydock("top", cid, "-o", "comm")
    assert_one_line_error(res)
    assert "Couldn't find PID field in ps output" in res.stderr
    assert_one_line_error(pydock("top", cid, "-o", "no-such-field"))


@pytest.mark.parametrize("argv, message", [
    (["no-such-command"], "executable file not found"),
    (["/etc/passwd"], "permission denied"),
    (["-u", "nosuchuser", "true"], "unable to find user nosuchuser"),
])
def test_exec_failures(pydock, detached, argv, message):
    # An exec that cannot start is 126 whatever the cause, its reason on stdout: moby's daemon/exec.go
    # records 126 and api/server/router/container/exec.go writes the error into the exec's stream.
    cid = detached(*SLEEPER)
    res = pydock("exec", *argv[:-1], cid, argv[-1])
    assert (res.returncode, res.stderr) == (126, "")
    assert res.stdout.count("\n") == 1 and message in res.stdout


def test_exec_in_a_stopped_or_paused_container(pydock, detached, create):
    cid = create("busybox", "true")
    res = pydock("exec", cid, "true")
    assert_one_line_error(res)
    assert "is not running" in res.stderr
    cid = detached(*SLEEPER)
    pydock("pause", cid, check=True)
    res = pydock("exec", cid, "true")
    assert_one_line_error(res)
    assert "paused" in res.stderr
    pydock("unpause", cid, check=True)
    assert pydock("exec", cid, "true").returncode == 0
    assert len(pydock("ps", "-aq").stdout.split()) == 2


def test_logs(pydock, run):
    res = run("--name", "talker", "busybox", "sh", "-c", "for i in 1 2 3; do echo out$i; echo err$i >&2; done")
    assert res.returncode == 0
    logs = pydock("logs", "talker")
    assert logs.stdout == "out1\nout2\nout3\n" and logs.stderr == "err1\nerr2\nerr3\n"
    # --tail counts lines of both streams (their order in the log is the order the shim read them)
    tail = pydock("logs", "--tail", "2", "talker")
    assert len((tail.stdout + tail.stderr).splitlines()) == 2
    assert pydock("logs", "-n", "0", "talker").stdout == ""
    run("--name", "counter", "busybox", "seq", "5", check=True)
    assert pydock("logs", "--tail", "2", "counter").stdout == "4\n5\n"
    for more in ("5", "6", "9", "100"):
        assert pydock("logs", "--tail", more, "counter").stdout == "1\n2\n3\n4\n5\n", more
    stamped = pydock("logs", "-t", "--tail", "1", "counter").stdout
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z 5\n", stamped)
    assert pydock("logs", "--since", "2000-01-01T00:00:00Z", "talker").stdout == "out1\nout2\nout3\n"
    assert pydock("logs", "--since", "2100-01-01T00:00:00Z", "talker").stdout == ""
    cid = pydock("inspect", "-f", "{{.Id}}", "talker").stdout.strip()
    with open(os.path.join(container_dir(cid), cid + "-json.log")) as f:
        entry = json.loads(f.readline())  # Docker's json-file format
    assert set(entry) == {"log", "stream", "time"} and entry["log"] == "out1\n"


def test_logs_follow_until_exit(pydock, detached):
    cid = detached("busybox", "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.3; done")
    res = pydock("logs", "-f", cid, timeout=30)
    assert res.returncode == 0 and res.stdout == "1\n2\n3\n"


def test_logs_follow_a_container_removed_as_it_exits(pydock, detached):
    cid = detached("--rm", "busybox", "sh", "-c", "echo first; sleep 3; echo second; printf third")
    res = pydock("logs", "-f", cid, timeout=30)
    assert (res.returncode, res.stdout) == (0, "first\nsecond\nthird"), res.stderr


def test_logs_follow_a_container_never_started(pydock, create):
    res = pydock("logs", "-f", create("busybox", "true"), timeout=30)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")


def test_logs_keep_a_line_without_newline(pydock, run):
    run("--name", "partial", "busybox", "printf", "no newline", check=True)
    assert pydock("logs", "partial").stdout == "no newline"


def test_attach_to_a_detached_container(pydock, detached):
    cid = detached("busybox", "sh", "-c", "sleep 3; echo late-out; echo late-err >&2; exit 4")
    res = pydock("attach", cid, timeout=30)
    assert (res.returncode, res.stdout, res.stderr) == (4, "late-out\n", "late-err\n")
    res = pydock("attach", cid)
    assert_one_line_error(res)
    assert "You cannot attach to a stopped container" in res.stderr


def test_attach_sends_stdin(pydock, detached):
    cid = detached("-i", "busybox", "sh", "-c", "read line; echo got $line")
    res = pydock("attach", cid, input="hello\n", timeout=30)
    assert res.returncode == 0 and res.stdout == "got hello\n"


def test_run_with_piped_stdin(run):
    res = run("-i", "--rm", "busybox", "cat", input="hi\nthere\n")
    assert res.returncode == 0 and res.stdout == "hi\nthere\n"
    res = run("--rm", "busybox", "cat", input="ignored\n")  # without -i stdin is /dev/null
    assert res.returncode == 0 and res.stdout == ""
    res = run("-i", "--rm", "busybox", "wc", "-c", input="x" * 200_000)
    assert res.stdout.strip() == "200000"


def test_start_attach_interactive(pydock, create):
    cid = create("-i", "busybox", "sh", "-c", "read a; echo got $a; exit 2")
    res = pydock("start", "-a", "-i", cid, input="word\n", timeout=30)
    assert (res.returncode, res.stdout) == (2, "got word\n")


def in_terminal(argv, dialogue=(), rows=24, columns=80, timeout=30):
    """Run ``argv`` on a new pseudo-terminal of ``rows`` x ``columns``; return (exit code, output).

    ``dialogue`` is a list of (prompt, keys): once ``prompt`` has appeared in the output, ``keys``
    are typed, as a user at the terminal would.
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    pending = list(dialogue)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if pending and pending[0][0] in output:
                os.write(master, pending.pop(0)[1])
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer has closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
        return process.wait(timeout=max(1, deadline - time.monotonic())), output.decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


def test_run_t_gives_a_real_terminal(busybox_image):
    code, output = in_terminal([PYDOCK, "run", "-t", "--rm", "--network", "none", "busybox", "tty"])
    assert code == 0 and output.strip() == "/dev/pts/0", output


def test_run_t_terminal_details(busybox_image):
    script = "test -t 0 && test -t 1 && echo both-ttys; echo $TERM; stty size"
    code, output = in_terminal([PYDOCK, "run", "-t", "--rm", "--network", "none", "busybox", "sh", "-c", script],
                               rows=33, columns=101)
    assert code == 0 and output.replace("\r", "").split("\n")[:3] == ["both-ttys", "xterm", "33 101"], output


def test_run_it_is_an_interactive_shell(busybox_image):
    code, output = in_terminal([PYDOCK, "run", "-it", "--rm", "--network", "none", "busybox", "sh"],
                               dialogue=[(b"# ", b"echo in-the-shell $((6*7))\r"), (b"in-the-shell 42", b"exit 9\r")])
    assert code == 9 and "in-the-shell 42" in output, output


def test_exec_t_gives_a_terminal(pydock, detached):
    cid = detached(*SLEEPER)
    code, output = in_terminal([PYDOCK, "exec", "-t", cid, "tty"])
    assert code == 0 and re.fullmatch(r"/dev/pts/\d+", output.strip()), output
