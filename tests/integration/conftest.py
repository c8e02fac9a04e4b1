"""Helpers for the integration tests of the engine foundation.

Containers here use ``--network none`` (the ``run`` and ``create`` fixtures of ``tests/conftest.py``):
these tests are not about networking. Every container a test makes is force-removed after it.
"""

import pytest


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

