"""Helpers for the build tests: contexts written into tmp_path, builds run through the CLI.

RUN steps and containers use ``--network none``: these tests are about images, and the default
bridge would leave its link and firewall rules in the session's namespace (see
``tests/integration/conftest.py``). Containers a test starts are force-removed after it.
"""

import json

import pytest


@pytest.fixture
def context(tmp_path):
    """``context({"Dockerfile": text, "dir/file": text or bytes, ...})``: a build context directory."""

    def make(files, name="ctx"):
        root = tmp_path / name
        root.mkdir(exist_ok=True)
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        return root

    return make


@pytest.fixture
def build(pydock, busybox_image):
    """``build(context_dir, *flags, check=True, input=None)``: ``pydock build --network none``."""

    def build_(root, *flags, check=True, input=None, env=None):
        return pydock("build", "--network", "none", *flags, str(root), check=check, input=input, env=env,
                      timeout=300)

    return build_


@pytest.fixture
def run(pydock):
    """``run(image, *command)``: the output of ``pydock run --rm --network none image command``."""

    def run_(*args, check=True):
        res = pydock("run", "--rm", "--network", "none", *args, check=check)
        return res.stdout if check else res

    return run_


@pytest.fixture
def started(pydock):
    """``started(*run_args)``: ``pydock run -d --network none``; the containers go when the test ends."""
    ids = []

    def start(*args):
        res = pydock("run", "-d", "--network", "none", *args, check=True)
        ids.append(res.stdout.strip())
        return ids[-1]

    yield start
    if ids:
        pydock("rm", "-f", *ids)


@pytest.fixture
def image_config(pydock):
    """``image_config(name)``: the ``Config`` of ``pydock image inspect``."""

    def config(name):
        return json.loads(pydock("image", "inspect", name, check=True).stdout)[0]["Config"]

    return config
