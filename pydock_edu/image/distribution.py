"""Pull and push: moving images between the local store and a registry, manifest by manifest.

Pull ``NAME[:TAG|@DIGEST]``:

1. ``GET`` the manifest and verify it: the sha256 of its bytes must be the digest asked for (or the
   ``Docker-Content-Digest`` the registry announced). For a manifest list, pick the manifest of
   this platform (see :mod:`.manifest`) and fetch it by digest.
2. ``GET`` the config blob and verify its digest. Its ``rootfs.diff_ids`` name the layers by the
   sha256 of their *uncompressed* tars; the image ID is the sha256 of the config.
3. For each layer whose diff_id the store lacks (three at a time): ``GET`` the blob and, in one
   pass, hash the bytes as they arrive, gunzip them, hash the tar (the diff_id) and unpack it into a
   staging directory. Both digests and the size must match.
4. Only when every layer verified: move the staged layers into the store, store the config, set
   the tag and record ``repo@digest`` (``RepoDigests``). An error before that deletes the staging
   directories: nothing at all is stored.

Each layer remembers the blobs it travelled as (``blobs`` in its ``layer.json``: digest, media
type, size and the repositories known to hold it), so that a push knows what a registry has.

Push ``NAME[:TAG]``, for each layer (five at a time):

1. ``HEAD`` the layer's known blobs in the target repository: one is there? Nothing to send.
2. A blob known in another repository of the same registry: ask for a cross-repository mount.
3. Otherwise gzip the layer's tar (deterministically, see :mod:`.compression`) while uploading it,
   and remember the blob: the next push finds it with a ``HEAD`` and compresses nothing.

Then the config blob and a Docker schema 2 manifest, ``PUT`` under the tag.

Progress goes to a *progress* object, so that each front end draws it its own way (the CLI as
Docker's lines, a notebook with widgets). :class:`Progress` is the interface and stays silent:

``progress.status(text)``
    a line about the whole image: ``latest: Pulling from library/busybox``, ``Digest: sha256:...``,
    ``Status: Downloaded newer image for busybox:latest``, ``The push refers to repository [...]``,
    ``latest: digest: sha256:... size: 527``.
``progress.layer(id, action, current=None, total=None)``
    a step of one layer; ``id`` is 12 hex digits of its blob digest (pull) or diff_id (push).
    Pull: ``Pulling fs layer``, ``Already exists``, ``Downloading`` (``current``/``total`` bytes
    received; the layer is unpacked as it arrives), ``Verifying Checksum``, ``Download complete``,
    ``Pull complete``. Push: ``Preparing``, ``Layer already exists``, ``Mounted from <repo>``,
    ``Pushing`` (bytes of the tar compressed and sent so far), ``Pushed``.

Layers move in parallel threads, so both methods may be called from several threads at once.
"""

import hashlib
import io
import os
import threading

from .. import explain
from ..errors import InvalidArgument, NotFound, PydockError
from . import imageconfig, manifest, reference, registry
from .registry import RegistryError

DOWNLOADS = 3  # layers pulled at once, as dockerd's max-concurrent-downloads
UPLOADS = 5  # layers pushed at once, as dockerd's max-concurrent-uploads
READ_SIZE = 1 << 20


class Progress:
    """The progress interface (see the module's docstring); this one reports nothing."""

    def status(self, text):
        pass

    def layer(self, id, action, current=None, total=None):
        pass


class Cancelled(PydockError):
    """Another layer failed (or the user interrupted): this one stops too."""


def _sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# Pull


def pull(images, name, all_tags=False, progress=None):
    """Pull ``name`` (every tag of its repository with ``all_tags``) into ``images``.

    Returns the reference pulled in full: ``docker.io/library/busybox:latest``.
    """
    progress = progress or Progress()
    ref = reference.parse(name, default_tag=None if all_tags else reference.DEFAULT_TAG)
    if all_tags and (ref.tag or ref.digest):
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    for endpoint in registry.pull_endpoints(ref.domain):
        try:
            return _Pull(images, endpoint, ref, progress).run(all_tags)
        except PydockError as e:
            if not endpoint.mirror:
                raise
            explain.step("http", f"mirror {endpoint.url} failed ({e}): trying the next source")


