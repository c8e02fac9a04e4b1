"""``container commit``: a container's upper dir becomes the top layer of a new image.

The new image is the container's image plus one layer (the files the container changed, with
deletions as ``.wh.`` whiteouts) plus the container's settings (Cmd, Env, WorkingDir...) as its
config, and a history entry. Its parent is the container's image. A running container is frozen
(``pause``) while its upper dir is read, so the layer is one consistent moment of its life.
"""

import os
import time

from .. import container, events
from ..timefmt import format_time
from . import changes as fs_changes
from . import imageconfig
from .importer import apply_changes
from .store import tag_key


def commit(engine, ref, repository=None, message="", author="", changes=(), pause=True):
    """Commit the container ``ref``; tag the image ``repository`` if given; return the image ID."""
    images = engine.images
    record = engine.container(ref)
    cid = record["Id"]
    config = apply_changes(dict(record["Config"]), changes)
    imageconfig.check({"rootfs": {"type": "layers"}, "config": config})  # before a layer is stored
    if repository:
        tag_key(repository)  # a bad name too
    upper = os.path.join(container.directory(cid), "diff")
    frozen_here = pause and record["State"]["Running"] and not record["State"]["Paused"]
    if frozen_here:
        engine.pause(cid)
    try:
        skip = fs_changes.engine_paths(upper, fs_changes.lower_of(images, record["Image"]), record)
        diff_id = images.add_layer_from_dir(upper, skip) if fs_changes.has_changes(upper, skip) else None
    finally:
        if frozen_here:
            engine.unpause(cid)
    base = images.config(record["Image"])
    now = format_time(time.time())
    entry = {"created": now, "created_by": " ".join(record["Config"].get("Cmd") or [])}
    if author:
        entry["author"] = author
    if message:
        entry["comment"] = message
    if diff_id is None:
        entry["empty_layer"] = True
    new = {**base, "created": now, "config": config,
           "rootfs": {"type": "layers", "diff_ids": base["rootfs"]["diff_ids"] + ([diff_id] if diff_id else [])},
           "history": (base.get("history") or []) + [entry]}
    for key, value in (("author", author), ("comment", message)):
        new.pop(key, None)
        if value:
            new[key] = value
    image_id = images.put_config(new)
    images.set_meta(image_id, parent=record["Image"])
    if repository:
        images.tag(image_id, repository)
        events.emit("image", "tag", image_id, {"name": repository})
    events.emit("container", "commit", cid, {"comment": message, "imageID": image_id, "imageRef": repository or "",
                                             "name": record["Name"].lstrip("/"), "author": author})
    return image_id


def container_changes(engine, ref):
    """``docker diff``: the (kind, path) changes of the container's file system."""
    record = engine.container(ref)
    upper = os.path.join(container.directory(record["Id"]), "diff")
    lower = fs_changes.lower_of(engine.images, record["Image"])
    return fs_changes.changes(upper, lower, fs_changes.engine_paths(upper, lower, record))
