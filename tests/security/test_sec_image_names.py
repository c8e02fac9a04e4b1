"""Issue 11, point 9 (images): names are checked before anything is stored, registry addresses before use."""
# ruff: noqa: F811 (the fixtures imported from sec_image_helpers are the tests' parameters)

import json
import os

import pytest
from sec_image_helpers import (  # noqa: F401
    busybox_layer,
    config,
    crafted_registry,
    image_tarball,
    module_root,
    no_traceback,
    one_line_error,
    sha256,
    store_listing,
)

pytestmark = pytest.mark.privileged


def test_load_with_one_bad_repo_tag_keeps_nothing(module_root, tmp_path):
    layer = busybox_layer()
    tarball = tmp_path / "tags.tar"
    image_tarball(tarball, config([sha256(layer)]), [layer], tags=["ok:1", "BAD TAG!!"])
    before = store_listing(module_root.path)

    line = one_line_error(module_root.pydock("load", "-i", tarball))

    assert "BAD TAG!!" in line
    assert store_listing(module_root.path) == before
    assert "ok " not in module_root.pydock("images").stdout


@pytest.mark.parametrize("name", ["BAD TAG", "x@sha256:" + "0" * 64, "a:b:c"])
def test_import_with_a_bad_name_leaves_no_image(module_root, tmp_path, name):
    tarball = tmp_path / "rootfs.tar"
    tarball.write_bytes(busybox_layer())
    before = store_listing(module_root.path)

    one_line_error(module_root.pydock("import", tarball, name))

    assert store_listing(module_root.path) == before


def test_import_and_commit_with_a_bad_change_store_nothing(module_root, tmp_path):
    tarball = tmp_path / "rootfs.tar"
    tarball.write_bytes(busybox_layer())
    before = store_listing(module_root.path)

    assert "ExposedPorts" in one_line_error(module_root.pydock("import", "-c", "EXPOSE abc", tarball, "bad:1"))

    assert store_listing(module_root.path) == before


def test_tag_refuses_a_digest_reference(module_root):
    one_line_error(module_root.pydock("tag", "busybox", "x@sha256:" + "0" * 64))
    assert "None" not in module_root.pydock("images").stdout


@pytest.mark.parametrize("server", ["http://[::1", "[::1", " ", "a b", "localhost:99999", "localhost:0",
                                    "localhost:abc", "http://", "ftp://localhost:5000"])
def test_login_to_a_malformed_address_is_one_line(module_root, server):
    res = module_root.pydock("login", "-u", "student", "-p", "secret", server)
    assert "invalid registry address" in one_line_error(res)


@pytest.mark.parametrize("name", ["localhost:99999/app", "[::1/app"])
def test_search_of_a_malformed_address_is_one_line(module_root, name):
    assert "invalid registry address" in one_line_error(module_root.pydock("search", name))


def test_pull_from_a_port_out_of_range_is_one_line(module_root):
    assert "invalid registry address" in one_line_error(module_root.pydock("pull", "localhost:99999/app"))


def test_a_token_realm_that_is_not_http_is_refused(module_root, crafted_registry, tmp_path):
    """A registry's bearer challenge names the token server; ``file://`` would make pydock read a host
    file (made by the test here) and send its "token" back to the registry."""
    secret = tmp_path / "token.json"
    secret.write_text('{"token": "host-file-content"}')
    crafted_registry.challenge = f'Bearer realm="file://{secret}#",service="x"'

    line = one_line_error(module_root.pydock("pull", f"{crafted_registry.address}/app:1"))

    assert "token server" in line
    assert not any("host-file-content" in header for header in crafted_registry.authorizations)


def test_damaged_stored_credentials_are_reported_not_a_traceback(module_root, crafted_registry):
    os.makedirs(module_root.client_dir, exist_ok=True)
    with open(os.path.join(module_root.client_dir, "config.json"), "w") as f:
        json.dump({"auths": {crafted_registry.address: {"auth": "/w=="}}}, f)  # base64 of a byte that is not UTF-8
    try:
        res = module_root.pydock("pull", f"{crafted_registry.address}/app:1")
        assert "manifest" in one_line_error(res)
        assert "damaged credentials" in res.stderr
    finally:
        os.unlink(os.path.join(module_root.client_dir, "config.json"))


def test_build_with_a_digest_as_tag_builds_nothing(module_root, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo step > /step\n")
    before = store_listing(module_root.path)

    res = no_traceback(module_root.pydock("build", "--network", "none", "-t", "x@sha256:" + "0" * 64, tmp_path))

    assert res.returncode != 0 and "digest reference" in res.stderr
    assert store_listing(module_root.path) == before
