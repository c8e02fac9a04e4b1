"""Pull and push against a real ``docker-registry``: round trips, digests, blobs reused, mounts, formats.

Privileged: pulled layers are unpacked as they are stored (file owners, whiteout devices), and
containers run from them.
"""

import gzip
import json
import os
import re

import pytest

from pydock_edu.image import manifest, store

pytestmark = pytest.mark.privileged

DIGEST = re.compile(r"(\S+): digest: (sha256:[0-9a-f]{64}) size: \d+")


def pushed_digest(output, tag):
    return dict(DIGEST.findall(output))[tag]


def test_push_then_pull_gives_back_the_same_image(pydock, registry, make_image, forget_image, unique):
    repo = f"{registry.host}/roundtrip-{unique}"
    name = f"{repo}:1"
    image_id = make_image(name, [{"data/a.txt": b"first\n", "data/gone.txt": b"soon deleted"},
                                 {"data/b.bin": os.urandom(300_000)},
                                 {"data/gone.txt": None}])
    new_layers = [d[7:19] for d in store.ImageStore().layers(image_id)[1:]]

    pushed = pydock("push", name, check=True)
    assert pushed.stdout.startswith(f"The push refers to repository [{repo}]\n")
    for short in new_layers:
        assert f"{short}: Pushed" in pushed.stdout
    digest = pushed_digest(pushed.stdout, "1")

    forget_image(name)
    pulled = pydock("pull", name, check=True)
    lines = pulled.stdout.splitlines()
    assert lines[0] == f"1: Pulling from roundtrip-{unique}"
    assert lines[-3:] == [f"Digest: {digest}", f"Status: Downloaded newer image for {name}", name]
    assert pulled.stdout.count(": Pull complete") == len(new_layers)
    assert ": Already exists" in pulled.stdout  # busybox's layer never left

    inspect = json.loads(pydock("image", "inspect", name, check=True).stdout)[0]
    assert inspect["Id"] == image_id
    assert inspect["RepoDigests"] == [f"{repo}@{digest}"]
    run = pydock("run", "--rm", "--network", "none", name, "sh", "-c", "cat /data/a.txt; ls /data", check=True)
    assert run.stdout == "first\na.txt\nb.bin\n"  # the whiteout hid gone.txt


def test_a_second_pull_downloads_no_blob(pydock, registry, make_image, forget_image, unique):
    name = f"{registry.host}/again-{unique}:1"
    make_image(name, [{"again.txt": b"again\n"}])
    pydock("push", name, check=True)
    forget_image(name)

    mark = registry.log_mark()
    pydock("pull", name, check=True)
    first = registry.requests_since(mark)
    assert any(r.startswith(f"GET /v2/again-{unique}/blobs/sha256:") for r in first)

    mark = registry.log_mark()
    again = pydock("pull", name, check=True)
    assert f"Status: Image is up to date for {name}" in again.stdout
    second = registry.requests_since(mark)
    assert any("/manifests/1" in r for r in second)
    assert not [r for r in second if "/blobs/" in r]


def test_pull_by_digest_and_run_by_digest(pydock, registry, make_image, forget_image, unique):
    repo = f"{registry.host}/bydigest-{unique}"
    make_image(f"{repo}:1", [{"msg": b"pinned\n"}])
    digest = pushed_digest(pydock("push", f"{repo}:1", check=True).stdout, "1")
    forget_image(f"{repo}:1")

    pulled = pydock("pull", f"{repo}@{digest}", check=True)
    assert pulled.stdout.startswith(f"{digest}: Pulling from bydigest-{unique}\n")
    assert pulled.stdout.splitlines()[-1] == f"{repo}@{digest}"
    assert not [name for name in store.ImageStore().repositories() if name.startswith(repo + ":")]
    run = pydock("run", "--rm", "--network", "none", f"{repo}@{digest}", "cat", "/msg", check=True)
    assert run.stdout == "pinned\n"


