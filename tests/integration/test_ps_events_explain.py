"""Listing and watching: ``ps`` options, ``events``, ``--explain`` traces, ``info``/``version``, bad input."""

import json
import os
import re
import time

import pytest
from foundation_helpers import assert_one_line_error

pytestmark = pytest.mark.privileged


@pytest.fixture
def three(pydock, create, detached):
    """An exited, a created and a running container, made in that order."""
    exited = create("--name", "c-exited", "-l", "role=batch", "busybox", "sh", "-c", "exit 3")
    pydock("start", "-a", exited)
    created = create("--name", "c-created", "busybox", "true")
    running = detached("--name", "c-running", "-l", "role=web", "busybox", "sleep", "60")
    return {"exited": exited, "created": created, "running": running}


def names(res):
    assert res.returncode == 0, res.stderr
    return res.stdout.split()


def test_ps_listing_options(pydock, three):
    assert names(pydock("ps", "--format", "{{.Names}}")) == ["c-running"]
    assert names(pydock("ps", "-a", "--format", "{{.Names}}")) == ["c-running", "c-created", "c-exited"]
    assert names(pydock("ps", "-q")) == [three["running"][:12]]
    assert names(pydock("ps", "-aq", "--no-trunc")) == [three["running"], three["created"], three["exited"]]
    assert names(pydock("ps", "-l", "-q")) == [three["running"][:12]]
    assert names(pydock("ps", "-n", "2", "--format", "{{.Names}}")) == ["c-running", "c-created"]
    assert names(pydock("container", "ls", "-a", "-q")) == names(pydock("ps", "-aq"))
    assert names(pydock("container", "list", "-aq")) == names(pydock("ps", "-aq"))


def test_ps_filters(pydock, three):
    def filtered(*filters):
        return names(pydock("ps", "-a", "--format", "{{.Names}}", *[f"--filter={f}" for f in filters]))

    assert filtered("status=exited") == ["c-exited"]
    assert filtered("status=created") == ["c-created"]
    assert filtered("status=running") == ["c-running"]
    assert filtered("name=c-") == ["c-running", "c-created", "c-exited"]
    assert filtered("name=run") == ["c-running"]
    assert filtered("id=" + three["created"][:8]) == ["c-created"]
    assert filtered("label=role") == ["c-running", "c-exited"]
    assert filtered("label=role=web") == ["c-running"]
    assert filtered("exited=3") == ["c-exited"]
    assert filtered("ancestor=busybox") == ["c-running", "c-created", "c-exited"]
    assert filtered("status=exited", "label=role=web") == []
    res = pydock("ps", "-f", "status=sleepy")
    assert_one_line_error(res, 1)  # the daemon refuses the filter: a failed request
    res = pydock("ps", "-f", "colour=red")
    assert_one_line_error(res, 1)


def test_ps_table_and_formats(pydock, three):
    table = pydock("ps", "-a").stdout.splitlines()
    assert re.match(r"CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$", table[0])
    by_name = {line.split()[-1]: line for line in table[1:]}
    assert re.search(r'\s"sh -c exit 3"\s.*\sExited \(3\) .* ago\s', by_name["c-exited"])
    assert re.search(r"\sCreated\s", by_name["c-created"])
    assert re.search(r"\sUp (Less than a second|\d+ seconds?)\s", by_name["c-running"])
    assert by_name["c-running"].startswith(three["running"][:12] + "   busybox   ")
    custom = pydock("ps", "-a", "--format", "table {{.ID}}\t{{.Names}}\t{{.State}}").stdout.splitlines()
    assert custom[0].split() == ["CONTAINER", "ID", "NAMES", "STATE"]
    assert custom[1].split() == [three["running"][:12], "c-running", "running"]
    rows = [json.loads(line) for line in pydock("ps", "-a", "--format", "{{json .}}").stdout.splitlines()]
    assert [r["Names"] for r in rows] == ["c-running", "c-created", "c-exited"]
    assert rows[2]["Status"].startswith("Exited (3)") and rows[0]["Labels"] == "role=web"
    wide = pydock("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}").stdout.splitlines()
    assert wide[2] == f'{three["exited"]} "sh -c exit 3"'


