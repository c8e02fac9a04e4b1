"""Small helpers shared by the integration tests (plain functions; the fixtures are in conftest.py)."""

import os
import time

import pytest


def inspect(pydock, ref, template):
    """``pydock inspect -f TEMPLATE REF``, stripped."""
    res = pydock("inspect", "-f", template, ref, check=True)
    return res.stdout.strip()


def container_dir(cid):
    return os.path.join(os.environ["PYDOCK_ROOT"], "containers", cid)


def cgroup_file(cid, controller, name):
    """A control file of the container's cgroup (v1: one hierarchy per controller; v2: unified)."""
    parent = os.environ["PYDOCK_CGROUP_PARENT"]
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return f"/sys/fs/cgroup/{parent}/{cid}/{name}"
    return f"/sys/fs/cgroup/{controller}/{parent}/{cid}/{name}"


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Poll ``predicate`` until it returns something true; return that, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {predicate.__doc__ or predicate}")
        time.sleep(interval)


def assert_one_line_error(res, code=None):
    """A failed command: the given exit code (or any non-zero one), one line on stderr, no traceback."""
    assert res.returncode != 0, res.stdout
    if code is not None:
        assert res.returncode == code, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("Error"), res.stderr