def test_push_and_pull_every_tag(pydock, registry, make_image, forget_image, unique):
    repo = f"{registry.host}/tags-{unique}"
    make_image(f"{repo}:one", [{"which": b"one\n"}])
    make_image(f"{repo}:two", [{"which": b"two\n"}])

    pushed = pydock("push", "-a", repo, check=True)
    assert set(dict(DIGEST.findall(pushed.stdout))) == {"one", "two"}
    quiet = pydock("push", "-q", f"{repo}:one", check=True)
    assert quiet.stdout == f"{repo}:one\n"

    forget_image(f"{repo}:one")
    forget_image(f"{repo}:two")
    pulled = pydock("pull", "--all-tags", repo, check=True)
    assert "one: Pulling from" in pulled.stdout and "two: Pulling from" in pulled.stdout
    assert pulled.stdout.splitlines()[-1] == repo
    for tag in ("one", "two"):
        run = pydock("run", "--rm", "--network", "none", f"{repo}:{tag}", "cat", "/which", check=True)
        assert run.stdout == f"{tag}\n"
    assert pydock("pull", "-a", f"{repo}:one").returncode == 1  # a tag with --all-tags: a plain error


def test_a_second_push_uploads_and_compresses_nothing(pydock, registry, new_registry, make_image, unique):
    name = f"{registry.host}/twice-{unique}:1"
    image_id = make_image(name, [{"big.bin": os.urandom(2_000_000)}, {"text.txt": b"compressible " * 50_000}])
    digest = pushed_digest(pydock("push", name, check=True).stdout, "1")
    top = store.ImageStore().layers(image_id)[-1]
    blobs = store.ImageStore().layer_meta(top)["blobs"]
    assert [b["repositories"] for b in blobs] == [[f"{registry.host}/twice-{unique}"]]

    mark = registry.log_mark()
    again = pydock("push", name, check=True)
    assert again.stdout.count(": Layer already exists") == 3
    assert pushed_digest(again.stdout, "1") == digest
    requests = registry.requests_since(mark)
    assert not [r for r in requests if r.startswith(("POST", "PATCH"))]

    other = new_registry()  # compression is deterministic: another registry gets the very same blobs
    elsewhere = f"{other.host}/twice-{unique}:1"
    pydock("tag", name, elsewhere, check=True)
    assert pushed_digest(pydock("push", elsewhere, check=True).stdout, "1") == digest


def test_push_mounts_blobs_from_another_repository(pydock, registry, make_image, unique):
    source = f"{registry.host}/mount-src-{unique}:1"
    target = f"{registry.host}/mount-dst-{unique}:1"
    image_id = make_image(source, [{"shared.bin": os.urandom(100_000)}])
    pydock("push", source, check=True)
    pydock("tag", source, target, check=True)

    mark = registry.log_mark()
    pushed = pydock("push", target, check=True)
    short = store.ImageStore().layers(image_id)[-1][7:19]
    assert f"{short}: Mounted from mount-src-{unique}" in pushed.stdout
    requests = registry.requests_since(mark)
    mount = f"POST /v2/mount-dst-{unique}/blobs/uploads/?mount=sha256:"
    assert any(r.startswith(mount) and f"from=mount-src-{unique}" in r for r in requests)
    assert len([r for r in requests if r.startswith("PATCH")]) == 1  # the config; no layer is uploaded
    assert ": Pushed" not in pushed.stdout


