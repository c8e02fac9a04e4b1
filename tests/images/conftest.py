"""Fixtures for the image tests: containers and images that are removed after each test.

Containers use ``--network none``: these tests are about files and images, not networks.
"""

import os
import shutil
import uuid

import pytest


@pytest.fixture
def unique():
    """A short unique word for names of containers and images."""
    return "t" + uuid.uuid4().hex[:8]


@pytest.fixture
def containers(pydock, busybox_image):
    """``containers.run(ARGS...)`` / ``containers.create(ARGS...)``: a container (``--network none``) whose
    ID is returned; every one is force-removed after the test."""

    class Containers:
        made = []

        def _make(self, verb, args, detach):
            res = pydock(verb, "--network", "none", *(["-d"] if detach else []), *args)
            assert res.returncode == 0, res.stderr
            cid = res.stdout.strip().splitlines()[-1] if detach or verb == "create" else None
            self.made.append(cid or args[args.index("--name") + 1])
            return cid

        def run(self, *args, detach=False):
            return self._make("run", list(args), detach)

        def create(self, *args):
            return self._make("create", list(args), False)

    made = Containers()
    yield made
    for ref in made.made:
        pydock("rm", "-f", "-v", ref)


@pytest.fixture
def images(pydock):
    """``images.track(NAME)``: remove the image NAME (forced) after the test."""

    class Images:
        names = []

        def track(self, name):
            self.names.append(name)
            return name

    tracked = Images()
    yield tracked
    for name in reversed(tracked.names):
        pydock("rmi", "-f", name)


@pytest.fixture
def other_root(pydock_root, unique):
    """A second, empty PYDOCK_ROOT (another machine's engine, for save/load round trips)."""
    path = os.path.join(pydock_root, "other-" + unique)
    yield path
    shutil.rmtree(path, ignore_errors=True)
