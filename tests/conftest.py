"""The test harness: one sandbox for the whole session, and a check that it is left clean.

At start-up (``pytest_configure``), as root, the pytest process itself moves into a new mount namespace
and a new network namespace (``unshare(CLONE_NEWNS | CLONE_NEWNET)``), makes every mount private so
nothing it mounts propagates to the host, brings ``lo`` up and mounts a fresh sysfs whose
``/sys/class/net`` shows this namespace's links. Every CLI call, shim and container started by a test
inherits these namespaces. The engine's state lives in a fresh ``PYDOCK_ROOT`` under /var/tmp (overlayfs
needs a real filesystem for upper dirs, not tmpfs) and its cgroups under ``PYDOCK_CGROUP_PARENT``.

Tests marked ``privileged`` need root, the namespaces above, overlayfs and cgroups. Without them they are
skipped, except with ``PYDOCK_REQUIRE_PRIVILEGES=1`` where they fail; with ``CI=true`` (or that variable)
any skipped privileged test is reported as a failure, so a green CI proves the real kernel paths ran.

After the last test (and again at ``pytest_sessionfinish``), anything left behind is reported as one
more failure: mounts, cgroups, processes, links, firewall rules. Leftovers are then removed (processes
killed by pid, mounts detached, cgroups removed) and so is the test root.
"""

import ctypes
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time

import pytest

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

REQUIRE_PRIVILEGES = os.environ.get("PYDOCK_REQUIRE_PRIVILEGES") == "1"
IN_CI = os.environ.get("CI", "").lower() == "true"
BUILTIN_CHAINS = {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}

_libc = ctypes.CDLL("libc.so.6", use_errno=True)


class _Harness:
    """What the session set up, filled in once by ``pytest_configure``."""

    configured = False
    root = None  # the test PYDOCK_ROOT
    cgroup_parent = None
    isolated = False  # the process is in its own mount and network namespaces
    missing = []  # why privileged tests cannot run
    iptables_start = None
    reported = set()  # leftovers already reported


H = _Harness()


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {source or ''} {target}")


def _umount(target):
    _check(_libc.umount2(target.encode(), MNT_DETACH), f"umount {target}")


def _unescape(field):
    """Undo the octal escapes (``\\040`` for a space) of /proc/self/mountinfo and /proc/mounts."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mountinfo():
    """(mount id, parent id, mount point, whole line) for each mount in this mount namespace."""
    rows = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            rows.append((fields[0], fields[1], _unescape(fields[4]), line.rstrip("\n")))
    return rows


def _remount_sysfs():
    """Mount a sysfs made in this network namespace over /sys, carrying the mounts below /sys along.

    A sysfs shows the links of the network namespace that mounted it, so the host's /sys would show the
    host's bridges. The new one is built in a temporary directory (the old mounts under /sys, such as
    /sys/fs/cgroup, are bind-mounted in with their submounts), then moved onto /sys in one step.
    """
    rows = _mountinfo()
    sys_ids = [mid for mid, _, point, _ in rows if point == "/sys"]
    if not sys_ids:
        return
    children = [point for _, parent, point, _ in rows if parent == sys_ids[-1] and point != "/sys"]
    staging = tempfile.mkdtemp(prefix="pydock-test-sysfs-")
    try:
        _mount("sysfs", staging, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        try:
            for point in children:
                target = staging + point[len("/sys"):]
                if os.path.isdir(target):
                    _mount(point, target, None, MS_BIND | MS_REC)
            _mount(staging, "/sys", None, MS_MOVE)
        except OSError:
            _umount(staging)
            raise
    finally:
        os.rmdir(staging)


def _isolate():
    """Put this process in new mount and network namespaces; return why not, or None on success."""
    if _libc.unshare(CLONE_NEWNS | CLONE_NEWNET) != 0:
        return f"unshare(CLONE_NEWNS|CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())}"
    try:
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
        _remount_sysfs()
    except (OSError, subprocess.CalledProcessError) as e:
        return f"setting up the test namespaces failed: {e}"
    return None


def _overlay_problem(root):
    """Try one overlay mount under ``root``; return why it failed, or None."""
    probe = os.path.join(root, "overlay-probe")
    dirs = {n: os.path.join(probe, n) for n in ("lower", "upper", "work", "merged")}
    for d in dirs.values():
        os.makedirs(d)
    try:
        _mount("overlay", dirs["merged"], "overlay", 0,
               f"lowerdir={dirs['lower']},upperdir={dirs['upper']},workdir={dirs['work']}")
        _umount(dirs["merged"])
        return None
    except OSError as e:
        return f"overlayfs does not work under {root}: {e}"
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def _cgroup_problem():
    """Return why cgroups cannot be managed here, or None."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):  # v2
        ok = os.access("/sys/fs/cgroup", os.W_OK)
    else:  # v1: one hierarchy per controller
        ok = any(os.access(d, os.W_OK) for d in glob.glob("/sys/fs/cgroup/*/") if
                 os.path.exists(os.path.join(d, "cgroup.procs")))
    return None if ok else "no writable cgroup hierarchy under /sys/fs/cgroup"