class _Pull:
    """Pulling from one endpoint (the registry, or one of its mirrors)."""

    def __init__(self, images, endpoint, ref, progress):
        self.images, self.ref, self.progress = images, ref, progress
        self.client = registry.session(endpoint, [f"repository:{ref.path}:pull"])
        self.cancelled = threading.Event()

    def run(self, all_tags):
        try:
            if all_tags:
                tags = self.client.tags(self.ref.path)
                for tag in tags:
                    if not isinstance(tag, str) or not reference.TAG.fullmatch(tag):
                        raise RegistryError(f"the registry lists an invalid tag {tag!r} for {self.ref.repository}")
                changed = False
                for tag in tags:
                    changed |= self.image(reference.Reference(self.ref.domain, self.ref.path, tag))
                name, pulled = self.ref.repository, self.ref.full_repository
            else:
                changed = self.image(self.ref)
                name = self.ref.familiar()
                pulled = self.ref.full_repository + (f"@{self.ref.digest}" if self.ref.digest else f":{self.ref.tag}")
        finally:
            self.client.close()
        self.progress.status(f"Status: {'Downloaded newer image' if changed else 'Image is up to date'} for {name}")
        return pulled

    def image(self, ref):
        """Pull one tag or digest; True if that brought a new image or moved the tag."""
        asked = ref.digest or ref.tag
        self.progress.status(f"{asked}: Pulling from {ref.path}")
        digest, document, kind = self.manifest(ref, asked)
        if kind in manifest.LISTS:
            chosen = manifest.choose(document)
            _, document, kind = self.manifest(ref, chosen["digest"])
            if kind not in manifest.IMAGES:
                raise RegistryError("unsupported manifest: a manifest list inside a manifest list")
        config_descriptor, layers = manifest.image_parts(document)
        config_bytes = self.config(config_descriptor)
        try:
            diff_ids = imageconfig.parse(config_bytes, f"image config {config_descriptor['digest']}")["rootfs"]["diff_ids"]
        except imageconfig.InvalidImageConfig as e:
            raise RegistryError(str(e)) from None
        if len(diff_ids) != len(layers):
            raise RegistryError(f"invalid image: the manifest lists {len(layers)} layers, the config {len(diff_ids)}")
        image_id = _sha256(config_bytes)
        existed = image_id in self.images.image_ids()
        if existed and all(self.images.has_layer(d) for d in diff_ids):
            staged = []  # the image is here already: nothing to download
        else:
            staged = self.layers(list(zip(layers, diff_ids)))
        try:
            for layer, _ in staged:
                self.images.keep_layer(layer)
        finally:
            for layer, _ in staged:
                layer.discard()
        for descriptor, diff_id in zip(layers, diff_ids):
            remember_blob(self.images, diff_id, descriptor, ref.full_repository)
        for _, blob in staged:
            self.progress.layer(blob[7:19], "Pull complete")
        self.images.put_config_bytes(config_bytes)
        add_repo_digest(self.images, image_id, f"{ref.repository}@{digest}")
        self.progress.status(f"Digest: {digest}")
        if ref.digest:
            return not existed
        key = f"{ref.full_repository}:{ref.tag}"
        before = self.images.repositories().get(key)
        self.images.tag(image_id, key)
        return before != image_id

    def manifest(self, ref, asked):
        """Fetch and verify a manifest; return (digest, document, media type)."""
        try:
            data, media_type, announced = self.client.get_manifest(ref.path, asked, manifest.ACCEPT)
        except RegistryError as e:
            if e.status == 404:
                shown = ref.repository + ("@" if asked.startswith("sha256:") else ":") + asked
                raise RegistryError(f"manifest for {shown} not found: {e.detail}", 404) from None
            if e.status in (401, 403):
                raise RegistryError(f"pull access denied for {ref.repository}, repository does not exist or may "
                                    f"require 'pydock login': {e.detail}", e.status) from None
            raise
        digest = _sha256(data)
        expected = asked if asked.startswith("sha256:") else announced
        if expected and expected.startswith("sha256:") and expected != digest:
            raise RegistryError(f"manifest verification failed for digest {expected}")
        document, kind = manifest.parse(data, media_type)
        return digest, document, kind

    def config(self, descriptor):
        """The config blob, verified; read from the store if that image is here (its ID is the digest)."""
        if descriptor["digest"] in self.images.image_ids():
            return self.images.config_bytes(descriptor["digest"])
        if descriptor["size"] > manifest.MAX_CONFIG:
            raise RegistryError(f"image config {descriptor['digest']} is too big ({descriptor['size']} bytes)")
        data = self.client.get_blob(self.ref.path, descriptor["digest"], descriptor["size"])
        if _sha256(data) != descriptor["digest"] or len(data) != descriptor["size"]:
            raise RegistryError(f"image config verification failed for digest {descriptor['digest']}")
        return data

    def layers(self, pairs):
        """Stage the layers the store lacks; return (staged layer, blob digest) pairs."""
        wanted = {}
        for descriptor, diff_id in pairs:
            if self.images.has_layer(diff_id):
                self.progress.layer(descriptor["digest"][7:19], "Already exists")
            elif diff_id not in wanted:
                self.progress.layer(descriptor["digest"][7:19], "Pulling fs layer")
                wanted[diff_id] = descriptor
        return _in_parallel(self.layer, list(wanted.items()), DOWNLOADS, self.cancelled,
                            undo=lambda pair: pair[0].discard())

    def layer(self, item):
        """Download one layer blob and unpack it into a staging directory, verifying both digests."""
        from .layer import LayerError

        diff_id, descriptor = item
        short = descriptor["digest"][7:19]
        with self.client.blob_stream(self.ref.path, descriptor["digest"]) as response:
            stream = _VerifiedBlob(response, descriptor, self.cancelled,
                                   lambda n: self.progress.layer(short, "Downloading", n, descriptor["size"]))
            try:
                staged = self.images.stage_layer(stream)
            except LayerError:
                stream.verify()  # bytes that are not the blob named explain a broken archive best
                raise
            try:
                self.progress.layer(short, "Verifying Checksum")
                stream.verify()
                if staged.diff_id != diff_id:
                    raise RegistryError(f"layer {descriptor['digest']} unpacks to diff_id {staged.diff_id}, "
                                        f"but the image config says {diff_id}")
            except BaseException:
                staged.discard()
                raise
        self.progress.layer(short, "Download complete")
        return staged, descriptor["digest"]


