"""Issue 13: the runtime's helpers (the shim that creates a container's cgroup, exec) start from every install.

Helpers are ``python -S`` interpreters that receive the caller's ``sys.path``. setuptools' default
editable install (``pip install -e .``) finds the package through an import hook installed by a
``.pth`` file, which ``-S`` skips: every container start failed with "No module named 'pydock_edu'"
unless the current directory was the checkout. (The compat and strict editable modes put a plain path
entry on ``sys.path``; setup.sh uses compat, so the rest of the suite covers it.) Each install below is made in a throwaway venv in
/var/tmp (a copy of the sources, so the checkout stays clean; pip fetches the build backend from
the package index as a user's install does) and runs a container from ``/``, without PYTHONPATH.
"""

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

pytestmark = pytest.mark.privileged

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def venv():
    """A venv from the interpreter the tests run on, and a copy of the sources to install from it."""
    work = tempfile.mkdtemp(prefix="pydock-test-install-", dir="/var/tmp")
    try:
        source = os.path.join(work, "src")
        os.mkdir(source)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(os.path.join(CHECKOUT, name), source)
        shutil.copytree(os.path.join(CHECKOUT, "pydock_edu"), os.path.join(source, "pydock_edu"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", os.path.join(work, "venv")], check=True, capture_output=True)
        yield os.path.join(work, "venv"), source
    finally:
        shutil.rmtree(work)


@pytest.mark.parametrize("install", [("-e",), ()], ids=["editable-default", "wheel"])
def test_a_container_starts_from_this_install(venv, install, busybox_image):
    prefix, source = venv
    pip = [os.path.join(prefix, "bin", "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + ["uninstall", "-y", "pydock_edu"], capture_output=True, check=False)
    res = subprocess.run(pip + ["install", "--no-deps", *install, source], capture_output=True, text=True,
                         timeout=600, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run([os.path.join(prefix, "bin", "pydock"), "run", "--rm", "--network", "none", "busybox",
                          "echo", "started"], cwd="/", env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert (res.returncode, res.stdout) == (0, "started\n"), res.stderr