def _iptables_rules():
    """The rules and user chains of ``iptables-save``, without counters, comments and empty tables."""
    try:
        out = subprocess.run(["iptables-save"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    rules, table = set(), None
    for line in out.splitlines():
        line = re.sub(r"\[\d+:\d+\]", "", line).strip()
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith("-A ") or (line.startswith(":") and line[1:].split()[0] not in BUILTIN_CHAINS):
            rules.add(f"{table}: {line}")
    return rules


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "privileged: needs root, namespaces, overlayfs and cgroups "
                   "(skipped without them; a failure with PYDOCK_REQUIRE_PRIVILEGES=1 or CI=true)")
    if H.configured:
        return
    H.configured = True
    missing = []
    if os.geteuid() != 0:
        missing.append("not root")
    else:
        problem = _isolate()
        H.isolated = problem is None
        if problem:
            missing.append(problem)
    H.root = tempfile.mkdtemp(prefix="pydock-test-", dir="/var/tmp")
    H.cgroup_parent = f"pydock-test-{os.getpid()}"
    os.environ["PYDOCK_ROOT"] = H.root
    os.environ["PYDOCK_CGROUP_PARENT"] = H.cgroup_parent
    if not missing:
        missing += [p for p in (_overlay_problem(H.root), _cgroup_problem()) if p]
    H.missing = missing
    if H.isolated:
        H.iptables_start = _iptables_rules()


def pytest_report_header(config):
    state = "yes" if not H.missing else "no (" + "; ".join(H.missing) + ")"
    return [f"pydock: PYDOCK_ROOT={H.root} PYDOCK_CGROUP_PARENT={H.cgroup_parent}",
            f"pydock: privileged tests can run: {state}"]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Skip (or, when privileges are required, fail) a privileged test before its fixtures run."""
    if item.get_closest_marker("privileged") and H.missing:
        reason = "privileged test cannot run: " + "; ".join(H.missing)
        if REQUIRE_PRIVILEGES:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI, report a skipped privileged test as failed: CI must prove the real thing ran."""
    outcome = yield
    rep = outcome.get_result()
    if (rep.skipped and not hasattr(rep, "wasxfail") and item.get_closest_marker("privileged")
            and (IN_CI or REQUIRE_PRIVILEGES)):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"privileged test skipped in CI ({reason})"


# -- fixtures -----------------------------------------------------------------------------------------

def _cli():
    """The command that runs the CLI: the venv's ``pydock`` script, or the same entry point by hand."""
    script = os.path.join(sysconfig.get_path("scripts"), "pydock")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-c",
            "import sys; sys.argv[0] = 'pydock'; from pydock_edu.cli.main import main; sys.exit(main())"]


def run_pydock(*args, input=None, timeout=120, env=None, cwd=None, check=False):
    """Run ``pydock ARGS...`` with the test PYDOCK_ROOT; return the ``subprocess.CompletedProcess``.

    ``stdout`` and ``stderr`` are text. ``env`` adds variables to the environment. With ``check=True`` a
    non-zero exit fails the test with the command's output.
    """
    full_env = dict(os.environ, **(env or {}))
    cmd = _cli() + [str(a) for a in args]
    res = subprocess.run(cmd, input=input, capture_output=True, text=True, errors="replace",
                         timeout=timeout, env=full_env, cwd=cwd)
    if check and res.returncode != 0:
        pytest.fail(f"pydock {' '.join(map(str, args))} exited {res.returncode}\n"
                    f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}", pytrace=False)
    return res


@pytest.fixture
def pydock():
    """``pydock(*args, input=None, timeout=120, env=None, cwd=None, check=False)`` runs the CLI."""
    return run_pydock


@pytest.fixture(scope="session")
def busybox_image():
    """The built-in ``busybox`` image, made once per session from the host's static busybox."""
    run_pydock("image", "bootstrap", "busybox", timeout=300, check=True)
    return "busybox"


@pytest.fixture
def run(pydock, busybox_image):
    """``run(ARGS..., **kwargs)``: ``pydock run --network none ARGS...`` (for tests not about networks)."""

    def run_(*args, **kwargs):
        return pydock("run", "--network", "none", *args, **kwargs)

    return run_


@pytest.fixture
def create(pydock, busybox_image):
    """``create(ARGS...)``: ``pydock create --network none ARGS...``; returns the new container's ID."""

    def create_(*args):
        return pydock("create", "--network", "none", *args, check=True).stdout.strip()

    return create_


@pytest.fixture(scope="session")
def pydock_root():
    """The session's PYDOCK_ROOT."""
    return H.root


# -- the leftover check -------------------------------------------------------------------------------

def _under(path, root):
    return path == root or path.startswith(root + "/")


def _leftover_mounts(root):
    """Mount points under ``root``, and mounts whose source or options name it (overlay layers)."""
    points = {point for _, _, point, line in _mountinfo() if _under(point, root) or root in line}
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if root in _unescape(line):
                points.add(_unescape(fields[1]))
    return sorted(points)


