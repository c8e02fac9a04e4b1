"""The image store: content-addressed layers and configs, and the names (tags) that point at them.

Under ``<root>/image``::

    layers/<hex>/diff/        the layer's files, usable as an overlayfs lower directory
    layers/<hex>/layer.tar    the layer as a tar (its sha256 is the layer's diff_id, <hex>)
    configs/<hex>.json        an image config; the image ID is the sha256 of these bytes
    repositories.json         {"docker.io/library/busybox:latest": "sha256:<image id>", ...}

Identical layers share one directory, because a layer is named by its content.

Every path here is built from a digest through :func:`_hex`, which refuses anything but
``sha256:`` and 64 hex digits: the last line of defence, behind the checks at each door, against
a digest such as ``sha256:../../etc`` naming a host directory. A state file that someone damaged
(a config that no longer parses, garbage in repositories.json) is reported once, on stderr, and
leaves the other images usable.
"""

import json
import os
import re
import sys
import time

from .. import state
from ..errors import InvalidArgument, NotFound, PydockError
from ..timefmt import format_time
from . import digest, imageconfig, reference

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_CONFIG_FILE = re.compile(r"[0-9a-f]{64}\.json")
_reported = set()


class DamagedImage(PydockError):
    """A stored image whose config file can no longer be read (the request fails: exit 1)."""

    exit_code = 1


def _hex(value):
    """The file-name part of a digest, refused unless the digest is well-formed."""
    return digest.hex_of(value)


def report_damaged(text):
    """Say once per process, on stderr, that a stored object is damaged and is being left aside."""
    if text not in _reported:
        _reported.add(text)
        sys.stderr.write(f"WARNING: {text}\n")
        sys.stderr.flush()


def _read_record(path, kind, default):
    """A small JSON state file (``default`` if it is missing); damaged: reported, and ``default``."""
    try:
        value = state.read_json(path, default)
    except (ValueError, OSError) as e:
        report_damaged(f"{path}: damaged {kind} ignored ({e.__class__.__name__}: {e})")
        return default
    if not isinstance(value, type(default)):
        report_damaged(f"{path}: damaged {kind} ignored (not a JSON {type(default).__name__})")
        return default
    return value


