"""Point 4 of issue 11: a start that fails, or whose caller is killed, leaves nothing behind.

Each attack is a value that used to be checked only once the container was half made (an address
outside the network, a bad ``network connect --ip``, a limit the kernel refuses), a start that fails
after its network was plugged in, or ``kill -9`` of ``pydock run -d`` while it starts. Afterwards no
shim or container process, no cgroup directory, no veth and no DNAT rule may be left, and ``rm -f``
must remove whatever a half-started container still holds. Every test checks this itself, so a failure
names the attack (the session's leftover check would only say that something was left).
"""

import glob
import json
import os
import random
import re
import subprocess
import sysconfig
import time

import pytest

pytestmark = pytest.mark.privileged

SUBNETS = iter(f"10.231.{n}.0/24" for n in range(1, 250))


def _cgroup_dirs(cid=None):
    """The cgroup directories of one container (or of every container) of this session."""
    parent = os.environ["PYDOCK_CGROUP_PARENT"]
    name = cid or "*"
    return sorted(d for d in glob.glob(f"/sys/fs/cgroup/{parent}/{name}") + glob.glob(f"/sys/fs/cgroup/*/{parent}/{name}")
                  if os.path.isdir(d))


def _processes(root):
    """Shims of this state root, and processes in this session's container cgroups: (pid, command)."""
    parent = os.environ["PYDOCK_CGROUP_PARENT"]
    in_cgroup = re.compile(rf"/{re.escape(parent)}/[0-9a-f]{{64}}$", re.MULTILINE)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read()
            with open(f"/proc/{entry}/cgroup") as f:
                cgroups = f.read()
            with open(f"/proc/{entry}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        shim = b"pydock_edu.runtime.shim" in cmdline and f"PYDOCK_ROOT={root}".encode() in environ
        if shim or in_cgroup.search(cgroups):
            found.append((int(entry), cmdline.replace(b"\0", b" ").decode(errors="replace")))
    return found


def _veths():
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]
    return [n for n in names if n.startswith(("veth", "vpeer"))]


def _dnat_rules(port):
    out = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if f"--dport {port} " in line]


def _leftovers(root, port=None):
    left = {"processes": _processes(root), "cgroups": _cgroup_dirs(), "veths": _veths()}
    if port:
        left["dnat rules"] = _dnat_rules(port)
    return {kind: items for kind, items in left.items() if items}


def _assert_nothing_left(root, attack, port=None, wait=10):
    """Nothing of a container may remain; the shim cleans up on its own, so allow it ``wait`` seconds."""
    deadline = time.monotonic() + wait
    left = _leftovers(root, port)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _leftovers(root, port)
    assert not left, f"{attack} left: " + repr({kind: [str(i)[:150] for i in items] for kind, items in left.items()})


@pytest.fixture
def network(pydock, busybox_image):
    """A user-defined bridge network on a subnet of its own; removed after the test."""
    name = f"sec-life-{os.getpid()}-{random.randrange(10**6)}"
    pydock("network", "create", "--subnet", next(SUBNETS), name, check=True)
    yield name
    for cid in pydock("ps", "-aq").stdout.split():
        pydock("rm", "-f", cid, timeout=60)
    pydock("network", "rm", name, timeout=60)


def _remove_all(pydock):
    for cid in pydock("ps", "-aq", "--no-trunc").stdout.split():
        pydock("rm", "-f", cid, timeout=60)


def test_run_rm_with_an_address_outside_the_network_leaves_nothing(pydock, pydock_root, network):
    res = pydock("run", "--rm", "--network", network, "--ip", "10.0.0.1", "busybox", "true", timeout=60)
    assert res.returncode == 125, res.stdout + res.stderr
    assert "does not belong to any of this network's subnets" in res.stderr
    assert "Traceback" not in res.stderr
    assert pydock("ps", "-aq").stdout.split() == []
    _assert_nothing_left(pydock_root, "run --rm --ip outside the subnet")


