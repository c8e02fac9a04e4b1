"""The pieces of pull and push that need no registry: gzip, manifests, scopes, credentials, progress lines."""

import base64
import gzip
import io
import json
import os

import pytest

from pydock_edu.cli.remote import LineProgress, TerminalProgress, progress_bar
from pydock_edu.image import auth, compression, manifest, registry
from pydock_edu.image.registry import RegistryError


@pytest.mark.parametrize("data", [b"", b"x", os.urandom(3 << 20), b"layer " * 700_000,
                                  os.urandom(100) + b"\0" * (2 << 20) + os.urandom(1 << 20)],
                         ids=["empty", "one byte", "random", "text", "mixed"])
def test_gzip_is_deterministic_and_standard(data):
    first = b"".join(compression.gzip_stream(io.BytesIO(data)))
    assert first == b"".join(compression.gzip_stream(io.BytesIO(data)))
    assert gzip.decompress(first) == data
    assert first[4:8] == b"\0\0\0\0"  # mtime 0


def test_gzip_stores_what_does_not_compress_and_compresses_the_rest():
    noise, text = os.urandom(2 << 20), b"the same words again " * 100_000
    assert len(b"".join(compression.gzip_stream(io.BytesIO(noise)))) < len(noise) * 1.001
    assert len(b"".join(compression.gzip_stream(io.BytesIO(text)))) < len(gzip.compress(text)) * 1.1


def test_gzip_reports_progress():
    seen = []
    b"".join(compression.gzip_stream(io.BytesIO(b"a" * (2 << 20) + b"b"), seen.append))
    assert seen == [1 << 20, 2 << 20, (2 << 20) + 1]


def entry(arch, variant=None, digest="sha256:" + "a" * 64):
    platform = {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}
    return {"mediaType": manifest.OCI_MANIFEST, "digest": digest, "size": 1, "platform": platform}


def test_a_manifest_list_entry_is_chosen_for_this_platform(monkeypatch):
    monkeypatch.setattr(manifest, "host_platform", lambda: ("linux", "arm64", "v8"))
    wanted = entry("arm64", "v8", "sha256:" + "b" * 64)
    attestation = {**entry("unknown"), "platform": {"os": "unknown", "architecture": "unknown"}}
    index = {"manifests": [entry("amd64"), attestation, entry("arm", "v7"), wanted]}
    assert manifest.choose(index) == wanted
    with pytest.raises(RegistryError, match="no matching manifest for linux/arm64 in the manifest list entries"):
        manifest.choose({"manifests": [entry("amd64")]})


def test_manifest_types_are_read_from_header_or_document():
    index = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert manifest.parse(index, "application/octet-stream")[1] == manifest.OCI_INDEX
    image = json.dumps({"schemaVersion": 2, "config": {}, "layers": []}).encode()
    assert manifest.parse(image, manifest.DOCKER_MANIFEST)[1] == manifest.DOCKER_MANIFEST
    with pytest.raises(RegistryError, match="schema 1"):
        manifest.parse(b'{"schemaVersion": 1, "fsLayers": []}', manifest.DOCKER_SCHEMA1[1])
    with pytest.raises(RegistryError, match="unsupported layer media type"):
        manifest.image_parts({"config": {"size": 1, "digest": "sha256:" + "c" * 64},
                              "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
                                          "size": 1, "digest": "sha256:" + "d" * 64}]})


def test_a_pushed_manifest_is_docker_schema_2():
    data = manifest.docker_manifest("sha256:" + "1" * 64, 10, [(manifest.DOCKER_LAYER_GZIP, 20, "sha256:" + "2" * 64)])
    document = json.loads(data)
    assert list(document) == ["schemaVersion", "mediaType", "config", "layers"]
    assert document["config"] == {"mediaType": manifest.DOCKER_CONFIG, "size": 10, "digest": "sha256:" + "1" * 64}
    assert manifest.docker_layer_type(manifest.OCI_LAYER_GZIP) == manifest.DOCKER_LAYER_GZIP
    assert manifest.docker_layer_type(manifest.OCI_LAYER) == manifest.DOCKER_LAYER


def test_challenges_scopes_and_server_names():
    assert auth.parse_challenge('Bearer realm="http://a/token",service="reg",scope="repository:x:pull"') == (
        "bearer", {"realm": "http://a/token", "service": "reg", "scope": "repository:x:pull"})
    assert auth.parse_challenge('Basic realm="lab"') == ("basic", {"realm": "lab"})
    assert auth.merge_scopes({"repository:app:pull", "repository:app:pull,push", "repository:base:pull",
                              "registry:catalog:*"}) == {"repository:app:pull,push", "repository:base:pull",
                                                         "registry:catalog:*"}
    for server in (None, "docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"):
        assert auth.server_key(server) == auth.HUB_SERVER
    assert auth.server_key("http://127.0.0.1:5000/") == "127.0.0.1:5000"
    assert auth.server_key("lab.example:5000") == "lab.example:5000"


def test_credentials_file(client_config):
    assert auth.credentials("lab.example") is None
    auth.store_credentials("lab.example", "ann", "pa:ss")
    assert auth.credentials("https://lab.example") == ("ann", "pa:ss")
    with open(os.path.join(client_config, "config.json")) as f:
        assert json.load(f)["auths"]["lab.example"]["auth"] == base64.b64encode(b"ann:pa:ss").decode()
    assert os.stat(os.path.join(client_config, "config.json")).st_mode & 0o777 == 0o600
    assert auth.erase_credentials("lab.example") and not auth.erase_credentials("lab.example")


def test_registry_errors_read_as_docker_prints_them():
    body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}'
    assert registry.error_text(body) == ("manifest unknown: manifest unknown", ["MANIFEST_UNKNOWN"])
    assert registry.error_text(b"<html>") == ("", [])


def test_progress_bar_as_docker_draws_it():
    assert progress_bar(1_049_000, 2_813_000) == f"[{'=' * 18}>{' ' * 32}]  1.049MB/2.813MB"
    assert progress_bar(5, 5) == f"[{'=' * 50}>] " + "      5B/5B"


def test_progress_lines_and_terminal_redraws():
    out = io.StringIO()
    plain = LineProgress(out)
    plain.status("latest: Pulling from library/busybox")
    plain.layer("abc", "Pulling fs layer")
    plain.layer("abc", "Downloading", 10, 100)  # byte counts are for terminals only
    plain.layer("abc", "Pull complete")
    assert out.getvalue() == "latest: Pulling from library/busybox\nabc: Pulling fs layer\nabc: Pull complete\n"

    out = io.StringIO()
    live = TerminalProgress(out)
    live.layer("aaa", "Pulling fs layer")
    live.layer("bbb", "Pulling fs layer")
    live.layer("aaa", "Downloading", 50, 100)
    assert out.getvalue() == ("aaa: Pulling fs layer\nbbb: Pulling fs layer\n"
                              f"\x1b[2A\r\x1b[2Kaaa: Downloading {progress_bar(50, 100)}\r\x1b[2B")
