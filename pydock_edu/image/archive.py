"""``image save`` and ``image load``: images as one tar file, in the layout Docker writes and reads.

A saved tarball holds content-addressed blobs and two indexes to them, as ``docker save`` (25+)
writes::

    blobs/sha256/<image id>       the image config (its sha256 is the image ID)
    blobs/sha256/<diff_id>        each layer tar, uncompressed (its sha256 is its diff_id), once
    blobs/sha256/<digest>         an OCI image manifest per image: the config and layers by digest
    index.json, oci-layout        the OCI image layout: the manifests, with their names
    manifest.json                 Docker's index: [{"Config": ..., "RepoTags": [...], "Layers": [...]}]
    repositories                  the oldest index: {"busybox": {"latest": "<top layer>"}}

``load`` reads ``manifest.json`` (Docker, any version) or, without it, the OCI ``index.json``
(skopeo, buildkit, containerd), and older Docker's ``<id>/layer.tar`` files with symlinks
between shared layers. The tarball is untrusted: its files are unpacked into a private directory
under the store's ``tmp/`` with names checked, every layer is checked against the diff_id its
config promises, and only then do layers, configs and names enter the store, so a broken or
truncated tarball leaves nothing behind.
"""

import json
import os

from .. import events
from ..errors import InvalidArgument, PydockError
from . import digest, imageconfig, reference

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_NAME = "io.containerd.image.name"
REF_NAME = "org.opencontainers.image.ref.name"
OCI_LAYOUT = b'{"imageLayoutVersion": "1.0.0"}'
CHUNK = 1 << 20


def _json(value):
    return json.dumps(value, separators=(",", ":")).encode()


def _hex(value):
    return digest.hex_of(value)


# Saving


def images_to_save(images, names):
    """{image ID: [full tags]} for ``save NAME...``: a tag, every tag of a repository, or an ID."""
    chosen = {}
    repos = images.repositories()
    for name in names:
        try:
            ref = reference.parse(name, default_tag=None) if not reference.looks_like_id(name) or ":" in name else None
        except InvalidArgument:
            ref = None
        if ref is not None and ref.tag is None and ref.digest is None:
            tags = [t for t in repos if t.rsplit(":", 1)[0] == ref.full_repository]
            for tag in sorted(tags):
                chosen.setdefault(repos[tag], [])
                if tag not in chosen[repos[tag]]:
                    chosen[repos[tag]].append(tag)
            if tags:
                continue
        image_id = images.resolve(name)
        chosen.setdefault(image_id, [])
        if ref is not None and ref.tag:
            tag = f"{ref.full_repository}:{ref.tag}"
            if repos.get(tag) == image_id and tag not in chosen[image_id]:
                chosen[image_id].append(tag)
    return chosen


def save(engine, names, out):
    """Write the images named by ``names`` to ``out`` (a binary file) as one tarball."""
    images = engine.images
    chosen = images_to_save(images, names)
    blobs = {}  # hex digest -> bytes, or the path of a stored layer.tar
    manifest, descriptors, legacy = [], [], {}
    for image_id, tags in chosen.items():
        config = images.config_bytes(image_id)
        diff_ids = images.layers(image_id)
        if not diff_ids:
            raise PydockError("empty export - not implemented", 1)
        blobs[_hex(image_id)] = config
        layers = []
        for diff_id in diff_ids:
            path = os.path.join(images.layer_path(diff_id), "layer.tar")
            blobs[_hex(diff_id)] = path
            layers.append({"mediaType": LAYER, "digest": diff_id, "size": os.path.getsize(path)})
        oci_manifest = _json({"schemaVersion": 2, "mediaType": MANIFEST,
                              "config": {"mediaType": CONFIG, "digest": image_id, "size": len(config)},
                              "layers": layers})
        digest = "sha256:" + _sha256(oci_manifest)
        blobs[_hex(digest)] = oci_manifest
        entry = {"Config": f"blobs/sha256/{_hex(image_id)}",
                 "RepoTags": [reference.parse(t).familiar() for t in tags] or None,
                 "Layers": [f"blobs/sha256/{_hex(d)}" for d in diff_ids],
                 "LayerSources": {layer["digest"]: layer for layer in layers}}
        parent = images.parent(image_id)
        if parent in chosen:
            entry["Parent"] = parent
        manifest.append(entry)
        descriptor = {"mediaType": MANIFEST, "digest": digest, "size": len(oci_manifest)}
        for tag in tags:
            ref = reference.parse(tag)
            descriptors.append({**descriptor, "annotations": {IMAGE_NAME: tag, REF_NAME: ref.tag}})
            legacy.setdefault(ref.repository, {})[ref.tag] = _hex(diff_ids[-1])
        if not tags:
            descriptors.append(descriptor)
    files = {"index.json": _json({"schemaVersion": 2, "mediaType": INDEX, "manifests": descriptors}),
             "manifest.json": _json(manifest) + b"\n", "oci-layout": OCI_LAYOUT}
    if legacy:
        files["repositories"] = _json(legacy) + b"\n"
    writer = _TarWriter(out)
    writer.directory("blobs/")
    writer.directory("blobs/sha256/")
    for name in sorted(blobs):
        writer.file(f"blobs/sha256/{name}", blobs[name])
    for name in sorted(files):
        writer.file(name, files[name])
    writer.close()
    for image_id in chosen:
        events.emit("image", "save", image_id, {"name": image_id})


