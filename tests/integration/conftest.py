"""Helpers for the integration tests of the engine foundation.

Containers here use ``--network none``: these tests are not about networking, and the default
bridge would leave its ``pydock0`` link and firewall rules in the session's namespace, which the
leftover check of ``tests/conftest.py`` reports. Every container a test makes is force-removed
after it.
"""

import pytest


@pytest.fixture
def run(pydock, busybox_image):
    """``run(ARGS..., input=None, timeout=120)``: ``pydock run --network none ARGS...``."""

    def run_(*args, **kwargs):
        return pydock("run", "--network", "none", *args, **kwargs)

    return run_


@pytest.fixture
def create(pydock, busybox_image):
    """``create(ARGS...)``: ``pydock create --network none ARGS...``; returns the new container's ID."""

    def create_(*args):
        res = pydock("create", "--network", "none", *args, check=True)
        return res.stdout.strip()

    return create_


@pytest.fixture
def detached(run):
    """``detached(ARGS...)``: ``pydock run -d --network none ARGS...``; returns the container's ID."""

    def detached_(*args):
        res = run("-d", *args)
        assert res.returncode == 0, res.stderr
        return res.stdout.strip()

    return detached_


@pytest.fixture(autouse=True)
def _remove_containers(request):
    """After each privileged test, force-remove every container it left."""
    yield
    if request.node.get_closest_marker("privileged") is None:
        return
    from pydock_edu.engine import Engine

    engine = Engine()
    for record in engine.containers(all=True):
        engine.remove(record["Id"], force=True)

