"""Issue 11, point 5: an image config from outside is checked once, at the door, before it is stored.

Fields of the wrong type (``"Cmd": 5``, ``"history": "x"``, ...) are refused by ``load`` and ``pull``
with one line naming the field, and nothing is stored; a config that merely leaves out what the
OCI spec lets it leave out (``created``) loads, and every command copes with it.
"""
# ruff: noqa: F811 (the fixtures imported from sec_image_helpers are the tests' parameters)

import json

import pytest
from sec_image_helpers import (  # noqa: F401
    busybox_layer,
    config,
    crafted_registry,
    image_tarball,
    module_root,
    no_traceback,
    one_line_error,
    own_root,
    sha256,
    store_listing,
)

pytestmark = pytest.mark.privileged

LAYER = busybox_layer()


def base():
    return config([sha256(LAYER)])


def with_container_config(**fields):
    document = base()
    document["config"] = {**document["config"], **fields}
    return document


BAD_CONFIGS = {
    "created-number": (dict(base(), created=12345), "created"),
    "created-garbage": (dict(base(), created="yesterday"), "created"),
    "config-string": (dict(base(), config="x"), "config"),
    "cmd-number": (with_container_config(Cmd=5), "config.Cmd"),
    "entrypoint-string": (with_container_config(Entrypoint="sh"), "config.Entrypoint"),
    "env-numbers": (with_container_config(Env=[1, 2]), "config.Env"),
    "labels-list": (with_container_config(Labels=["a", "b"]), "config.Labels"),
    "labels-values": (with_container_config(Labels={"a": 1}), "config.Labels"),
    "volumes-list": (with_container_config(Volumes=["/data"]), "config.Volumes"),
    "ports-garbage": (with_container_config(ExposedPorts={"http": {}}), "config.ExposedPorts"),
    "workdir-list": (with_container_config(WorkingDir=["/"]), "config.WorkingDir"),
    "healthcheck-test": (with_container_config(Healthcheck={"Test": "true"}), "config.Healthcheck.Test"),
    "history-string": (dict(base(), history="x"), "history"),
    "history-entries": (dict(base(), history=[5]), "history[0]"),
    "rootfs-missing": (dict(base(), rootfs=None), "rootfs"),
    "diff-ids-string": (dict(base(), rootfs={"type": "layers", "diff_ids": "x"}), "rootfs.diff_ids"),
    "not-an-object": ([1, 2], "document"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_load_refuses_a_config_with_fields_of_the_wrong_type(module_root, tmp_path, case):
    document, field = BAD_CONFIGS[case]
    tarball = tmp_path / "bad.tar"
    image_tarball(tarball, document, [LAYER], tags=["bad:1"])
    before = store_listing(module_root.path)

    line = one_line_error(module_root.pydock("load", "-i", tarball))

    assert f"{field} " in line, line
    assert store_listing(module_root.path) == before


@pytest.mark.parametrize("case", ["cmd-number", "history-string", "labels-list"])
def test_pull_refuses_a_config_with_fields_of_the_wrong_type(module_root, crafted_registry, case):
    document, field = BAD_CONFIGS[case]
    name = crafted_registry.serve_image("bad", "1", document, [LAYER])
    before = store_listing(module_root.path)

    line = one_line_error(module_root.pydock("pull", name))

    assert f"{field} " in line, line
    assert store_listing(module_root.path) == before


def test_a_config_without_created_loads_and_every_command_copes(own_root, tmp_path):
    """OCI makes ``created`` optional: images shows N/A, inspect the zero time, run and build work."""
    tarball = tmp_path / "old.tar"
    document = base()
    del document["created"]
    document["history"] = [{"created_by": "crafted"}]
    document["config"] = None
    image_id = image_tarball(tarball, document, [LAYER], tags=["nodate:1"])
    assert own_root.pydock("load", "-i", tarball).returncode == 0

    images = no_traceback(own_root.pydock("images"))
    assert images.returncode == 0
    row = next(line for line in images.stdout.splitlines() if line.startswith("nodate"))
    assert "N/A" in row and image_id[7:19] in row
    assert "busybox" in images.stdout
    inspect = own_root.pydock("image", "inspect", "nodate:1")
    assert json.loads(inspect.stdout)[0]["Created"] == "0001-01-01T00:00:00Z"
    assert no_traceback(own_root.pydock("history", "nodate:1")).returncode == 0
    assert no_traceback(own_root.pydock("images", "--filter", "since=nodate:1")).returncode == 0
    run = own_root.pydock("run", "--rm", "--network", "none", "nodate:1", "/bin/busybox", "cat", "/etc/motd")
    assert run.returncode == 0 and run.stdout == "crafted\n", run.stderr
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM nodate:1\nCMD [\"/bin/busybox\", \"true\"]\n")
    build = no_traceback(own_root.pydock("build", "-t", "built:1", context))
    assert build.returncode == 0, build.stdout + build.stderr
    assert "built" in own_root.pydock("images").stdout