def test_events(pydock, create):
    since = time.time()
    cid = create("--name", "evented", "busybox", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done")
    pydock("start", cid, check=True)
    pydock("pause", cid, check=True)
    pydock("unpause", cid, check=True)
    pydock("exec", cid, "true", check=True)
    pydock("kill", "-s", "TERM", cid, check=True)
    pydock("wait", cid, check=True, timeout=30)
    pydock("rm", cid, check=True)
    until = time.time() + 0.01
    res = pydock("events", "--since", f"{since:.3f}", "--until", f"{until:.3f}", timeout=30)
    assert res.returncode == 0, res.stderr
    lines = [line for line in res.stdout.splitlines() if cid in line]
    actions = [line.split()[2] for line in lines]
    assert actions == ["create", "start", "pause", "unpause", "exec_start:", "kill", "die", "destroy"], lines
    for line in lines:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z container ", line)
    assert "exec_start: true " + cid in res.stdout
    assert re.search(r"kill " + cid + r" \(name=evented, signal=15\)", res.stdout)
    assert re.search(r"die " + cid + r" \(exitCode=0, name=evented\)", res.stdout)
    assert re.search(r"create " + cid + r" \(image=busybox, name=evented\)", res.stdout)

    filtered = pydock("events", "--since", f"{since:.3f}", "--until", f"{until:.3f}", "-f", "event=die",
                      "--format", "{{.Action}} {{.Actor.Attributes.name}}")
    assert filtered.stdout.splitlines() == ["die evented"]
    none_yet = pydock("events", "--since", f"{since - 3600:.3f}", "--until", f"{since - 3599:.3f}")
    assert cid not in none_yet.stdout


def explain_steps(res):
    assert res.returncode == 0, res.stderr
    return [line for line in res.stderr.splitlines() if line.startswith("[explain]")]


def cgroup_controller_file(name_v1, name_v2):
    return name_v2 if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else name_v1


def test_explain_run(pydock, busybox_image):
    res = pydock("--explain", "run", "--rm", "--network", "none", "-m", "32m", "--cpus", "0.5", "--pids-limit", "30",
                 "-h", "explained", busybox_image, "true")
    text = "\n".join(explain_steps(res))
    for expected in ("unshare(mnt,uts,ipc,net,cgroup)", "mount overlay on ", "lowerdir=", "upperdir=", "workdir=",
                     "mount proc on ", "mount sysfs on ", "(ro,nosuid,nodev,noexec)", "mount devpts on ",
                     "pivot_root(", "sethostname('explained')", "execve('/bin/true', ['true'])",
                     "echo 33554432 > ", cgroup_controller_file("memory.limit_in_bytes", "memory.max"),
                     "echo 30 > ", "pids.max", "rmdir "):
        assert expected in text, f"{expected!r} missing from:\n{text}"
    quota = "cpu.cfs_quota_us" if not os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "cpu.max"
    assert quota in text
    assert res.stdout == ""  # the steps go to stderr; the container's output to stdout
    # the order of birth: cgroup, namespaces, root filesystem, then the command
    order = [text.index(s) for s in ("mkdir ", "unshare(mnt", "mount overlay", "pivot_root(", "execve(")]
    assert order == sorted(order)


def test_explain_on_other_commands(pydock, create):
    cid = create("busybox", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done")
    started = "\n".join(explain_steps(pydock("--explain", "start", cid)))
    assert "pivot_root(" in started and "execve(" in started
    paused = "\n".join(explain_steps(pydock("--explain", "pause", cid)))
    assert re.search(r"echo (FROZEN > \S+freezer.state|1 > \S+cgroup.freeze)", paused), paused
    pydock("unpause", cid, check=True)
    executed = "\n".join(explain_steps(pydock("--explain", "exec", cid, "true")))
    for expected in ("setns(pid)", "setns(mnt)", "cgroup.procs", "execve("):
        assert expected in executed, executed
    stopped = "\n".join(explain_steps(pydock("--explain", "stop", cid, timeout=30)))
    assert re.search(r"kill\(\d+, SIGTERM\)", stopped), stopped
    killed = create("busybox", "sleep", "60")
    pydock("start", killed, check=True)
    removed = "\n".join(explain_steps(pydock("--explain", "rm", "-f", killed, timeout=30)))
    assert re.search(r"kill\(\d+, SIGKILL\)", removed), removed
    created = pydock("--explain", "create", "--network", "none", "busybox", "true")
    assert created.returncode == 0 and re.fullmatch(r"[0-9a-f]{64}\n", created.stdout)


def test_info_and_version(pydock, create):
    create("busybox", "true")
    info = pydock("info")
    assert info.returncode == 0, info.stderr
    fields = dict(line.strip().split(": ", 1) for line in info.stdout.splitlines() if ": " in line)
    assert fields["Containers"] == "1" and fields["Stopped"] == "1" and fields["Running"] == "0"
    assert int(fields["Images"]) >= 1
    assert fields["Storage Driver"] == "overlay"
    assert fields["Pydock Root Dir"] == os.environ["PYDOCK_ROOT"]
    assert fields["Cgroup Version"] in ("1", "2")
    assert "memory" in fields["Cgroup Controllers"] and "pids" in fields["Cgroup Controllers"]
    assert fields["Kernel Version"] == os.uname().release
    assert "root yes" in fields["Privileges"] and "NO" not in fields["Privileges"]
    data = json.loads(pydock("info", "--format", "{{json .}}").stdout)
    assert data["Containers"] == 1 and data["Driver"] == "overlay"
    version = pydock("version")
    assert version.returncode == 0 and "Client:" in version.stdout and "Server:" in version.stdout
    assert pydock("version", "--format", "{{.Server.KernelVersion}}").stdout.strip() == os.uname().release
    assert re.fullmatch(r"pydock version \S+\n", pydock("--version").stdout)


@pytest.mark.parametrize("argv, code, message", [
    (["run", "--network", "none", "--bogus", "busybox", "true"], 125, "unknown flag: --bogus"),
    (["run", "--network", "none", "-Z", "busybox", "true"], 125, "unknown shorthand flag: 'Z' in -Z"),
    (["run", "--network", "none", "--rm", "Bad/Reference", "true"], 125, "invalid reference format"),
    (["run", "--network", "none", "--rm", "-e", "=x", "busybox", "true"], 125, "invalid environment variable: =x"),
    (["run", "--network", "none", "--rm", "-m", "10zz", "busybox", "true"], 125, "invalid size: '10zz'"),
    (["run", "--network", "none", "--rm", "--cpus", "lots", "busybox", "true"], 125, "--cpus"),
    (["run", "--network", "none", "--rm", "--pids-limit", "many", "busybox", "true"], 125, "--pids-limit"),
    (["run", "--network", "none", "--rm", "--name", "not valid", "busybox", "true"], 125,
     "Invalid container name (not valid)"),
    (["run", "--network", "none", "--rm", "--env-file", "/no/such/file", "busybox", "true"], 125,
     "no such file or directory"),
    (["run", "--network", "none", "--rm", "-u", "ghost", "busybox", "true"], 125, "unable to find user ghost"),
    (["run", "--rm", "--network=no-such-net", "busybox", "true"], None, "no-such-net"),
    (["run"], 1, '"pydock container run" requires at least 1 argument'),  # cli/required.go: plain error
    (["start"], 1, "requires at least 1 argument"),
    (["stop", "no-such-container"], 1, "No such container: no-such-container"),
    (["logs", "no-such-container"], 1, "No such container"),
    (["frobnicate"], 1, "'frobnicate' is not a pydock command"),
    (["container", "frobnicate"], 1, 'unknown command "frobnicate"'),
    (["ps", "--last", "x"], 125, "invalid argument"),  # an int flag pflag cannot parse: cli/cobra.go's 125
    (["logs", "--tail", "x", "whatever"], 1, "--tail"),
    (["logs", "--since", "bogus", "bystander"], 1, 'invalid value for "since": bogus'),
    (["events", "--since", "bogus"], 1, 'invalid value for "since": bogus'),
    (["ps", "-a", "-f", "name=a("], 1, "error parsing regexp"),
    (["run", "--network", "none", "--rm", "--health-cmd", "true", "--health-interval", "soon", "busybox", "true"],
     125, 'invalid argument "soon" for "--health-interval" flag'),
])
def test_bad_input_is_one_line_and_leaves_the_store_consistent(pydock, busybox_image, create, argv, code, message):
    """Each mistake: one line on stderr, Docker's exit code, no traceback, and no trace in the store."""
    kept = create("--name", "bystander", "busybox", "true")
    res = pydock(*argv)
    assert_one_line_error(res, code)
    assert message in res.stderr, res.stderr
    assert pydock("ps", "-aq", "--no-trunc").stdout == kept + "\n"
    assert sorted(os.listdir(os.path.join(os.environ["PYDOCK_ROOT"], "containers"))) == [kept]


def test_an_unknown_image(pydock, busybox_image, create):
    """Not found locally, and not on the registry either (only one on this machine's loopback is asked)."""
    kept = create("busybox", "true")
    res = pydock("run", "--rm", "--network", "none", "localhost:1/no-such-image", "true", timeout=60)
    assert res.returncode == 125 and "Traceback" not in res.stderr
    assert res.stderr.startswith("Unable to find image 'localhost:1/no-such-image:latest' locally\n"), res.stderr
    assert res.stderr.splitlines()[-1].startswith("Error")
    assert pydock("ps", "-aq", "--no-trunc").stdout == kept + "\n"