class ImageStore:
    def __init__(self):
        self.root = state.path("image")
        for sub in ("layers", "configs", "meta", "tmp"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        self.repositories_file = os.path.join(self.root, "repositories.json")

    # Layers

    def layer_path(self, diff_id):
        return os.path.join(self.root, "layers", _hex(diff_id))

    def layer_dir(self, diff_id):
        """The directory overlayfs stacks for this layer."""
        return os.path.join(self.layer_path(diff_id), "diff")

    def has_layer(self, diff_id):
        return os.path.isdir(self.layer_dir(diff_id))

    def layer_size(self, diff_id):
        """Bytes of the layer's files (what ``docker history`` calls SIZE)."""
        size = self.layer_meta(diff_id).get("size", 0)
        return size if isinstance(size, int) else 0

    def layer_meta(self, diff_id):
        """The layer's ``layer.json``: its size, and (``blobs``) the registry blobs it travelled as."""
        meta = _read_record(os.path.join(self.layer_path(diff_id), "layer.json"), "layer record", {})
        blobs = meta.get("blobs")
        if blobs is not None and not (isinstance(blobs, list) and all(_valid_blob(b) for b in blobs)):
            report_damaged(f"layer {diff_id}: damaged list of registry blobs ignored")
            meta = {**meta, "blobs": []}
        return meta

    def update_layer_meta(self, diff_id, change):
        """Call ``change(meta)`` on the layer's ``layer.json`` and write it back, under the store lock."""
        with state.locked():
            meta = self.layer_meta(diff_id)
            change(meta)
            state.write_json(os.path.join(self.layer_path(diff_id), "layer.json"), meta)

    def add_layer(self, stream, expected=None):
        """Store the layer tar read from ``stream`` (gzip or not); return its diff_id.

        With ``expected``, a layer whose diff_id differs is refused and nothing is stored.
        """
        from .layer import LayerError

        staged = self.stage_layer(stream)
        try:
            if expected and staged.diff_id != expected:
                raise LayerError(f"invalid diffID for layer: expected {expected!r}, got {staged.diff_id!r}")
            return self.keep_layer(staged)
        finally:
            staged.discard()

    def stage_layer(self, stream, tar_file=None):
        """Unpack a layer tar into a private directory under ``tmp/``; :meth:`keep_layer` stores it.

        A layer enters the store by one rename(2), so it appears whole or not at all. The tar is
        kept beside the files (for ``save`` and ``push``): a copy of the stream, or ``tar_file``
        itself (an uncompressed tar on this file system, which is then moved, not copied).
        """
        import tempfile

        from . import layer

        work = tempfile.mkdtemp(dir=os.path.join(self.root, "tmp"))
        staged = StagedLayer(work)
        try:
            os.mkdir(os.path.join(work, "diff"))
            if tar_file:
                staged.diff_id, _ = layer.unpack(stream, os.path.join(work, "diff"))
                os.rename(tar_file, os.path.join(work, "layer.tar"))
            else:
                with open(os.path.join(work, "layer.tar"), "wb") as copy:
                    staged.diff_id, _ = layer.unpack(stream, os.path.join(work, "diff"), tar_copy=copy)
            size = _tree_size(os.path.join(work, "diff"))
            state.write_json(os.path.join(work, "layer.json"), {"diff_id": staged.diff_id, "size": size})
        except BaseException:
            staged.discard()
            raise
        return staged

    def keep_layer(self, staged):
        """Move a staged layer into the store (if an identical one is not there yet); return its diff_id."""
        try:
            os.rename(staged.work, self.layer_path(staged.diff_id))
        except OSError:
            if not self.has_layer(staged.diff_id):
                raise
        return staged.diff_id

    def add_layer_from_dir(self, directory, skip=()):
        """Pack ``directory`` (a container's upper dir) into a layer and store it.

        A thread packs while this one stages what it reads; the layer is kept only if the packing
        ended well (a truncated tar is never stored as a layer).
        """
        import io
        import threading

        from . import layer

        read_fd, write_fd = os.pipe()
        failed = []

        def produce():
            try:
                with open(write_fd, "wb") as out:
                    layer.pack(directory, out, skip)
            except BaseException as e:  # noqa: BLE001 (told by the caller, once the reader has finished)
                failed.append(e)

        writer = threading.Thread(target=produce)
        writer.start()
        try:
            with open(read_fd, "rb") as stream:
                staged = self.stage_layer(io.BufferedReader(stream))
        finally:
            writer.join()
        try:
            if failed:
                raise layer.LayerError(f"packing {directory} failed: {failed[0]}")
            return self.keep_layer(staged)
        finally:
            staged.discard()

    # Configs and images

    def put_config(self, config):
        """Store an image config; its ID is the sha256 of its JSON bytes, as in Docker."""
        data = json.dumps(config, separators=(",", ":")).encode()
        return self.put_config_bytes(data)

    def put_config_bytes(self, data):
        """Store a config given as bytes (checked by :func:`imageconfig.parse` first); return the image ID."""
        import hashlib

        imageconfig.parse(data)
        image_id = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self._config_file(image_id)
        if not os.path.exists(path):
            state.write_bytes(path, data)
        return image_id

    def _config_file(self, image_id):
        return os.path.join(self.root, "configs", _hex(image_id) + ".json")

    def config_bytes(self, image_id):
        try:
            with open(self._config_file(image_id), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise NotFound(f"No such image: {image_id}", 1) from None

    def config(self, image_id):
        """The image's config, checked and completed (see :mod:`.imageconfig`); :class:`DamagedImage`
        if the stored file no longer passes."""
        data = self.config_bytes(image_id)
        try:
            return imageconfig.parse(data, "stored config")
        except imageconfig.InvalidImageConfig as e:
            raise DamagedImage(f"damaged image {image_id}: {e}") from None

    def image_ids(self):
        """Every stored image, the damaged ones included (their files are named by valid IDs)."""
        return ["sha256:" + name[:-5] for name in os.listdir(os.path.join(self.root, "configs"))
                if _CONFIG_FILE.fullmatch(name)]

    def healthy_config(self, image_id):
        """The config, or None (reported once) for an image that is damaged or has just gone."""
        try:
            return self.config(image_id)
        except DamagedImage as e:
            report_damaged(f"{e} (left out)")
        except NotFound:
            pass
        return None

    def layers(self, image_id):
        """The diff_ids of an image, bottom layer first."""
        return self.config(image_id)["rootfs"]["diff_ids"]

    def size(self, image_id):
        return sum(self.layer_size(d) for d in self.layers(image_id))

    # Names

    def repositories(self):
        """{full tag: image ID}. Entries that are not a tag and the ID of a stored image (a damaged
        file) are reported and left out."""
        repos = _read_record(self.repositories_file, "list of tags", {})
        good = {}
        for name, target in repos.items():
            if _valid_tag_entry(name, target) and os.path.exists(self._config_file(target)):
                good[name] = target
            else:
                report_damaged(f"{self.repositories_file}: damaged tag {name!r} -> {target!r} ignored")
        return good

    def tags_of(self, image_id):
        return sorted(name for name, target in self.repositories().items() if target == image_id)

    def tag(self, image_id, name):
        """Point the name (a reference such as ``busybox:latest``) at ``image_id``."""
        key = tag_key(name)
        digest.check(image_id, "image ID")
        with state.locked():
            repos = self.repositories()
            repos[key] = image_id
            state.write_json(self.repositories_file, repos)

    def untag(self, name):
        ref = reference.parse(name)
        key = f"{ref.full_repository}:{ref.tag}"
        with state.locked():
            repos = self.repositories()
            if key not in repos:
                raise NotFound(f"No such image: {name}")
            del repos[key]
            state.write_json(self.repositories_file, repos)

    def resolve(self, name):
        """The image ID that a name, a full ID or a unique ID prefix refers to."""
        repos = self.repositories()
        try:
            ref = reference.parse(name)
        except Exception:
            ref = None
        if ref is not None and ref.digest:  # repo@sha256:...: an image pulled (or pushed) by that digest
            for image_id in self.image_ids():
                if f"{ref.repository}@{ref.digest}" in self.digests_of(image_id):
                    return image_id
        if ref is not None and ref.tag and f"{ref.full_repository}:{ref.tag}" in repos:
            return repos[f"{ref.full_repository}:{ref.tag}"]
        if reference.looks_like_id(name):
            prefix = name.split(":", 1)[-1]
            matches = [i for i in self.image_ids() if i[7:].startswith(prefix)]
            if len(matches) == 1:
                return matches[0]
        raise NotFound(f"No such image: {ref.familiar() if ref is not None else name}", 1)  # busybox:latest

    def delete(self, image_id):
        """Remove one image's config and metadata, and the layers no other image uses.

        Returns the diff_ids of the layers removed. A damaged image (its config unreadable) goes
        too, but its layers stay: which they are is not known any more. For the same reason no
        layer is removed while another image is damaged: it might be one of that image's.
        """
        import shutil

        with state.locked():
            config = self.healthy_config(image_id)
            layers = config["rootfs"]["diff_ids"] if config else []
            for path in (self._config_file(image_id), self._meta_file(image_id)):
                if os.path.exists(path):
                    os.unlink(path)
            unused = set(layers)
            for other in self.image_ids():
                other_config = self.healthy_config(other)
                if other_config is None:
                    unused = set()  # damaged: any layer might be one of its own
                else:
                    unused -= set(other_config["rootfs"]["diff_ids"])
            for diff_id in unused:
                shutil.rmtree(self.layer_path(diff_id), ignore_errors=True)
        return [d for d in layers if d in unused]

    def children(self, image_id):
        """Images made from this one (by a build step or a commit): their parent is ``image_id``."""
        return [other for other in self.image_ids() if self.parent(other) == image_id]

    # Metadata that is not part of the content: the parent (build cache) and registry digests

    def _meta_file(self, image_id):
        return os.path.join(self.root, "meta", _hex(image_id) + ".json")

    def meta(self, image_id):
        """``parent`` (an image ID) and ``digests`` (``repo@sha256:...``); damaged values are left out."""
        meta = _read_record(self._meta_file(image_id), "image record", {})
        if "parent" in meta and not digest.is_digest(meta["parent"]):
            report_damaged(f"{self._meta_file(image_id)}: damaged parent {meta['parent']!r} ignored")
            meta = {k: v for k, v in meta.items() if k != "parent"}
        digests = meta.get("digests")
        if digests is not None and not (isinstance(digests, list) and all(_valid_repo_digest(d) for d in digests)):
            report_damaged(f"{self._meta_file(image_id)}: damaged list of digests ignored")
            meta = {k: v for k, v in meta.items() if k != "digests"}
        return meta

    def set_meta(self, image_id, **values):
        with state.locked():
            meta = self.meta(image_id)
            meta.update(values)
            state.write_json(self._meta_file(image_id), meta)

    def parent(self, image_id):
        return self.meta(image_id).get("parent")

    def digests_of(self, image_id):
        """``repo@sha256:...`` names this image has in registries (``RepoDigests``)."""
        return self.meta(image_id).get("digests", [])

    def history_ids(self, image_id):
        """For each history row, newest first: the local image it made, or ``<missing>``.

        The image, its parent, its grandparent... each own the history rows up to their length.
        """
        owners = {}
        current, seen = image_id, set()
        while current and current not in seen and (config := self.healthy_config(current)) is not None:
            seen.add(current)
            owners.setdefault(len(config["history"]), current)
            current = self.parent(current)
        total = len(self.config(image_id)["history"])
        return [owners.get(total - i, "<missing>") for i in range(total)]


def tag_key(name):
    """The key a new tag ``name`` is stored under (``docker.io/library/busybox:latest``), or an error."""
    try:
        ref = reference.parse(name)
    except InvalidArgument as e:
        raise InvalidArgument(str(e), 1) from None
    if ref.digest:
        raise InvalidArgument("refusing to create a tag with a digest reference", 1)
    return f"{ref.full_repository}:{ref.tag}"


def _valid_tag_entry(name, target):
    """A repositories.json entry: a full ``domain/path:tag`` and the ID of a stored image."""
    if not isinstance(name, str) or not digest.is_digest(target):
        return False
    try:
        ref = reference.parse(name)
    except PydockError:
        return False
    return ref.digest is None and f"{ref.full_repository}:{ref.tag}" == name


def _valid_repo_digest(text):
    name, at, value = text.partition("@") if isinstance(text, str) else ("", "", "")
    return bool(at and name) and digest.is_digest(value)


def _valid_blob(blob):
    return (isinstance(blob, dict) and digest.is_digest(blob.get("digest")) and isinstance(blob.get("size"), int)
            and isinstance(blob.get("mediaType", ""), str) and isinstance(blob.get("repositories"), list)
            and all(isinstance(r, str) for r in blob["repositories"]))


class StagedLayer:
    """A layer unpacked under ``tmp/`` and not yet in the store."""

    def __init__(self, work):
        self.work, self.diff_id = work, None

    def discard(self):
        import shutil

        if os.path.exists(self.work):
            shutil.rmtree(self.work)


def chain_ids(diff_ids):
    """Docker's layer chain IDs: the first is the diff_id, then sha256("<parent chain> <diff_id>")."""
    import hashlib

    chains = []
    for diff_id in diff_ids:
        chains.append(diff_id if not chains else
                      "sha256:" + hashlib.sha256(f"{chains[-1]} {diff_id}".encode()).hexdigest())
    return chains


def new_config(diff_ids, container_config=None, history=None, created=None):
    """An image config in the Docker/OCI format, with a default PATH."""
    container_config = dict(container_config or {})
    container_config.setdefault("Env", [f"PATH={DEFAULT_PATH}"])
    return {
        "architecture": _architecture(),
        "os": "linux",
        "created": format_time(created or time.time()),
        "config": container_config,
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": history or [],
    }


def _architecture():
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _tree_size(directory):
    total = 0
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            total += st.st_size
    return total
