"""``image rm`` and ``image prune``: Docker's rules for untagging and deleting images.

Removing by *name* removes that name (untag); the image itself goes only when no name is left.
Removing by *ID* deletes the image. Something may stand in the way, a conflict:

- hard (even ``-f`` cannot override): a child image built on it, a running container using it;
- soft (``-f`` overrides): more than one name, a stopped container using it.

After an image goes, its parents (the images of earlier build steps) go too while they are
untagged and unused ("pruning"), and so do the layers no other image shares.

One difference from Docker: an image that a container still uses keeps its files (Docker keeps
only the layers), so ``-f`` leaves it untagged, as a ``<none>`` image, until the container goes.
"""

from dataclasses import dataclass

from .. import events
from ..errors import Conflict, InvalidArgument
from . import reference

DEPENDENT_CHILD, RUNNING_CONTAINER, ACTIVE_REFERENCE, STOPPED_CONTAINER = 1, 2, 4, 8
HARD = DEPENDENT_CHILD | RUNNING_CONTAINER
SOFT = ACTIVE_REFERENCE | STOPPED_CONTAINER


@dataclass
class _Conflict:
    image_id: str
    message: str
    hard: bool = False
    used: bool = False

    def error(self):
        force = "cannot be forced" if self.hard else "must be forced"
        return Conflict(f"conflict: unable to delete {self.image_id[7:19]} ({force}) - {self.message}", 1)


class _Removal:
    def __init__(self, engine):
        self.engine, self.images = engine, engine.images
        self.containers = engine.containers(all=True)
        self.lines = []

    def using(self, image_id):
        return [r for r in self.containers if r["Image"] == image_id]

    def untag(self, image_id, name):
        self.images.untag(name)
        events.emit("image", "untag", image_id, {"name": image_id})
        self.lines.append(f"Untagged: {reference.parse(name).familiar()}")

    def conflict(self, image_id, mask):
        """The first conflict (of the kinds in ``mask``) that stands in the way of deleting the image."""
        if mask & DEPENDENT_CHILD and self.images.children(image_id):
            return _Conflict(image_id, "image has dependent child images", hard=True)
        running = [r for r in self.using(image_id) if r["State"]["Running"]]
        if mask & RUNNING_CONTAINER and running:
            return _Conflict(image_id, f"image is being used by running container {running[0]['Id'][:12]}",
                             hard=True, used=True)
        if mask & ACTIVE_REFERENCE and self.images.tags_of(image_id):
            return _Conflict(image_id, "image is referenced in multiple repositories")
        stopped = [r for r in self.using(image_id) if not r["State"]["Running"]]
        if mask & STOPPED_CONTAINER and stopped:
            return _Conflict(image_id, f"image is being used by stopped container {stopped[0]['Id'][:12]}", used=True)
        return None

    def delete(self, image_id, force, prune, quiet):
        """Delete the image (and, with ``prune``, its unused untagged parents) unless a conflict forbids it.

        ``quiet``: after an untag, a conflict just leaves the image, unless it is dangling and unused.
        """
        conflict = self.conflict(image_id, HARD | (0 if force else SOFT))
        if conflict:
            dangling = not self.images.tags_of(image_id) and not self.images.children(image_id)
            if quiet and (not dangling or conflict.used):
                return
            raise conflict.error()
        parent = self.images.parent(image_id)
        for name in self.images.tags_of(image_id):
            self.untag(image_id, name)
        for digest in self.images.digests_of(image_id):
            self.lines.append(f"Untagged: {digest}")
        if self.using(image_id):
            return  # forced past stopped containers: their files stay (see the module's note)
        config = self.images.healthy_config(image_id)  # None: damaged, its layers unknown
        diff_ids = config["rootfs"]["diff_ids"] if config else []
        removed = set(self.images.delete(image_id))
        events.emit("image", "delete", image_id, {"name": image_id})
        self.lines.append(f"Deleted: {image_id}")
        from .store import chain_ids

        chains = chain_ids(diff_ids)
        self.lines += [f"Deleted: {chains[i]}" for i in reversed(range(len(diff_ids))) if diff_ids[i] in removed]
        if prune and parent and parent in self.images.image_ids():
            self.delete(parent, force=False, prune=True, quiet=True)


