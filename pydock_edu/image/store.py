"""The image store: content-addressed layers and configs, and the names (tags) that point at them.

Under ``<root>/image``::

    layers/<hex>/diff/        the layer's files, usable as an overlayfs lower directory
    layers/<hex>/layer.tar    the layer as a tar (its sha256 is the layer's diff_id, <hex>)
    configs/<hex>.json        an image config; the image ID is the sha256 of these bytes
    repositories.json         {"docker.io/library/busybox:latest": "sha256:<image id>", ...}

Identical layers share one directory, because a layer is named by its content.
"""

import json
import os
import time

from .. import state
from ..errors import NotFound
from ..timefmt import format_time
from . import reference

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _hex(digest):
    return digest.split(":", 1)[-1]


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
        meta = state.read_json(os.path.join(self.layer_path(diff_id), "layer.json"), {})
        return meta.get("size", 0)

    def layer_meta(self, diff_id):
        """The layer's ``layer.json``: its size, and (``blobs``) the registry blobs it travelled as."""
        return state.read_json(os.path.join(self.layer_path(diff_id), "layer.json"), {})

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
        import hashlib

        image_id = "sha256:" + hashlib.sha256(data).hexdigest()
        path = os.path.join(self.root, "configs", _hex(image_id) + ".json")
        if not os.path.exists(path):
            state.write_bytes(path, data)
        return image_id

    def config_bytes(self, image_id):
        with open(os.path.join(self.root, "configs", _hex(image_id) + ".json"), "rb") as f:
            return f.read()

    def config(self, image_id):
        return json.loads(self.config_bytes(image_id))

    def image_ids(self):
        return ["sha256:" + name[:-5] for name in os.listdir(os.path.join(self.root, "configs"))
                if name.endswith(".json")]

    def layers(self, image_id):
        """The diff_ids of an image, bottom layer first."""
        return self.config(image_id)["rootfs"]["diff_ids"]

    def size(self, image_id):
        return sum(self.layer_size(d) for d in self.layers(image_id))

    # Names

    def repositories(self):
        return state.read_json(self.repositories_file, {})

    def tags_of(self, image_id):
        return sorted(name for name, target in self.repositories().items() if target == image_id)

    def tag(self, image_id, name):
        """Point the name (a reference such as ``busybox:latest``) at ``image_id``."""
        ref = reference.parse(name)
        with state.locked():
            repos = self.repositories()
            repos[f"{ref.full_repository}:{ref.tag}"] = image_id
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
            prefix = _hex(name)
            matches = [i for i in self.image_ids() if _hex(i).startswith(prefix)]
            if len(matches) == 1:
                return matches[0]
        raise NotFound(f"No such image: {ref.familiar() if ref is not None else name}", 1)  # busybox:latest

    def delete(self, image_id):
        """Remove one image's config and metadata, and the layers no other image uses.

        Returns the diff_ids of the layers removed.
        """
        import shutil

        with state.locked():
            layers = self.layers(image_id)
            for path in (os.path.join(self.root, "configs", _hex(image_id) + ".json"), self._meta_file(image_id)):
                if os.path.exists(path):
                    os.unlink(path)
            unused = set(layers)
            for other in self.image_ids():
                unused -= set(self.layers(other))
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
        return state.read_json(self._meta_file(image_id), {})

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
        current = image_id
        while current and os.path.exists(os.path.join(self.root, "configs", _hex(current) + ".json")):
            owners.setdefault(len(self.config(current).get("history") or []), current)
            current = self.parent(current)
        total = len(self.config(image_id).get("history") or [])
        return [owners.get(total - i, "<missing>") for i in range(total)]


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