def _cgroup_parents():
    name = H.cgroup_parent
    return [d for d in glob.glob(f"/sys/fs/cgroup/{name}") + glob.glob(f"/sys/fs/cgroup/*/{name}")
            if os.path.isdir(d)]


def _cgroup_children(parent):
    """Every cgroup below ``parent``, deepest first."""
    found = [os.path.join(d, s) for d, subdirs, _ in os.walk(parent) for s in subdirs]
    return sorted(found, key=lambda p: p.count("/"), reverse=True)


def _leftover_processes(root):
    """Processes (pid, cmdline) of this session other than pytest itself: shims (their environment or
    command line names the test root), containers (in the session's cgroups) and anything else still in
    the session's network namespace."""
    me = os.getpid()
    my_net = os.readlink("/proc/self/ns/net") if H.isolated else None
    in_cgroups = re.compile(rf"/{re.escape(H.cgroup_parent)}(/|$)", re.M)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        base = f"/proc/{entry}"
        try:
            with open(f"{base}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"{base}/environ", "rb") as f:
                environ = f.read()
            with open(f"{base}/cgroup") as f:
                cgroups = f.read()
            net = os.readlink(f"{base}/ns/net")
        except OSError:  # gone, a kernel thread or a zombie
            continue
        if (root.encode() in cmdline or root.encode() in environ or in_cgroups.search(cgroups)
                or (my_net and net == my_net)):
            found.append((int(entry), cmdline.replace(b"\0", b" ").decode(errors="replace").strip()))
    return found


def _leftover_links():
    if not H.isolated:
        return []
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]
    return [n for n in names if n != "lo"]


def _kill(pids):
    """SIGKILL the session's leftover processes (thawing frozen cgroups first), by pid."""
    for parent in _cgroup_parents():
        for cg in _cgroup_children(parent):
            for name, value in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
                try:
                    with open(os.path.join(cg, name), "w") as f:
                        f.write(value)
                except OSError:
                    pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)


def _alive(pid):
    """True while ``pid`` runs; reaps it if it is pytest's own child."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _find_leftovers():
    """Everything the session left behind, as (kind, description) pairs."""
    left = [("mount", m) for m in _leftover_mounts(H.root)]
    for parent in _cgroup_parents():
        left += [("cgroup", c) for c in _cgroup_children(parent)]
    left += [("process", f"{pid} {cmd}") for pid, cmd in _leftover_processes(H.root)]
    left += [("link", n) for n in _leftover_links()]
    if H.iptables_start is not None:
        now = _iptables_rules() or set()
        left += [("iptables", r) for r in sorted(now - H.iptables_start)]
    return left


def _clean_up():
    """Remove what is left: processes, mounts, cgroups. Return a problem that remains, or None."""
    procs = _leftover_processes(H.root)
    if procs:
        _kill([pid for pid, _ in procs])
    for point in sorted(_leftover_mounts(H.root), key=len, reverse=True):
        try:
            _umount(point)
        except OSError:
            pass
    for parent in _cgroup_parents():
        for cg in _cgroup_children(parent) + [parent]:
            try:
                os.rmdir(cg)
            except OSError:
                pass
    still = _leftover_mounts(H.root)
    if still:  # never delete through a mount: it could be a bind mount of a host directory
        return f"kept {H.root}: still mounted: {', '.join(still)}"
    return None


def _report_leftovers(session):
    """Check for leftovers, clean them up, and report them; return True if there were any."""
    left = [item for item in _find_leftovers() if item not in H.reported]
    H.reported.update(left)  # links and rules vanish with the namespace: report them only once
    problem = _clean_up()
    if not left:
        return False
    lines = [f"{kind:9} {what}" for kind, what in left] + ([problem] if problem else [])
    session.config.hook.pytest_runtest_logreport(report=pytest.TestReport(
        nodeid="tests/conftest.py::leftover-check", location=("tests/conftest.py", None, "leftover-check"),
        keywords={}, outcome="failed", when="call",
        longrepr="the test session left these behind (removed where possible):\n" + "\n".join(lines)))
    return True


def _network_teardown():
    """Take down the host networking that persists by design, as ``docker0`` does (the default
    bridge ``pydock0`` and pydock's iptables chains), through the engine's own teardown, which
    only removes what no container uses: whatever a container still holds is reported below."""
    if not H.isolated:
        return
    from pydock_edu.network.manager import Networks

    Networks().teardown()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session):
    """After the last test (all fixtures torn down): anything left behind is one more failure."""
    yield
    if H.configured:
        _network_teardown()
        _report_leftovers(session)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """Last look (for sessions that stopped before or inside the test loop), then remove the test root."""
    if not H.configured:
        return
    if _report_leftovers(session) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if os.path.isdir(H.root) and not _leftover_mounts(H.root):
        shutil.rmtree(H.root, ignore_errors=True)