def remove(engine, ref, force=False, prune=True):
    """``docker rmi REF``: return the lines it prints (``Untagged: ...``, ``Deleted: ...``)."""
    removal = _Removal(engine)
    images = removal.images
    image_id = images.resolve(ref)
    tags = images.tags_of(image_id)
    if not _is_id_prefix(image_id, ref):
        users = removal.using(image_id)
        if not force and len(tags) == 1 and users:
            raise Conflict(f'conflict: unable to remove repository reference "{ref}" (must force) - container '
                           f"{users[0]['Id'][:12]} is using its referenced image {image_id[7:19]}", 1)
        parsed = reference.parse(ref)
        removal.untag(image_id, f"{parsed.full_repository}:{parsed.tag}")
        if images.tags_of(image_id):
            return removal.lines
        removal.delete(image_id, force, prune, quiet=True)
        return removal.lines
    if len(tags) == 1:
        conflict = removal.conflict(image_id, HARD | (0 if force else STOPPED_CONTAINER))
        if conflict:
            raise conflict.error()
        removal.untag(image_id, tags[0])
    removal.delete(image_id, force, prune, quiet=False)
    return removal.lines


def _is_id_prefix(image_id, ref):
    return image_id.startswith(ref) or image_id.split(":", 1)[1].startswith(ref)


def prune(engine, all=False, filters=()):
    """``docker image prune``: delete dangling images (``all``: every image no container uses).

    Returns (the lines of what was untagged and deleted, bytes reclaimed). Images that containers
    use, and the parents of other images, are left alone.
    """
    from ..timefmt import ZERO, parse_time

    images = engine.images
    wanted = {}
    for text in filters:
        key, _, value = text.partition("=")
        if key not in ("until", "label", "dangling"):
            raise InvalidArgument(f"invalid filter '{key}'", 1)
        wanted.setdefault(key, []).append(value)
    dangling_only = wanted["dangling"][-1].lower() in ("true", "1") if "dangling" in wanted else not all
    until = _until(wanted["until"][-1]) if "until" in wanted else None
    used = {r["Image"] for r in engine.containers(all=True)}
    before = {d: images.layer_size(d) for d in _layers_in_use(images)}
    lines = []
    for image_id in images.image_ids():
        if image_id not in images.image_ids() or image_id in used or images.children(image_id):
            continue  # gone already (a pruned image's parent), in use, or the parent of another image
        tags = images.tags_of(image_id)
        config = images.healthy_config(image_id)
        if config is None:
            continue  # damaged (reported): removed only when asked by name, with rmi
        if (dangling_only and tags) or (until is not None and parse_time(config["created"] or ZERO) > until) \
                or not _labels_match(wanted.get("label", []), (config.get("config") or {}).get("Labels") or {}):
            continue
        try:
            for name in tags or [image_id.split(":", 1)[1]]:
                lines += remove(engine, name, force=False, prune=True)
        except Conflict:
            continue
    remaining = _layers_in_use(images)
    reclaimed = sum(size for diff_id, size in before.items() if diff_id not in remaining)
    events.emit("image", "prune", "", {"reclaimed": str(reclaimed)})
    return lines, reclaimed


def _layers_in_use(images):
    """The diff_ids of every readable image."""
    configs = [images.healthy_config(i) for i in images.image_ids()]
    return {d for config in configs if config for d in config["rootfs"]["diff_ids"]}


def _labels_match(wanted, labels):
    """``label=KEY`` or ``label=KEY=VALUE`` (all must match); ``label!=...`` is not supported."""
    for text in wanted:
        key, has_value, value = text.partition("=")
        if key not in labels or (has_value and labels[key] != value):
            return False
    return True


def _until(text):
    """``until=``: a Unix time, an RFC 3339 time, or a duration before now (``24h``)."""
    import time

    from ..build.dockerfile import parse_duration
    from ..errors import PydockError
    from ..timefmt import parse_time

    for parse in (float, parse_time, lambda t: time.time() - parse_duration(t) / 1e9):
        try:
            return parse(text)
        except (ValueError, PydockError):
            continue
    raise InvalidArgument(f"invalid value for 'until': {text}", 1)