class _VerifiedBlob(io.RawIOBase):
    """A blob's bytes as they arrive, hashed and counted; :meth:`verify` checks them against the descriptor."""

    def __init__(self, source, descriptor, cancelled, report):
        self.source, self.descriptor, self.cancelled, self.report = source, descriptor, cancelled, report
        self.sha256 = hashlib.sha256()
        self.count = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        import http.client

        if self.cancelled.is_set():
            raise Cancelled("cancelled")
        try:
            n = self.source.readinto(buffer)
        except (OSError, http.client.HTTPException) as e:
            raise RegistryError(f"reading blob {self.descriptor['digest']}: {e or type(e).__name__}") from None
        self.count += n
        if self.count > self.descriptor["size"]:
            raise RegistryError(f"filesystem layer verification failed for digest {self.descriptor['digest']}: "
                                f"more than the {self.descriptor['size']} bytes announced")
        self.sha256.update(memoryview(buffer)[:n])
        if n:
            self.report(self.count)
        return n

    def verify(self):
        """Read what is left, then compare size and sha256 with the descriptor."""
        buffer = bytearray(READ_SIZE)
        while self.readinto(buffer):
            pass
        digest = "sha256:" + self.sha256.hexdigest()
        if digest != self.descriptor["digest"] or self.count != self.descriptor["size"]:
            raise RegistryError(f"filesystem layer verification failed for digest {self.descriptor['digest']}")


def remember_blob(images, diff_id, descriptor, repository):
    """Note in the layer's metadata that it travels as blob ``descriptor``, held by ``repository``."""
    blobs = images.layer_meta(diff_id).get("blobs") or []
    if any(b["digest"] == descriptor["digest"] and repository in b["repositories"] for b in blobs):
        return

    def change(meta):
        blobs = meta.setdefault("blobs", [])
        for blob in blobs:
            if blob["digest"] == descriptor["digest"]:
                blob["repositories"].append(repository)
                return
        blobs.append({"digest": descriptor["digest"], "size": descriptor["size"],
                      "mediaType": descriptor.get("mediaType", manifest.OCI_LAYER_GZIP),
                      "repositories": [repository]})

    images.update_layer_meta(diff_id, change)


def add_repo_digest(images, image_id, repo_digest):
    digests = images.digests_of(image_id)
    if repo_digest not in digests:
        images.set_meta(image_id, digests=digests + [repo_digest])


def _in_parallel(function, items, workers, cancelled, undo):
    """``[function(item) for item in items]``, ``workers`` at a time, in threads.

    At the first error (or an interrupt) ``cancelled`` is set so the others stop at their next
    read; once all have stopped, ``undo`` is applied to the results that did complete and the
    first real error is raised.
    """
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    if not items:
        return []
    pool = ThreadPoolExecutor(min(workers, len(items)), thread_name_prefix="pydock-layer")
    futures = [pool.submit(function, item) for item in items]
    ok = False
    try:
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        ok = not pending and all(f.exception() is None for f in done)
    finally:
        if not ok:
            cancelled.set()
        pool.shutdown(wait=True, cancel_futures=not ok)
        if not ok:
            for future in futures:
                if not future.cancelled() and future.exception() is None:
                    undo(future.result())
    errors = [f.exception() for f in futures if not f.cancelled() and f.exception() is not None]
    if errors:
        raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
    return [f.result() for f in futures]