def _sha256(data):
    import hashlib

    return hashlib.sha256(data).hexdigest()


class _TarWriter:
    """A tar stream written straight to a file descriptor; file bodies are copied by the kernel (sendfile).

    Each member is a 512-byte ustar header, its content, and zeros up to a multiple of 512 bytes;
    two zero blocks end the archive. The names here (``blobs/sha256/<64 hex>``) fit a header.
    """

    def __init__(self, out):
        try:
            out.flush()
            self.fd = out.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = None  # not a real file (a notebook's stream): write through out.write
        self.out = out

    def _write(self, data):
        if self.fd is None:
            self.out.write(data)
            return
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def _header(self, name, kind, size=0):
        """A ustar header: name, mode, owner 0:0, size, time 0, type (``0`` file, ``5`` directory)."""
        size_field = b"%011o\0" % size if size < 8 ** 11 else b"\x80" + size.to_bytes(11, "big")  # GNU base-256
        header = b"".join([name.encode().ljust(100, b"\0"), b"%07o\0" % (0o755 if kind == b"5" else 0o644),
                           b"0000000\0" * 2, size_field, b"00000000000\0", b" " * 8, kind, b"\0" * 100,
                           b"ustar\x0000", b"\0" * 247])
        self._write(header[:148] + b"%06o\0 " % sum(header) + header[156:])

    def directory(self, name):
        self._header(name, b"5")

    def file(self, name, content):
        """Write a file whose content is ``bytes``, or the file at a path."""
        if isinstance(content, bytes):
            size = len(content)
            self._header(name, b"0", size)
            self._write(content)
        else:
            size = os.path.getsize(content)
            self._header(name, b"0", size)
            with open(content, "rb") as source:
                self._copy(source, size)
        self._write(bytes(-size % 512))

    def _copy(self, source, size):
        if self.fd is None:
            while chunk := source.read(CHUNK):
                self._write(chunk)
            return
        offset = 0
        while offset < size:
            sent = os.sendfile(self.fd, source.fileno(), offset, size - offset)
            if sent == 0:
                raise PydockError(f"{source.name} shrank while it was saved", 1)
            offset += sent

    def close(self):
        self._write(bytes(1024))  # two zero blocks end the archive


# Loading


def load(engine, stream):
    """Load every image of the tarball read from ``stream``; return the lines ``docker load`` prints."""
    import shutil
    import tempfile

    images = engine.images
    work = tempfile.mkdtemp(prefix="load-", dir=os.path.join(images.root, "tmp"))
    staged = {}  # layer file -> its StagedLayer
    try:
        links = _unpack_tarball(stream, work)
        found = _read_manifest(work, links) if _exists(work, links, "manifest.json") else _read_index(work, links)
        loaded = []
        for item in found:
            config_bytes = _read(work, links, item["Config"])
            config = imageconfig.parse(config_bytes, f"image config {item['Config']}")
            diff_ids = config["rootfs"]["diff_ids"]
            item["RepoTags"] = [_repo_tag(name) for name in item["RepoTags"]]  # all checked before any is kept
            if config.get("os", "linux") != "linux":
                raise PydockError(f"cannot load {config['os']} image on linux", 1)
            if len(item["Layers"]) != len(diff_ids):
                raise PydockError(f"invalid manifest, layers length mismatch: expected {len(item['Layers'])}, "
                                  f"got {len(diff_ids)}", 1)
            for index, (path, diff_id) in enumerate(zip(item["Layers"], diff_ids)):
                if images.has_layer(diff_id):
                    continue  # already here (as Docker, the tarball's copy is not read)
                name = _link_target(links, path)
                if name not in staged:  # a layer file shared by several images is unpacked once
                    staged[name] = _stage(images, _real_path(work, links, name))
                if staged[name].diff_id != diff_id:
                    raise PydockError(f'invalid diffID for layer {index}: expected "{diff_id}", '
                                      f'got "{staged[name].diff_id}"', 1)
            loaded.append((config_bytes, item))
        for layer in staged.values():  # everything checked: now the store changes
            images.keep_layer(layer)
        return _register(engine, loaded)
    finally:
        for layer in staged.values():
            layer.discard()  # what was not kept (after an error)
        shutil.rmtree(work, ignore_errors=True)


