"""Point 3 of the safety issue: another local user must not reach the engine's state.

With a world-traversable state root, a container (root inside) that makes a setuid-root copy of a
program in its writable layer hands every local user euid 0: the file is right there on the host, in
``$PYDOCK_ROOT/containers/ID/diff/``. The same user would read the ``-e`` secrets in the container's
record and its log. The attacker here is a temporary unprivileged user made by the test; its probe
is a tiny static program (the venv's interpreter may not be readable by that user).
"""

import os
import shutil
import stat
import subprocess
import tempfile

import pytest

pytestmark = pytest.mark.privileged

PROBE_C = r"""
#include <stdio.h>
#include <unistd.h>
int main(void) { printf("euid=%d\n", (int)geteuid()); return 0; }
"""


@pytest.fixture
def attacker():
    """(uid, gid) of a throw-away unprivileged user, deleted after the test whatever happens."""
    if not shutil.which("useradd") or not shutil.which("userdel"):
        pytest.fail("useradd/userdel are needed for the local-user attack")
    name = "pdsec" + os.urandom(4).hex()
    subprocess.run(["useradd", "--system", "--no-create-home", "--no-user-group", "--gid", "nogroup",
                    "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True)
    try:
        import pwd

        entry = pwd.getpwnam(name)
        yield entry.pw_uid, entry.pw_gid
    finally:
        subprocess.run(["userdel", name], check=True, capture_output=True)


@pytest.fixture
def workdir():
    """A directory every user may enter (its parent /var/tmp is too), removed afterwards."""
    path = tempfile.mkdtemp(prefix="pydock-sec-state-", dir="/var/tmp")
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def probe(workdir):
    """A static program that prints its effective uid, readable and executable by everyone."""
    source = os.path.join(workdir, "probe.c")
    with open(source, "w") as f:
        f.write(PROBE_C)
    binary = os.path.join(workdir, "bin", "probe")
    os.mkdir(os.path.dirname(binary), 0o755)
    subprocess.run(["gcc", "-static", "-O2", "-o", binary, source], check=True, capture_output=True)
    os.chmod(binary, 0o755)
    return binary


def as_user(user, argv):
    """Run ``argv`` as the attacker; (exit code, output). An exec that is refused counts as exit 126."""
    uid, gid = user
    try:
        res = subprocess.run(argv, user=uid, group=gid, extra_groups=[], capture_output=True, text=True, check=False,
                             timeout=30, cwd="/")
    except PermissionError as e:
        return 126, str(e)
    return res.returncode, res.stdout + res.stderr


def test_another_user_reaches_no_setuid_file_secret_or_log(pydock, attacker, workdir, probe):
    root = os.path.join(workdir, "root")  # a fresh state root, made by pydock itself
    env = {"PYDOCK_ROOT": root}
    pydock("image", "bootstrap", "busybox", env=env, timeout=300, check=True)
    assert as_user(attacker, [probe]) == (0, f"euid={attacker[0]}\n")  # the probe works for that user
    try:
        pydock("run", "--name", "planter", "--network", "none", "-e", "SECRET=hunter2-in-env",
               "-v", f"{os.path.dirname(probe)}:/probe:ro", "busybox", "sh", "-c",
               "cp /probe/probe /rootshell && chmod 4755 /rootshell && echo hunter2-in-log",
               env=env, check=True)
        cid = pydock("inspect", "-f", "{{.Id}}", "planter", env=env, check=True).stdout.strip()
        directory = os.path.join(root, "containers", cid)
        planted = os.path.join(directory, "diff", "rootshell")
        assert stat.S_IMODE(os.stat(planted).st_mode) == 0o4755  # the layer keeps the container's modes
        code, out = as_user(attacker, [planted])
        assert "euid=0" not in out and code != 0, out
        for secret in ("config.v2.json", f"{cid}-json.log"):
            code, out = as_user(attacker, ["cat", os.path.join(directory, secret)])
            assert code != 0 and "hunter2" not in out, out
        code, out = as_user(attacker, ["ls", root])
        assert code != 0, out
        assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
    finally:
        pydock("rm", "-f", "planter", env=env)


def test_containers_running_as_other_users_still_use_their_files(pydock, run):
    """The protection is the root's mode alone: layers, upper dirs and volumes keep theirs."""
    pydock("volume", "create", "sec-state-shared", check=True)
    try:
        run("--rm", "-v", "sec-state-shared:/data", "busybox", "sh", "-c", "echo from-root > /data/f", check=True)
        res = run("--rm", "--user", "1000:1000", "-v", "sec-state-shared:/data", "busybox", "sh", "-c",
                  "id -u; cat /etc/hostname > /dev/null; cat /data/f; echo upper > /tmp/x && cat /tmp/x")
        assert (res.returncode, res.stdout) == (0, "1000\nfrom-root\nupper\n"), res.stderr
    finally:
        pydock("volume", "rm", "sec-state-shared")


def test_an_open_state_root_is_closed_by_the_next_command(pydock, pydock_root):
    os.chmod(pydock_root, 0o755)  # as an older pydock (or a hand-made root) left it
    try:
        assert pydock("ps", "-a").returncode == 0
        assert stat.S_IMODE(os.stat(pydock_root).st_mode) == 0o700
    finally:
        os.chmod(pydock_root, 0o700)


def test_a_new_state_root_is_private(pydock, workdir):
    root = os.path.join(workdir, "fresh", "root")
    assert pydock("volume", "ls", env={"PYDOCK_ROOT": root}).returncode == 0
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
