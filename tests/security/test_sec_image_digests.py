"""Issue 11, point 1: a digest from an archive, a registry or a state file never names a host path.

The attack: an image config whose ``rootfs.diff_ids`` holds ``sha256:../../../var/tmp/X`` (or
``sha256:/var/tmp/X``) where X looks like a stored layer. On an engine that builds paths from
unchecked digests, ``load`` takes X for a layer it already has, ``run`` mounts it (the host file
inside is read from the container) and ``rmi`` deletes it.
"""
# ruff: noqa: F811 (the fixtures imported from sec_image_helpers are the tests' parameters)

import json
import os

import pytest
from sec_image_helpers import (  # noqa: F401
    SECRET,
    busybox_layer,
    canary,
    config,
    crafted_registry,
    image_tarball,
    make_tar,
    one_line_error,
    own_root,
    sha256,
    store_listing,
)

pytestmark = pytest.mark.privileged


def hostile_digests(canary_path):
    return {"relative": "sha256:" + "../" * 12 + canary_path.lstrip("/"), "absolute": "sha256:" + canary_path}


@pytest.mark.parametrize("kind", ["relative", "absolute"])
def test_load_refuses_a_diff_id_that_names_a_host_directory(own_root, canary, tmp_path, kind):
    layer = busybox_layer()
    hostile = hostile_digests(canary)[kind]
    tarball = tmp_path / "evil.tar"
    image_tarball(tarball, config([sha256(layer), hostile]), [layer, layer], tags=["evil:1"])
    before = store_listing(own_root.path)

    res = own_root.pydock("load", "-i", tarball)

    line = one_line_error(res)
    assert "rootfs.diff_ids[1]" in line and "not a digest" in line
    assert store_listing(own_root.path) == before  # nothing stored
    run = own_root.pydock("run", "--rm", "--network", "none", "evil:1", "/bin/busybox", "cat", "/hostfile")
    assert SECRET not in run.stdout and run.returncode == 125
    assert own_root.pydock("rmi", "evil:1").returncode == 1
    assert os.path.isfile(os.path.join(canary, "diff", "hostfile"))


def test_a_tag_that_points_outside_the_store_deletes_nothing(own_root, canary):
    """repositories.json damaged to point at ``sha256:../../X``: rmi must not follow it to X."""
    victim = canary + ".json"
    with open(victim, "w") as f:
        json.dump(config([]), f)
    target = "sha256:" + "../" * 12 + canary.lstrip("/")
    with open(own_root.file("repositories.json")) as f:
        tags = json.load(f)
    tags["docker.io/library/evil:1"] = target
    with open(own_root.file("repositories.json"), "w") as f:
        json.dump(tags, f)
    try:
        res = own_root.pydock("rmi", "evil:1")
        one_line_error(res)
        assert "damaged tag 'docker.io/library/evil:1'" in res.stderr
        assert os.path.exists(victim)
        images = own_root.pydock("images")
        assert images.returncode == 0 and "busybox" in images.stdout, images.stderr
    finally:
        if os.path.exists(victim):
            os.unlink(victim)


@pytest.mark.parametrize("kind", ["relative", "absolute"])
def test_pull_refuses_a_diff_id_that_names_a_host_directory(own_root, canary, crafted_registry, kind):
    layer = busybox_layer()
    name = crafted_registry.serve_image("evil", "1", config([sha256(layer), hostile_digests(canary)[kind]]),
                                        [layer, layer])
    before = store_listing(own_root.path)

    line = one_line_error(own_root.pydock("pull", name))

    assert "rootfs.diff_ids[1]" in line
    assert store_listing(own_root.path) == before
    run = own_root.pydock("run", "--rm", "--network", "none", name, "/bin/busybox", "cat", "/hostfile")
    assert SECRET not in run.stdout
    assert os.path.isfile(os.path.join(canary, "diff", "hostfile"))


def test_pull_all_tags_refuses_a_tag_list_with_paths(own_root, crafted_registry):
    """A registry that lists ``x/y`` as a tag: nothing is stored, and ``images`` keeps working."""
    layer = busybox_layer()
    crafted_registry.serve_image("app", "good", config([sha256(layer)]), [layer])
    manifest = crafted_registry.routes["/v2/app/manifests/good"]
    for tag in ("x/y", "-x"):
        crafted_registry.routes[f"/v2/app/manifests/{tag}"] = manifest
    crafted_registry.routes["/v2/app/tags/list"] = json.dumps({"name": "app", "tags": ["good", "x/y", "-x"]}).encode()
    before = store_listing(own_root.path)

    line = one_line_error(own_root.pydock("pull", "-a", f"{crafted_registry.address}/app"))

    assert "invalid tag" in line
    assert store_listing(own_root.path) == before
    images = own_root.pydock("images")
    assert images.returncode == 0 and "Traceback" not in images.stderr


def test_load_refuses_an_oci_index_that_leads_back_to_itself(own_root, tmp_path):
    """Blobs are named by their digest: an index stored under a name that is not its digest (here, one
    that names itself) is refused, instead of being followed until Python's recursion limit."""
    name = "a" * 64
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                                       "digest": "sha256:" + name, "size": 1}]}).encode()
    tarball = tmp_path / "cycle.tar"
    tarball.write_bytes(make_tar({"blobs": None, "blobs/sha256": None, f"blobs/sha256/{name}": index,
                                  "index.json": index, "oci-layout": b'{"imageLayoutVersion": "1.0.0"}'}))
    before = store_listing(own_root.path)

    assert "does not match its digest" in one_line_error(own_root.pydock("load", "-i", tarball))
    assert store_listing(own_root.path) == before