def _repo_tag(name):
    """A name from the tarball's ``RepoTags``, as the full ``domain/path:tag`` it will be stored under."""
    try:
        ref = reference.parse(name) if isinstance(name, str) else None
    except InvalidArgument as e:
        raise PydockError(f"invalid tag {name!r} in the tar file: {e}", 1) from None
    if ref is None or ref.digest:
        raise PydockError(f"invalid tag {name!r} in the tar file: a tag is NAME[:TAG]", 1)
    return f"{ref.full_repository}:{ref.tag}"


def _register(engine, loaded):
    images = engine.images
    lines, ids = [], {}
    for config_bytes, item in loaded:
        image_id = images.put_config_bytes(config_bytes)
        ids[item["Config"]] = image_id
        events.emit("image", "load", image_id, {"name": image_id})
        for name in item["RepoTags"] or []:
            ref = reference.parse(name)
            full = f"{ref.full_repository}:{ref.tag}"
            previous = images.repositories().get(full)
            if previous and previous != image_id:
                lines.append(f"The image {ref.familiar()} already exists, renaming the old one with ID "
                             f"{previous} to empty string")
            images.tag(image_id, full)
            lines.append(f"Loaded image: {ref.familiar()}")
        if not item["RepoTags"]:
            lines.append(f"Loaded image ID: {image_id}")
    for config_bytes, item in loaded:
        parent = item.get("Parent")
        if parent in ids.values() and _valid_parent(images.config(ids[item["Config"]]), images.config(parent)):
            images.set_meta(ids[item["Config"]], parent=parent)
    return lines


def _valid_parent(image, parent):
    """A parent's history is the image's history minus its last entry (as Docker checks)."""
    history, parent_history = image.get("history") or [], parent.get("history") or []
    return history[:-1] == parent_history if history or parent_history else True


def _stage(images, real):
    """Unpack one layer file of the tarball into the store's staging area."""
    with open(real, "rb") as source:
        compressed = source.read(2) == b"\x1f\x8b"
        source.seek(0)
        return images.stage_layer(source, tar_file=None if compressed else real)


def _unpack_tarball(stream, work):
    """Write the tarball's files under ``work`` (names checked); return its links {name: target name}."""
    import shutil
    import tarfile
    import zlib

    from .layer import safe_relpath

    links = {}
    try:
        with tarfile.open(fileobj=stream, mode="r|*", copybufsize=CHUNK) as archive:
            for member in archive:
                name = safe_relpath(member.name, "tar")
                if not name:
                    continue
                if member.issym():
                    links[name] = safe_relpath(os.path.join(os.path.dirname(name), member.linkname), "tar")
                elif member.islnk():
                    links[name] = safe_relpath(member.linkname, "tar")
                elif member.isfile():
                    path = os.path.join(work, name)
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                    with open(fd, "wb") as out:
                        shutil.copyfileobj(archive.extractfile(member), out, CHUNK)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise PydockError(f"invalid tar file: {e}", 1) from None
    return links


def _link_target(links, name):
    """The tarball's own name for ``name``, with the links in it (or its directories) followed."""
    from .layer import safe_relpath

    name = safe_relpath(name, "tar")
    for _ in range(40):
        parts = name.split("/")
        for depth in range(len(parts), 0, -1):
            prefix = "/".join(parts[:depth])
            if prefix in links:
                name = "/".join([links[prefix], *parts[depth:]])
                break
        else:
            return name
    raise PydockError(f"invalid tar file: too many links at {name}", 1)


