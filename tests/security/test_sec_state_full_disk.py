"""Point 6 of the safety issue, writing: a state root on a full filesystem.

The state root lives on a small tmpfs mounted by the test (in the session's private mount namespace),
filled to the last byte. Every create must then fail in one line (exit 1, or 125 for run/create) and
leave nothing half-made behind (no volume that can be neither created nor removed, no directory
without its record, no ``*.tmp`` file); removing still works; once space is freed, everything works.
"""

import ctypes
import errno
import glob
import os
import re
import shutil
import subprocess
import tempfile

import pytest

pytestmark = pytest.mark.privileged

_libc = ctypes.CDLL("libc.so.6", use_errno=True)
MNT_DETACH = 2


def mount_tmpfs(target, size):
    if _libc.mount(b"tmpfs", target.encode(), b"tmpfs", 0, f"size={size},mode=0755".encode()) != 0:
        raise OSError(ctypes.get_errno(), "mount tmpfs")


def fill(directory):
    """Write a filler file until the filesystem refuses another byte."""
    with open(os.path.join(directory, "filler"), "wb", buffering=0) as f:
        chunk = b"\0" * 65536
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC
                if len(chunk) == 1:
                    return
                chunk = chunk[: len(chunk) // 2]


def bridges():
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return sorted(re.findall(r"^\d+: (pd-[0-9a-f]+)", out, re.MULTILINE))


def one_line_error(res, code):
    assert "Traceback" not in res.stderr, res.stderr
    assert (res.returncode, res.stderr.count("\n")) == (code, 1), res.stderr
    assert res.stderr.startswith("Error") and "no space left on device" in res.stderr, res.stderr


def half_made(root):
    """Files and directories only a half-done write leaves: temporary files, hidden staging directories."""
    return sorted(glob.glob(f"{root}/**/*.tmp*", recursive=True) + glob.glob(f"{root}/**/.new-*", recursive=True)
                  + glob.glob(f"{root}/**/.rm-*", recursive=True))


@pytest.fixture
def full_root(pydock):
    """A state root on a 24 MB tmpfs holding busybox, a container ``keep`` and a volume ``keepvol``."""
    mountpoint = tempfile.mkdtemp(prefix="pydock-sec-state-full-", dir="/var/tmp")
    mount_tmpfs(mountpoint, "24m")
    root = os.path.join(mountpoint, "root")

    def cli(*args, **kwargs):
        return pydock(*args, env={"PYDOCK_ROOT": root}, **kwargs)

    try:
        cli("image", "bootstrap", "busybox", timeout=300, check=True)
        cli("create", "--network", "none", "--name", "keep", "busybox", "true", check=True)
        cli("volume", "create", "keepvol", check=True)
        cli("network", "ls", check=True)  # the built-in networks' records
        yield mountpoint, root, cli
    finally:
        if os.path.exists(os.path.join(mountpoint, "filler")):
            os.unlink(os.path.join(mountpoint, "filler"))
        for cid in cli("ps", "-aq").stdout.split():
            cli("rm", "-f", cid)
        for name in cli("network", "ls", "-q", "-f", "name=full-").stdout.split():
            cli("network", "rm", name)
        _libc.umount2(mountpoint.encode(), MNT_DETACH)
        shutil.rmtree(mountpoint, ignore_errors=True)


def test_creates_on_a_full_disk_are_all_or_nothing(full_root):
    mountpoint, root, cli = full_root
    before_bridges = bridges()
    containers = sorted(os.listdir(os.path.join(root, "containers")))
    fill(mountpoint)

    for _ in range(2):  # a failed create leaves nothing that would stop the next one
        one_line_error(cli("volume", "create", "full-vol"), 1)
    one_line_error(cli("network", "create", "full-net"), 1)
    one_line_error(cli("create", "--network", "none", "--name", "full-c", "busybox", "true"), 125)
    one_line_error(cli("run", "--rm", "--network", "none", "-v", "/anon", "busybox", "true"), 125)
    one_line_error(cli("run", "--rm", "--network", "none", "-v", "full-named:/data", "busybox", "true"), 125)

    assert half_made(root) == []
    assert sorted(os.listdir(os.path.join(root, "containers"))) == containers
    assert cli("volume", "ls", "-q").stdout.split() == ["keepvol"]
    assert bridges() == before_bridges
    listed = cli("network", "ls", "--format", "{{.Name}}")
    assert (listed.returncode, sorted(listed.stdout.split())) == (0, ["bridge", "host", "none"]), listed.stderr
    assert cli("ps", "-a", "--format", "{{.Names}}").stdout == "keep\n"
    assert cli("volume", "rm", "full-vol").returncode == 1  # it never existed

    removed = cli("rm", "-f", "keep")  # removing frees space: it must work on a full disk
    assert removed.returncode == 0 and "Traceback" not in removed.stderr, removed.stderr
    removed = cli("volume", "rm", "keepvol")
    assert removed.returncode == 0 and "Traceback" not in removed.stderr, removed.stderr

    os.unlink(os.path.join(mountpoint, "filler"))
    assert cli("volume", "create", "full-vol").stdout == "full-vol\n"
    ran = cli("run", "--rm", "--network", "none", "-v", "full-vol:/data", "busybox", "sh", "-c", "echo ok > /data/f")
    assert ran.returncode == 0, ran.stderr
    assert cli("volume", "rm", "full-vol").returncode == 0
    assert cli("network", "create", "full-net").returncode == 0
    assert cli("network", "rm", "full-net").returncode == 0
    assert half_made(root) == [] and cli("volume", "ls", "-q").stdout == ""