def test_network_connect_with_a_bad_address_is_refused_and_start_still_works(pydock, pydock_root, network):
    cid = pydock("create", "--network", network, "busybox", "true", check=True).stdout.strip()
    res = pydock("network", "connect", "--ip", "abc", network, cid, timeout=60)
    assert res.returncode == 1 and "invalid IPv4 address: abc" in res.stderr, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    start = pydock("start", "-a", cid, timeout=60)
    assert start.returncode == 0, start.stderr
    pydock("rm", "-f", cid, check=True)
    _assert_nothing_left(pydock_root, "network connect --ip abc, then start")


def test_a_start_that_fails_plugging_in_the_network_undoes_everything(pydock, pydock_root, network):
    """An endpoint that only fails when the container starts (a record written by an older pydock):
    the primary network is already plugged in, with a published port, when the second one fails."""
    second = network + "-b"
    pydock("network", "create", "--subnet", next(SUBNETS), second, check=True)
    try:
        cid = pydock("create", "--network", network, "-p", "18091:80", "busybox", "sleep", "60",
                     check=True).stdout.strip()
        path = os.path.join(pydock_root, "containers", cid, "config.v2.json")
        with open(path) as f:
            record = json.load(f)
        record["NetworkingConfig"] = {"EndpointsConfig": {second: {"IPAMConfig": {"IPv4Address": "10.0.0.1"}}}}
        with open(path, "w") as f:
            json.dump(record, f)
        res = pydock("start", cid, timeout=60)
        assert res.returncode != 0 and "does not belong" in res.stderr, res.stdout + res.stderr
        assert "Traceback" not in res.stderr
        _assert_nothing_left(pydock_root, "a start failing on its second network", port=18091)
        inspect = json.loads(pydock("inspect", cid, check=True).stdout)[0]
        assert inspect["State"]["Status"] == "created"
        assert "does not belong" in inspect["State"]["Error"]
        for name in (network, second):
            assert json.loads(pydock("network", "inspect", name, check=True).stdout)[0]["Containers"] == {}
        pydock("rm", "-f", cid, check=True)
    finally:
        _remove_all(pydock)
        pydock("network", "rm", second, timeout=60)


@pytest.mark.parametrize("flags", [["--pids-limit", "99999999999999999999999"], ["--pids-limit", "4194305"],
                                   ["--cpus", "0.001"], ["-m", "99999999999999999999999"], ["-w", "relative"],
                                   ["-h", "h" * 65]],
                         ids=["pids-huge", "pids-above-kernel-max", "cpus-below-quota-min", "memory-huge",
                              "relative-workdir", "hostname-too-long"])
def test_a_value_only_a_start_would_refuse_is_refused_before_anything_is_made(run, pydock, pydock_root, flags):
    res = run("--rm", *flags, "busybox", "true", timeout=60)
    assert res.returncode == 125, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert pydock("ps", "-aq").stdout.split() == []
    _assert_nothing_left(pydock_root, f"run {' '.join(flags)}")


def test_a_command_that_cannot_run_frees_its_address_and_ports(pydock, pydock_root, network):
    res = pydock("run", "-d", "--network", network, "-p", "18092:80", "busybox", "no-such-command", timeout=60)
    assert res.returncode == 127, res.stdout + res.stderr
    _assert_nothing_left(pydock_root, "a start whose command is missing", port=18092)
    assert json.loads(pydock("network", "inspect", network, check=True).stdout)[0]["Containers"] == {}
    _remove_all(pydock)


