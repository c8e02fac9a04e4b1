"""Manifests: the JSON documents that describe an image in a registry.

An *image manifest* names the image's config and its layers, each by a *descriptor*
(``mediaType``, ``size``, ``digest``). Two formats say the same thing: Docker's schema 2 and the
OCI image manifest. A *manifest list* (OCI: *image index*) names one image manifest per platform
(``linux/amd64``, ``linux/arm64/v8``, ...); a pull picks the one for this machine.

Layers travel gzip-compressed (``...tar.gzip``, ``...tar+gzip``) or as plain tars; their digest
is that of the bytes as they travel, while the config lists their *diff_ids*, the digests of the
uncompressed tars.
"""

import json
import os

from . import digest
from .registry import RegistryError

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v1+prettyjws")
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"

ACCEPT = (DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX)
LISTS = (DOCKER_LIST, OCI_INDEX)
IMAGES = (DOCKER_MANIFEST, OCI_MANIFEST)
LAYERS = (DOCKER_LAYER_GZIP, DOCKER_LAYER, DOCKER_FOREIGN_LAYER, OCI_LAYER_GZIP, OCI_LAYER,
          OCI_NONDISTRIBUTABLE_GZIP)
MAX_CONFIG = 8 << 20


def parse(data, media_type):
    """The manifest as (dict, media type); the type from the document when the header is vague."""
    try:
        document = json.loads(data)
    except ValueError as e:
        raise RegistryError(f"invalid manifest: {e}") from None
    if not isinstance(document, dict):
        raise RegistryError("invalid manifest: not a JSON object")
    kind = document.get("mediaType") or media_type
    if kind not in ACCEPT:
        if document.get("schemaVersion") == 1 or kind in DOCKER_SCHEMA1:
            raise RegistryError("unsupported manifest: Docker image manifest schema 1 (deprecated); push the "
                                "image again with a current client")
        kind = OCI_INDEX if "manifests" in document else OCI_MANIFEST if "config" in document else kind
    if kind not in ACCEPT:
        raise RegistryError(f"unsupported manifest media type {kind!r}")
    return document, kind


def host_platform():
    """This machine as a registry names platforms: (os, architecture, variant)."""
    machine = os.uname().machine
    return {"x86_64": ("linux", "amd64", ""), "aarch64": ("linux", "arm64", "v8"),
            "armv7l": ("linux", "arm", "v7"), "armv6l": ("linux", "arm", "v6"),
            "i686": ("linux", "386", "")}.get(machine, ("linux", machine, ""))


def choose(index):
    """The descriptor of the manifest for this platform in a manifest list or index."""
    system, architecture, variant = host_platform()
    entries = index.get("manifests")
    if not isinstance(entries, list) or not all(isinstance(m, dict) and isinstance(m.get("platform") or {}, dict)
                                                for m in entries):
        raise RegistryError("invalid manifest list: 'manifests' must be a list of descriptors")
    candidates = [m for m in entries if (m.get("platform") or {}).get("os") == system
                  and (m.get("platform") or {}).get("architecture") == architecture]
    exact = [m for m in candidates if m["platform"].get("variant", "") in (variant, "")]
    if not (exact or candidates):
        raise RegistryError(f"no matching manifest for {system}/{architecture} in the manifest list entries")
    chosen = (exact or candidates)[0]
    if not digest.is_digest(chosen.get("digest")):
        raise RegistryError(f"invalid manifest list: bad descriptor {_shown(chosen)}")
    return chosen


def image_parts(document):
    """(config descriptor, layer descriptors) of an image manifest, checked for what a pull needs."""
    config, layers = document.get("config"), document.get("layers")
    if not isinstance(config, dict) or not isinstance(layers, list):
        raise RegistryError("invalid manifest: it needs a config and a list of layers")
    for descriptor in [config, *layers]:
        if not _valid_descriptor(descriptor):
            raise RegistryError(f"invalid manifest: bad descriptor {_shown(descriptor)}")
    for descriptor in layers:
        if descriptor.get("mediaType", OCI_LAYER_GZIP) not in LAYERS:
            raise RegistryError(f"unsupported layer media type {descriptor.get('mediaType')!r}")
    return config, layers


def _valid_descriptor(descriptor):
    return (isinstance(descriptor, dict) and isinstance(descriptor.get("size"), int)
            and not isinstance(descriptor["size"], bool) and descriptor["size"] >= 0
            and digest.is_digest(descriptor.get("digest")) and isinstance(descriptor.get("mediaType", ""), str))


def _shown(value):
    text = json.dumps(value)
    return text if len(text) <= 200 else text[:197] + "..."


def docker_manifest(config_digest, config_size, layers):
    """A Docker schema 2 image manifest, as bytes; ``layers`` are (media type, size, digest)."""
    document = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": config_size, "digest": config_digest},
        "layers": [{"mediaType": media_type, "size": size, "digest": digest} for media_type, size, digest in layers],
    }
    return json.dumps(document, indent=3).encode()


def docker_layer_type(media_type):
    """The schema 2 media type for a layer blob known under ``media_type`` (same bytes)."""
    return DOCKER_LAYER if media_type in (OCI_LAYER, DOCKER_LAYER) else DOCKER_LAYER_GZIP
