"""skopeo (containers/image, an independent client) reads what pydock pushes, and pydock pulls and runs
what skopeo pushes: an OCI image layout made here from pydock's own layer tars."""

import gzip
import hashlib
import json
import os
import shutil
import subprocess

import pytest

from pydock_edu.image import manifest, store

pytestmark = pytest.mark.privileged
SKOPEO = shutil.which("skopeo")


def skopeo(*args):
    if SKOPEO is None:
        pytest.skip("skopeo is not installed (setup.sh installs it)")
    res = subprocess.run([SKOPEO, "--insecure-policy", *args], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


def sha256_file(path, opener=open):
    digest = hashlib.sha256()
    with opener(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def test_skopeo_reads_what_pydock_pushes(pydock, registry, make_image, unique, workdir):
    name = f"{registry.host}/to-skopeo-{unique}:1"
    image_id = make_image(name, [{"etc/motd": b"pushed by pydock\n"}, {"blob.bin": os.urandom(500_000)}])
    pushed = pydock("push", name, check=True)
    digest = pushed.stdout.split("1: digest: ")[1].split()[0]

    inspect = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{name}"))
    assert inspect["Digest"] == digest
    assert len(inspect["Layers"]) == 3 and inspect["Architecture"] == manifest.host_platform()[1]

    copy = workdir / "copy"
    skopeo("copy", "--src-tls-verify=false", f"docker://{name}", f"dir:{copy}")
    document = json.loads((copy / "manifest.json").read_text())
    assert document["mediaType"] == manifest.DOCKER_MANIFEST
    config_digest = document["config"]["digest"]
    assert config_digest == image_id == sha256_file(copy / config_digest.split(":")[1])
    diff_ids = [sha256_file(copy / layer["digest"].split(":")[1], gzip.open) for layer in document["layers"]]
    assert diff_ids == store.ImageStore().layers(image_id)


@pytest.mark.parametrize("form", ["oci", "v2s2"])
def test_pydock_pulls_and_runs_what_skopeo_pushes(pydock, registry, busybox_image, unique, workdir, registry_api, form):
    """An OCI layout (busybox's layer from pydock's store, plus one more) copied by skopeo as an OCI
    manifest, or converted to a Docker schema 2 manifest (``--format v2s2``)."""
    images = store.ImageStore()
    layout = workdir / "layout"
    (layout / "blobs" / "sha256").mkdir(parents=True)

    def blob(data, media_type):
        digest = registry_api.digest(data)
        (layout / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    base = images.layers(images.resolve(busybox_image))[0]
    with open(os.path.join(images.layer_path(base), "layer.tar"), "rb") as f:
        base_tar = f.read()
    extra_tar = registry_api.layer_tar({"hello.sh": f"echo hello from skopeo {unique}\n".encode()})
    layers = [blob(gzip.compress(tar, mtime=0), manifest.OCI_LAYER_GZIP) for tar in (base_tar, extra_tar)]
    config = store.new_config([base, registry_api.digest(extra_tar)], {"Cmd": ["sh", "/hello.sh"]},
                              created=1_700_000_000)
    config_blob = blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
    image_manifest = blob(json.dumps({"schemaVersion": 2, "mediaType": manifest.OCI_MANIFEST,
                                      "config": config_blob, "layers": layers}).encode(), manifest.OCI_MANIFEST)
    image_manifest["annotations"] = {"org.opencontainers.image.ref.name": "v1"}
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [image_manifest]}))

    name = f"{registry.host}/from-skopeo-{unique}-{form}:v1"
    skopeo("copy", "--dest-tls-verify=false", *(["--format", "v2s2"] if form == "v2s2" else []),
           f"oci:{layout}:v1", f"docker://{name}")
    pulled = pydock("pull", name, check=True)
    assert f"Status: Downloaded newer image for {name}" in pulled.stdout
    assert json.loads(pydock("image", "inspect", name, check=True).stdout)[0]["Id"] == config_blob["digest"]
    run = pydock("run", "--rm", "--network", "none", name, check=True)
    assert run.stdout == f"hello from skopeo {unique}\n"