def _real_path(work, links, name):
    """The file under ``work`` that ``name`` (maybe a link, maybe through linked directories) refers to."""
    name = _link_target(links, name)
    path = os.path.join(work, name)
    if not os.path.isfile(path) or os.path.islink(path):
        raise PydockError(f"invalid tar file: {name} is missing", 1)
    return path


def _exists(work, links, name):
    try:
        _real_path(work, links, name)
        return True
    except PydockError:
        return False


def _read(work, links, name, limit=64 << 20):
    path = _real_path(work, links, name)
    if os.path.getsize(path) > limit:
        raise PydockError(f"invalid tar file: {name} is too large", 1)
    with open(path, "rb") as f:
        return f.read()


def _read_manifest(work, links):
    """Docker's ``manifest.json``: [{"Config": path, "RepoTags": [...], "Layers": [paths]}]."""
    try:
        items = json.loads(_read(work, links, "manifest.json"))
        if items is None:
            raise PydockError("invalid manifest, manifest cannot be null (but can be [])", 1)
        return [{"Config": str(i["Config"]), "Layers": [str(p) for p in i["Layers"]],
                 "RepoTags": list(i.get("RepoTags") or []),
                 "Parent": i.get("Parent") if digest.is_digest(i.get("Parent")) else None} for i in items]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise PydockError("invalid manifest.json", 1) from None


def _read_index(work, links):
    """The OCI image layout: index.json -> (image indexes ->) manifests -> config and layer blobs."""
    if not _exists(work, links, "index.json"):
        raise PydockError("invalid tar file: it has no manifest.json or index.json (a file system tar, "
                          "as 'container export' writes, is loaded with 'image import')", 1)
    try:
        index = json.loads(_read(work, links, "index.json"))
        return [item for descriptor in index["manifests"] for item in _from_descriptor(work, links, descriptor, None)]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise PydockError("invalid index.json", 1) from None


def _from_descriptor(work, links, descriptor, name):
    """The image(s) a descriptor leads to; from an image index, the one for this host's platform."""
    from .store import _architecture

    annotations = descriptor.get("annotations") or {}
    name = annotations.get(IMAGE_NAME) or _name_from_ref(annotations.get(REF_NAME)) or name
    data = _read(work, links, _blob_path(descriptor["digest"]))
    if "sha256:" + _sha256(data) != descriptor["digest"]:  # content-addressed: no index can lead back to itself
        raise PydockError(f"invalid tar file: the blob {descriptor['digest']} does not match its digest", 1)
    blob = json.loads(data)
    kind = descriptor.get("mediaType") or blob.get("mediaType")
    if kind in (INDEX, DOCKER_LIST):
        platforms = [d for d in blob["manifests"] if (d.get("platform") or {}).get("os", "linux") == "linux"
                     and (d.get("platform") or {}).get("architecture", _architecture()) == _architecture()]
        if not platforms:
            raise PydockError(f"no image for linux/{_architecture()} in the tar file", 1)
        return _from_descriptor(work, links, platforms[0], name)
    if kind not in (MANIFEST, DOCKER_MANIFEST):
        raise PydockError(f"unsupported manifest type {kind}", 1)
    return [{"Config": _blob_path(blob["config"]["digest"]), "Layers": [_blob_path(d["digest"]) for d in blob["layers"]],
             "RepoTags": [name] if name else [], "Parent": None}]


def _name_from_ref(text):
    """``org.opencontainers.image.ref.name`` may be a whole reference (``busybox:1``) or just a tag."""
    if text and (":" in text or "/" in text):
        try:
            return str(reference.parse(text))
        except InvalidArgument:
            return None
    return None


def _blob_path(value):
    """Where the OCI layout keeps the blob of digest ``value`` (checked: it becomes a path)."""
    return f"blobs/sha256/{digest.hex_of(value, 'blob digest in index.json')}"


def open_input(path, stdin):
    """The tarball ``load`` reads: the file ``-i PATH``, or standard input (refused if a terminal)."""
    if path:
        try:
            return open(path, "rb")
        except OSError as e:
            raise PydockError(f"open {path}: {e.strerror.lower()}", 1) from None
    if stdin.isatty():
        raise PydockError("requested load from stdin, but stdin is empty", 1)
    return stdin.buffer if hasattr(stdin, "buffer") else stdin
