"""Issue 11, point 6 (images): damaged image state is reported once, in one line, and the rest still works.

Each test damages a private state root as a crash or a careless edit would: garbage in
repositories.json, in one image's config file, in an image's or a layer's record.
"""
# ruff: noqa: F811 (the fixtures imported from sec_image_helpers are the tests' parameters)

import json
import os

import pytest
from sec_image_helpers import (  # noqa: F401
    busybox_layer,
    config,
    image_tarball,
    no_traceback,
    one_line_error,
    own_root,
    sha256,
)

pytestmark = pytest.mark.privileged


def load_second_image(root, tmp_path):
    layer = busybox_layer()
    tarball = tmp_path / "second.tar"
    image_id = image_tarball(tarball, config([sha256(layer)]), [layer], tags=["victim:1"])
    root.pydock("load", "-i", tarball, check=True)
    return image_id


def warnings(res):
    return [line for line in res.stderr.splitlines() if line.startswith("WARNING: ")]


@pytest.mark.parametrize("garbage", [b"{not json", b"[1, 2]", b'{"BAD KEY": 5, "docker.io/library/x:1": "sha256:../x"}'])
def test_garbage_in_repositories_json(own_root, tmp_path, garbage):
    image_id = load_second_image(own_root, tmp_path)
    with open(own_root.file("repositories.json"), "wb") as f:
        f.write(garbage)

    images = no_traceback(own_root.pydock("images"))

    assert images.returncode == 0
    assert image_id[7:19] in images.stdout  # the image is still listed (untagged now)
    assert warnings(images) and all("repositories.json" in line for line in warnings(images))
    assert len(set(warnings(images))) == len(warnings(images))  # each damage once
    assert no_traceback(own_root.pydock("image", "inspect", image_id)).returncode == 0
    assert no_traceback(own_root.pydock("history", image_id)).returncode == 0
    run = no_traceback(own_root.pydock("run", "--rm", "--network", "none", image_id, "/bin/busybox", "true"))
    assert run.returncode == 0, run.stderr
    assert own_root.pydock("tag", image_id, "again:1").returncode == 0  # the names can be made again
    assert "again" in own_root.pydock("images").stdout
    rmi = no_traceback(own_root.pydock("rmi", "again:1"))
    assert rmi.returncode == 0 and f"Deleted: {image_id}" in rmi.stdout


@pytest.mark.parametrize("garbage", [b"garbage", b'{"rootfs": {"type": "layers", "diff_ids": []}, "config": {"Cmd": 5}}',
                                     b'{"rootfs": {"type": "layers", "diff_ids": ["sha256:../../../tmp"]}}'])
def test_a_damaged_config_file_leaves_the_other_images_usable(own_root, tmp_path, garbage):
    image_id = load_second_image(own_root, tmp_path)
    with open(own_root.file("configs", image_id[7:] + ".json"), "wb") as f:
        f.write(garbage)

    images = no_traceback(own_root.pydock("images"))
    assert images.returncode == 0 and "busybox" in images.stdout and "victim" not in images.stdout
    assert len(warnings(images)) == 1 and image_id in warnings(images)[0]

    for args in (["history", "victim:1"], ["image", "inspect", "victim:1"], ["save", "victim:1"]):
        assert f"damaged image {image_id}" in one_line_error(own_root.pydock(*args))
    run = no_traceback(own_root.pydock("run", "--rm", "--network", "none", "victim:1", "/bin/busybox", "true"))
    assert run.returncode != 0 and f"damaged image {image_id}" in run.stderr
    assert no_traceback(own_root.pydock("run", "--rm", "--network", "none", "busybox", "true")).returncode == 0
    assert no_traceback(own_root.pydock("image", "prune", "-f")).returncode == 0
    rmi = no_traceback(own_root.pydock("rmi", "victim:1"))
    assert rmi.returncode == 0 and f"Deleted: {image_id}" in rmi.stdout
    after = own_root.pydock("images")
    assert not warnings(after) and "busybox" in after.stdout


def test_damaged_image_and_layer_records(own_root, tmp_path):
    image_id = load_second_image(own_root, tmp_path)
    meta = own_root.file("meta", image_id[7:] + ".json")
    with open(meta, "w") as f:
        f.write('{"parent": "sha256:../../x", "digests": 5')
    layer_dir = os.listdir(own_root.file("layers"))
    for name in layer_dir:
        with open(own_root.file("layers", name, "layer.json"), "w") as f:
            f.write("[garbage")

    for args in (["images"], ["history", "victim:1"], ["image", "inspect", "victim:1"]):
        res = no_traceback(own_root.pydock(*args))
        assert res.returncode == 0 and warnings(res), (args, res.stderr)
    assert json.loads(own_root.pydock("image", "inspect", "victim:1").stdout)[0]["Id"] == image_id
    rmi = no_traceback(own_root.pydock("rmi", "victim:1"))
    assert rmi.returncode == 0, rmi.stderr


def test_a_parent_cycle_in_image_records_does_not_hang_history(own_root, tmp_path):
    image_id = load_second_image(own_root, tmp_path)
    busybox_id = own_root.pydock("images", "-q", "--no-trunc", "busybox").stdout.split()[0]
    for one, other in ((image_id, busybox_id), (busybox_id, image_id)):
        with open(own_root.file("meta", one[7:] + ".json"), "w") as f:
            json.dump({"parent": other}, f)

    res = no_traceback(own_root.pydock("history", "victim:1", timeout=30))

    assert res.returncode == 0 and image_id[7:19] in res.stdout
