"""``search`` of a private registry, through its catalog (Docker Hub's search API is never called here)."""

import pytest

from pydock_edu.image import manifest


@pytest.fixture
def catalog(registry, registry_api, unique):
    """Three small repositories in the session's registry: ``search-<u>/alpha``, ``search-<u>/beta``, ``other-<u>``."""
    names = [f"search-{unique}/alpha", f"search-{unique}/beta", f"other-{unique}"]
    for name in names:
        layer = registry_api.upload(registry.host, name, registry_api.layer_tar({"x": name.encode()}))
        config = registry_api.upload(registry.host, name, b'{"rootfs": {"type": "layers", "diff_ids": []}}')
        registry_api.put_manifest(registry.host, name, "1", {
            "schemaVersion": 2, "mediaType": manifest.OCI_MANIFEST,
            "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
            "layers": [dict(layer, mediaType=manifest.OCI_LAYER)]}, manifest.OCI_MANIFEST)
    return names


def test_search_a_registry_catalog(pydock, registry, catalog, unique):
    host = registry.host
    found = pydock("search", f"{host}/search-{unique}", check=True)
    lines = found.stdout.splitlines()
    assert lines[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
    assert [line.split()[:2] for line in lines[1:]] == [[f"{host}/search-{unique}/alpha", "0"],
                                                        [f"{host}/search-{unique}/beta", "0"]]

    limited = pydock("search", "--limit", "1", "--format", "{{.Name}} {{.StarCount}}", f"{host}/{unique}", check=True)
    assert limited.stdout == f"{host}/other-{unique} 0\n"
    official = pydock("search", "-f", "is-official=true", "--format", "{{.Name}}", f"{host}/{unique}", check=True)
    assert official.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["--filter", "bogus=1"], "Error: invalid filter 'bogus'\n"),
    (["--filter", "stars=many"], "Error: invalid filter 'stars=many'\n"),
    (["--limit", "0"], "Error: limit 0 is outside the range of [1, 100]\n"),
])
def test_search_argument_errors(pydock, registry, args, message):
    res = pydock("search", *args, f"{registry.host}/anything")
    assert (res.returncode, res.stderr) == (1, message)  # the registry (Docker: the daemon) refuses them
