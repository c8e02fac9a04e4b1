"""After setup.sh: the `pydock` command is installed, answers, and the test sandbox is in place."""

import os
import subprocess
import sysconfig

import pytest


def test_console_script_installed():
    assert os.access(os.path.join(sysconfig.get_path("scripts"), "pydock"), os.X_OK)


def test_pydock_version(pydock):
    res = pydock("version")
    assert res.returncode == 0, res.stderr


@pytest.mark.privileged
def test_session_sandbox(pydock_root):
    """The suite runs in its own network namespace (only `lo`, up) with its own state root."""
    assert os.environ["PYDOCK_ROOT"] == pydock_root and pydock_root.startswith("/var/tmp/pydock-test-")
    assert os.environ["PYDOCK_CGROUP_PARENT"] == f"pydock-test-{os.getpid()}"
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"]
    assert "UP" in links.split("<")[1].split(">")[0]
    assert os.listdir("/sys/class/net") == ["lo"]
