"""The in-process ``Engine`` API, as the magics, the widgets and the kernel use it (no CLI in between)."""

import gc
import os
import subprocess
import time

import pytest

from pydock_edu import events, explain
from pydock_edu.engine import Attachment, Engine
from pydock_edu.errors import (
    Conflict,
    InvalidArgument,
    NotFound,
    PydockError,
    exit_status,
)

pytestmark = pytest.mark.privileged


def body(*cmd, **fields):
    """A create body for busybox on the ``none`` network; ``HostConfig`` entries may be given as keywords."""
    host = {"NetworkMode": "none"}
    for key in ("AutoRemove", "Memory", "PidsLimit", "NanoCpus"):
        if key in fields:
            host[key] = fields.pop(key)
    return {"Image": "busybox", "Cmd": list(cmd), "HostConfig": host, **fields}


class Collected:
    """Container output as ``Attachment.relay`` hands it over: (stream, bytes)."""

    def __init__(self):
        self.streams = {1: b"", 2: b""}

    def __call__(self, stream, data):
        self.streams[stream] += data


@pytest.fixture
def engine(busybox_image):
    return Engine()


def run_attached(engine, create_body, name=None):
    attachment, output = Attachment(), Collected()
    cid = engine.run(create_body, name=name, attach=attachment)
    code = attachment.relay(output)
    return cid, code, output.streams


def test_run_attached(engine):
    cid, code, streams = run_attached(engine, body("sh", "-c", "echo out; echo err >&2; exit 6", AutoRemove=True))
    assert code == 6 and streams == {1: b"out\n", 2: b"err\n"}
    assert cid not in engine.container_ids()  # AutoRemove


def test_run_with_stdin(engine):
    attachment, output = Attachment(), Collected()
    engine.run(body("cat", OpenStdin=True, StdinOnce=True, AutoRemove=True), attach=attachment)
    read_end, write_end = os.pipe()
    os.write(write_end, b"through the engine\n")
    os.close(write_end)
    try:
        assert attachment.relay(output, stdin_fd=read_end) == 0
    finally:
        os.close(read_end)
    assert output.streams[1] == b"through the engine\n"


def test_lifecycle(engine):
    cid = engine.create(body("sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"), name="api-life")
    record = engine.container("api-life")
    assert record["Id"] == cid and record["State"]["Status"] == "created"
    assert engine.resolve_container(cid[:10]) == cid
    started = engine.start(cid)
    assert started["State"]["Running"] and started["State"]["Pid"] > 0
    assert [r["Id"] for r in engine.containers()] == [cid]
    engine.pause(cid)
    assert engine.container(cid)["State"]["Status"] == "paused"
    engine.unpause(cid)
    engine.stop(cid, timeout=5)
    assert engine.wait(cid) == 0
    assert engine.container(cid)["State"]["Status"] == "exited"
    assert engine.containers() == [] and len(engine.containers(all=True)) == 1
    engine.rename(cid, "api-renamed")
    assert engine.container("api-renamed")["Name"] == "/api-renamed"
    engine.remove(cid)
    assert engine.containers(all=True) == []


def test_exec_logs_and_top(engine):
    cid = engine.run(body("sh", "-c", "echo started; while true; do sleep 0.1; done"))
    process = engine.exec(cid, ["sh", "-c", "echo $A from $(cat /proc/1/cmdline | tr '\\0' ' ')"], env=["A=exec"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert out == b"exec from sh -c echo started; while true; do sleep 0.1; done\n"
    deadline = time.monotonic() + 10
    while not list(engine.logs(cid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    [(stream, text, stamp)] = list(engine.logs(cid))
    assert (stream, text) == ("stdout", "started\n") and stamp.endswith("Z")
    titles, rows = engine.top(cid)
    assert "PID" in titles and any("while true" in row[-1] for row in rows)
    engine.remove(cid, force=True)
    assert engine.containers(all=True) == []


def test_errors_are_typed_with_dockers_exit_codes(engine):
    with pytest.raises(NotFound, match="No such container: nothing-here") as e:
        engine.container("nothing-here")
    assert e.value.exit_code == 1
    with pytest.raises(InvalidArgument, match="image name cannot be empty"):
        engine.create({"Image": "", "HostConfig": {"NetworkMode": "none"}})
    with pytest.raises(PydockError, match="Minimum memory limit allowed is 6MB"):
        engine.create(body("true", Memory=1024))
    engine.create(body("true"), name="api-taken")
    with pytest.raises(Conflict) as e:
        engine.create(body("true"), name="api-taken")
    assert e.value.exit_code == 1  # a failed request; the CLI's create turns it into 125:
    assert exit_status(e.value, runs_container=True) == 125 and exit_status(e.value) == 1
    cid = engine.create(body("true"))
    with pytest.raises(Conflict, match="is not running"):
        engine.pause(cid)
    with pytest.raises(Conflict, match="is not running"):
        engine.exec(cid, ["true"])
    with pytest.raises(PydockError) as e:
        engine.run(body("no-such-command", AutoRemove=True))
    assert e.value.exit_code == 127
    assert len(engine.containers(all=True)) == 2  # the failed --rm one is gone


def test_events_from_the_engine(engine):
    since = time.time()
    cid, code, _ = run_attached(engine, body("true", AutoRemove=True))
    assert code == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        mine = [e["Action"] for e in events.read(since=since) if e["Actor"]["ID"] == cid]
        if "destroy" in mine:
            break
        time.sleep(0.05)
    assert mine == ["create", "start", "die", "destroy"]


def test_explain_steps_reach_an_in_process_listener(engine):
    steps = []
    with explain.tracing(lambda category, text: steps.append((category, text))):
        _, code, _ = run_attached(engine, body("true", AutoRemove=True, Memory=64 * 1024 * 1024))
    assert code == 0
    categories = {category for category, _ in steps}
    assert {"cgroup", "unshare", "mount", "pivot_root", "exec"} <= categories, steps
    texts = [text for _, text in steps]
    assert any(text.startswith("mount overlay on ") for text in texts)
    assert any(str(64 * 1024 * 1024) in text for text in texts)


def test_a_failed_start_closes_no_descriptor_it_does_not_own(engine):
    """The shim's ends of the start sockets are closed once: not again when their socket objects die.

    A kept exception keeps ``start``'s frame and its locals alive; when it goes, nothing may close a
    descriptor number that the caller has opened since.
    """
    try:
        engine.run(body("no-such-command", AutoRemove=True))
    except PydockError as e:
        kept = e
    opened = [fd for _ in range(10) for fd in os.pipe()]
    try:
        del kept
        gc.collect()
        closed = []
        for fd in opened:
            try:
                os.fstat(fd)
            except OSError:
                closed.append(fd)
        assert closed == []
    finally:
        for fd in opened:
            try:
                os.close(fd)
            except OSError:
                pass
