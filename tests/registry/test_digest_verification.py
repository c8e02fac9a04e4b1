"""Every blob and manifest is verified: tampered content in the registry's storage is an error, and
nothing of the image is stored (no layer, no half layer, no config, no tag)."""

import json
import os
import urllib.request

import pytest

from pydock_edu.image import store

pytestmark = pytest.mark.privileged


def store_contents():
    """What the image store holds: layer directories, configs, names, and staging leftovers."""
    images = store.ImageStore()
    return {"layers": sorted(os.listdir(os.path.join(images.root, "layers"))),
            "configs": sorted(os.listdir(os.path.join(images.root, "configs"))),
            "names": images.repositories(),
            "staging": os.listdir(os.path.join(images.root, "tmp"))}


@pytest.fixture
def pushed_image(pydock, new_registry, make_image, forget_image, unique):
    """An image with two fresh layers, pushed to a registry of its own, then deleted here.

    Returns (registry, name, manifest document, manifest digest).
    """
    server = new_registry()
    name = f"{server.host}/tamper-{unique}:1"
    make_image(name, [{"first.bin": os.urandom(400_000)}, {"second.bin": os.urandom(400_000)}])
    pydock("push", name, check=True)
    request = urllib.request.Request(f"http://{server.host}/v2/tamper-{unique}/manifests/1",
                                     headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(request) as response:
        document = json.loads(response.read())
        digest = response.headers["Docker-Content-Digest"]
    forget_image(name)
    return server, name, document, digest


def flip_middle_byte(path):
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_a_tampered_layer_stores_nothing(pydock, pushed_image):
    server, name, document, _ = pushed_image
    tampered = document["layers"][-1]["digest"]
    flip_middle_byte(server.blob_file(tampered))
    before = store_contents()

    pulled = pydock("pull", name)
    assert pulled.returncode == 1
    assert pulled.stderr == f"Error: filesystem layer verification failed for digest {tampered}\n"
    assert store_contents() == before  # the good first layer was not kept either


def test_a_tampered_config_stores_nothing(pydock, pushed_image):
    server, name, document, _ = pushed_image
    config = document["config"]["digest"]
    path = server.blob_file(config)
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data.replace(b'"os":"linux"', b'"os":"linuy"'))
    before = store_contents()

    pulled = pydock("pull", name)
    assert pulled.returncode == 1
    assert pulled.stderr == f"Error: image config verification failed for digest {config}\n"
    assert store_contents() == before


@pytest.mark.parametrize("by", ["tag", "digest"])
def test_a_tampered_manifest_stores_nothing(pydock, pushed_image, by):
    server, name, _, digest = pushed_image
    path = server.blob_file(digest)
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data.replace(b'"schemaVersion": 2', b'"schemaVersion":  2'))  # still valid JSON
    before = store_contents()

    pulled = pydock("pull", name if by == "tag" else name.rsplit(":", 1)[0] + "@" + digest)
    assert pulled.returncode == 1
    assert pulled.stderr == f"Error: manifest verification failed for digest {digest}\n"
    assert store_contents() == before