@pytest.mark.parametrize("index_type, manifest_type, config_type", [
    (manifest.OCI_INDEX, manifest.OCI_MANIFEST, "application/vnd.oci.image.config.v1+json"),
    (manifest.DOCKER_LIST, manifest.DOCKER_MANIFEST, manifest.DOCKER_CONFIG),
])
def test_pull_picks_this_platform_from_a_list_with_gzip_and_plain_layers(
        pydock, registry, registry_api, busybox_image, unique, index_type, manifest_type, config_type):
    images = store.ImageStore()
    host, repo = registry.host, f"formats-{unique}"
    base = images.layers(images.resolve(busybox_image))[0]
    with open(os.path.join(images.layer_path(base), "layer.tar"), "rb") as f:
        base_blob = registry_api.upload(host, repo, gzip.compress(f.read(), mtime=0))
    zipped_tar = registry_api.layer_tar({"gzipped.txt": f"gzip {unique}\n".encode()})
    plain_tar = registry_api.layer_tar({"plain.txt": f"plain {unique}\n".encode()})
    zipped = registry_api.upload(host, repo, gzip.compress(zipped_tar, mtime=0))
    plain = registry_api.upload(host, repo, plain_tar)
    gzip_type = manifest.OCI_LAYER_GZIP if manifest_type == manifest.OCI_MANIFEST else manifest.DOCKER_LAYER_GZIP
    plain_type = manifest.OCI_LAYER if manifest_type == manifest.OCI_MANIFEST else manifest.DOCKER_LAYER
    layers = [dict(base_blob, mediaType=gzip_type), dict(zipped, mediaType=gzip_type),
              dict(plain, mediaType=plain_type)]
    diff_ids = [base, registry_api.digest(zipped_tar), registry_api.digest(plain_tar)]

    system, architecture, _ = manifest.host_platform()
    entries = []
    for arch in ("pretend-other-arch", architecture):
        config = store.new_config(diff_ids, {"Cmd": ["sh"]}, created=1_700_000_000)
        config["architecture"] = arch
        config_bytes = json.dumps(config).encode()
        config_blob = registry_api.upload(host, repo, config_bytes)
        document = {"schemaVersion": 2, "mediaType": manifest_type,
                    "config": dict(config_blob, mediaType=config_type), "layers": layers}
        digest, size = registry_api.put_manifest(host, repo, f"only-{arch}", document, manifest_type)
        entries.append({"mediaType": manifest_type, "digest": digest, "size": size,
                        "platform": {"os": system, "architecture": arch}})
    index_digest, _ = registry_api.put_manifest(host, repo, "multi", {"schemaVersion": 2, "mediaType": index_type,
                                                                      "manifests": entries}, index_type)

    name = f"{host}/{repo}:multi"
    pulled = pydock("pull", name, check=True)
    assert f"Digest: {index_digest}" in pulled.stdout
    assert pulled.stdout.count(": Pull complete") == 2
    inspect = json.loads(pydock("image", "inspect", name, check=True).stdout)[0]
    assert inspect["Id"] == registry_api.digest(config_bytes)  # the last config made: this platform's
    assert inspect["Architecture"] == architecture
    assert inspect["RepoDigests"] == [f"{host}/{repo}@{index_digest}"]
    run = pydock("run", "--rm", "--network", "none", name, "cat", "/gzipped.txt", "/plain.txt", check=True)
    assert run.stdout == f"gzip {unique}\nplain {unique}\n"


def test_run_pulls_an_image_that_is_not_here(pydock, registry, make_image, forget_image, unique):
    name = f"{registry.host}/runpull-{unique}:1"
    make_image(name, [{"msg": b"pulled by run\n"}])
    pydock("push", name, check=True)
    forget_image(name)

    run = pydock("run", "--rm", "--network", "none", name, "cat", "/msg")
    assert run.returncode == 0, run.stderr
    assert run.stdout == "pulled by run\n"
    assert run.stderr.startswith(f"Unable to find image '{name}' locally\n1: Pulling from runpull-{unique}\n")
    assert f"Status: Downloaded newer image for {name}" in run.stderr

    missing = pydock("run", "--rm", "--network", "none", f"{registry.host}/never-pushed-{unique}")
    assert missing.returncode == 125
    assert f"Unable to find image '{registry.host}/never-pushed-{unique}:latest' locally" in missing.stderr
    assert "manifest unknown" in missing.stderr


def test_errors_are_one_line_with_docker_exit_codes(pydock, registry, busybox_image, unique, closed_port):
    unknown = pydock("pull", f"{registry.host}/nothing-{unique}:nope")
    assert unknown.returncode == 1
    assert unknown.stderr == (f"Error: manifest for {registry.host}/nothing-{unique}:nope not found: "
                              "manifest unknown: manifest unknown\n")

    not_local = pydock("push", f"{registry.host}/not-local-{unique}")
    assert not_local.returncode == 1
    assert not_local.stderr == ("Error: An image does not exist locally with the tag: "
                                f"{registry.host}/not-local-{unique}\n")

    closed = f"127.0.0.1:{closed_port}"
    refused = pydock("pull", f"{closed}/x")
    assert refused.returncode == 1
    assert refused.stderr == f'Error: Get "http://{closed}/v2/x/manifests/latest": connect: connection refused\n'