# Push


def push(images, name, all_tags=False, progress=None):
    """Push the image ``name`` (every local tag of its repository with ``all_tags``) to its registry.

    Returns the reference pushed in full: ``127.0.0.1:5000/app:latest``.
    """
    progress = progress or Progress()
    ref = reference.parse(name, default_tag=None if all_tags else reference.DEFAULT_TAG)
    if ref.digest:
        raise InvalidArgument("cannot push a digest reference")
    if all_tags and ref.tag:
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    repositories = images.repositories()
    prefix = ref.full_repository + ":"
    tags = sorted(k[len(prefix):] for k in repositories if k.startswith(prefix)) if all_tags else \
        [ref.tag] if prefix + ref.tag in repositories else []
    if not tags:
        raise NotFound(f"An image does not exist locally with the tag: {ref.repository}", 1)
    progress.status(f"The push refers to repository [{ref.full_repository}]")
    client = registry.session(registry.endpoint(ref.domain), [f"repository:{ref.path}:pull,push"])
    try:
        pusher = _Push(images, client, ref, progress)
        for tag in tags:
            pusher.image(tag, repositories[prefix + tag])
    finally:
        client.close()
    return ref.full_repository + (f":{ref.tag}" if ref.tag else "")


class _Push:
    def __init__(self, images, client, ref, progress):
        self.images, self.client, self.ref, self.progress = images, client, ref, progress
        self.cancelled = threading.Event()

    def image(self, tag, image_id):
        """Push the layers, the config and the manifest of one tag."""
        diff_ids = list(dict.fromkeys(self.images.layers(image_id)))
        for diff_id in reversed(diff_ids):
            self.progress.layer(diff_id[7:19], "Preparing")
        sent = dict(zip(diff_ids, _in_parallel(self.layer, diff_ids, UPLOADS, self.cancelled, undo=lambda _: None)))
        config = self.images.config_bytes(image_id)
        config_digest = _sha256(config)
        if not self.client.blob_exists(self.ref.path, config_digest):
            self.client.upload_blob(self.ref.path, [config])
        data = manifest.docker_manifest(config_digest, len(config), [sent[d] for d in self.images.layers(image_id)])
        digest = _sha256(data)
        stored = self.client.put_manifest(self.ref.path, tag, data, manifest.DOCKER_MANIFEST)
        if stored and stored != digest:
            raise RegistryError(f"the registry stored the manifest as {stored}, not as {digest}")
        add_repo_digest(self.images, image_id, f"{self.ref.repository}@{digest}")
        self.progress.status(f"{tag}: digest: {digest} size: {len(data)}")

    def layer(self, diff_id):
        """Make sure the repository has a blob of this layer; return its (media type, size, digest)."""
        short, path, target = diff_id[7:19], self.ref.path, self.ref.full_repository
        blobs = self.images.layer_meta(diff_id).get("blobs") or []
        for blob in blobs:
            if self.client.blob_exists(path, blob["digest"]):
                remember_blob(self.images, diff_id, blob, target)
                self.progress.layer(short, "Layer already exists")
                return manifest.docker_layer_type(blob["mediaType"]), blob["size"], blob["digest"]
        location = None
        source = next(((blob, repo) for blob in blobs for repo in blob["repositories"]
                       if repo.startswith(self.ref.domain + "/") and repo != target), None)
        if source is not None:
            blob, repo = source
            source_path = repo.split("/", 1)[1]
            mounted, location = self.client.mount_blob(path, blob["digest"], source_path)
            if mounted:
                remember_blob(self.images, diff_id, blob, target)
                self.progress.layer(short, f"Mounted from {source_path}")
                return manifest.docker_layer_type(blob["mediaType"]), blob["size"], blob["digest"]
        return self.upload(diff_id, location)

    def upload(self, diff_id, location):
        """Gzip the layer's tar while sending it (into the upload at ``location``, if one is open)."""
        from .compression import gzip_stream

        short = diff_id[7:19]
        tar = os.path.join(self.images.layer_path(diff_id), "layer.tar")
        total = os.path.getsize(tar)

        def sent(n):
            if self.cancelled.is_set():
                raise Cancelled("cancelled")
            self.progress.layer(short, "Pushing", n, total)

        with open(tar, "rb") as source:
            digest, size = self.client.upload_blob(self.ref.path, gzip_stream(source, sent), location)
        blob = {"digest": digest, "size": size, "mediaType": manifest.DOCKER_LAYER_GZIP}
        remember_blob(self.images, diff_id, blob, self.ref.full_repository)
        self.progress.layer(short, "Pushed")
        return manifest.DOCKER_LAYER_GZIP, size, digest
