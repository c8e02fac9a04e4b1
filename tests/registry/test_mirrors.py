"""Registry mirrors and insecure registries, from ``daemon.json`` in the client's config directory."""

import json
import os

import pytest

from pydock_edu.image import registry as registry_module
from pydock_edu.image.auth import HUB_SERVER


def write_daemon_json(directory, settings):
    with open(os.path.join(directory, "daemon.json"), "w") as f:
        json.dump(settings, f)


def test_docker_hub_pulls_try_the_mirrors_first(client_config):
    write_daemon_json(client_config, {"registry-mirrors": ["http://127.0.0.1:5001/", "https://mirror.example"]})
    assert registry_module.pull_endpoints("docker.io") == [
        registry_module.Endpoint("http://127.0.0.1:5001", "127.0.0.1:5001", mirror=True),
        registry_module.Endpoint("https://mirror.example", "mirror.example", mirror=True),
        registry_module.Endpoint("https://registry-1.docker.io", HUB_SERVER),
    ]
    assert registry_module.pull_endpoints("quay.io") == [registry_module.Endpoint("https://quay.io", "quay.io")]


def test_plain_http_only_for_loopback_and_insecure_registries(client_config):
    write_daemon_json(client_config, {"insecure-registries": ["lab.example:5000", "10.0.0.0/8"]})
    for domain in ("localhost:5000", "127.0.0.1:5000", "127.8.9.10", "[::1]:5000", "lab.example:5000", "10.1.2.3:443"):
        assert registry_module.endpoint(domain).url == f"http://{domain}"
    for domain in ("lab.example", "registry.example:5000", "11.0.0.1:5000", "quay.io"):
        assert registry_module.endpoint(domain).url == f"https://{domain}"


def test_a_mirror_needs_a_scheme(pydock, client_config):
    write_daemon_json(client_config, {"registry-mirrors": ["127.0.0.1:5001"]})
    res = pydock("pull", "busybox-from-nowhere")
    assert res.returncode == 1
    assert "invalid mirror: '127.0.0.1:5001': it needs a scheme" in res.stderr


@pytest.mark.privileged
def test_a_mirror_that_fails_falls_back_to_the_next(pydock, registry, new_registry, client_config, closed_port,
                                                    make_image, forget_image, unique):
    """Mirrors: one without the image (404), one that refuses connections, one that has it."""
    empty = new_registry()
    make_image(f"{registry.host}/library/mirrored-{unique}:1", [{"from": b"the third mirror\n"}])
    pydock("push", f"{registry.host}/library/mirrored-{unique}:1", check=True)
    forget_image(f"{registry.host}/library/mirrored-{unique}:1")
    write_daemon_json(client_config, {"registry-mirrors": [
        f"http://{empty.host}", f"http://127.0.0.1:{closed_port}", f"http://{registry.host}"]})

    mark = empty.log_mark()
    pulled = pydock("pull", f"mirrored-{unique}:1", check=True)
    assert pulled.stdout.splitlines()[-2:] == [f"Status: Downloaded newer image for mirrored-{unique}:1",
                                               f"docker.io/library/mirrored-{unique}:1"]
    assert f"GET /v2/library/mirrored-{unique}/manifests/1" in empty.requests_since(mark)
    run = pydock("run", "--rm", "--network", "none", f"mirrored-{unique}:1", "cat", "/from", check=True)
    assert run.stdout == "the third mirror\n"