def test_kill_9_of_run_detach_while_it_starts_leaves_nothing(pydock, pydock_root, network):
    """``kill -9`` at a random moment of ``run -d``; a start cut short cleans up by itself (its shim
    sees the engine's end of the handshake close), and ``rm -f`` removes the rest."""
    command = [os.path.join(sysconfig.get_path("scripts"), "pydock"), "run", "-d", "--network", network, "-p", "18093:80", "busybox", "sleep", "60"]
    began = time.monotonic()
    subprocess.run(command, capture_output=True, check=True, timeout=60)
    duration = time.monotonic() - began
    _remove_all(pydock)
    rng = random.Random(11)
    deadline = time.monotonic() + 75
    tries = 0
    while tries < 8 and time.monotonic() < deadline:
        tries += 1
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.1, 1.0) * duration)
        process.kill()
        process.wait()
        # A start cut short must not wait for ever: within seconds no container is left half made.
        end = time.monotonic() + 10
        while time.monotonic() < end:
            created = pydock("ps", "-aq", "--no-trunc", "-f", "status=created").stdout.split()
            half_made = [cid for cid in created
                         if _cgroup_dirs(cid) or any(cid in cmd for _, cmd in _processes(pydock_root))]
            if not half_made:
                break
            time.sleep(0.2)
        assert not half_made, f"try {tries}: a created container still has a cgroup or a shim"
        _remove_all(pydock)
        _assert_nothing_left(pydock_root, f"kill -9 of run -d (try {tries}), then rm -f", port=18093)


def test_rm_f_removes_what_a_half_started_container_left(pydock, pydock_root, network):
    """A start cut short by an older pydock (or by a power cut of the engine) left a process in the
    container's cgroup and a veth, an address and a DNAT rule on its network: ``rm -f`` of the
    ``created`` container must remove every one of them."""
    from pydock_edu.network.manager import Networks
    from pydock_edu.runtime.cgroups import Cgroup

    cid = pydock("create", "--network", network, "-p", "18095:80", "busybox", "sleep", "60",
                 check=True).stdout.strip()
    ours = os.readlink("/proc/self/ns/net")
    stray = subprocess.Popen(["unshare", "--net", "sleep", "300"])  # PID 1-to-be, in a namespace of its own
    try:
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{stray.pid}/ns/net") == ours and time.monotonic() < deadline:
            time.sleep(0.05)
        cgroup = Cgroup(cid)
        cgroup.create()
        cgroup.add(stray.pid)
        with open(os.path.join(pydock_root, "containers", cid, "config.v2.json")) as f:
            record = json.load(f)
        Networks().connect(record, stray.pid, network)
        assert _dnat_rules(18095) and _veths() and _cgroup_dirs(cid)
        res = pydock("rm", "-f", cid, timeout=60)
        assert res.returncode == 0, res.stderr
        stray.wait(timeout=10)  # killed: it was in the container's cgroup
        _assert_nothing_left(pydock_root, "rm -f of a half-started container", port=18095, wait=5)
        assert json.loads(pydock("network", "inspect", network, check=True).stdout)[0]["Containers"] == {}
    finally:
        stray.kill()
        stray.wait()


def test_concurrent_starts_of_one_container_make_one_container(pydock, create, pydock_root):
    """Three ``pydock start`` at once used to fork three PID 1s into the same cgroup (and three shims,
    two of them unseen by any command)."""
    cid = create("busybox", "sleep", "60")
    command = [os.path.join(sysconfig.get_path("scripts"), "pydock"), "start", cid]
    starts = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(3)]
    try:
        for process in starts:
            assert process.wait(timeout=60) == 0, process.stderr.read()
        processes = _processes(pydock_root)
        shims = [pid for pid, cmd in processes if "pydock_edu.runtime.shim" in cmd and cid in cmd]
        with open(os.path.join(_cgroup_dirs(cid)[0], "cgroup.procs")) as f:
            in_cgroup = f.read().split()
        assert (len(shims), len(in_cgroup)) == (1, 1), f"one shim and one PID 1 expected, found {processes}"
    finally:
        for process in starts:
            process.stderr.close()
        pydock("rm", "-f", cid, timeout=60)
    _assert_nothing_left(pydock_root, "three concurrent starts, then rm -f")
