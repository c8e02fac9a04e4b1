"""``image import``: a tarball of a root filesystem becomes a one-layer image.

``--change`` applies Dockerfile instructions (CMD, ENV, WORKDIR, ...) to the new image's config,
as ``docker import -c`` does.
"""

import os
import time

from .. import events
from ..errors import InvalidArgument
from . import imageconfig
from . import store as image_store

CHANGEABLE = ("cmd", "entrypoint", "env", "expose", "label", "onbuild", "user", "volume", "workdir",
              "stopsignal")


def import_tar(engine, stream, tag=None, changes=(), message="", comment="Imported from -"):
    """Store the root filesystem tar read from ``stream`` as an image; return its ID."""
    images = engine.images
    if tag:
        image_store.tag_key(tag)  # a bad name is refused before anything is stored
    config = apply_changes({}, changes)
    imageconfig.check(image_store.new_config([], config))  # a bad --change too
    diff_id = images.add_layer(stream)
    created = time.time()
    history = [{"created": image_store.format_time(created), "created_by": "",
                "comment": message or comment}]
    new = image_store.new_config([diff_id], config, history, created=created)
    new["comment"] = message or comment  # what ``image inspect`` shows as Comment, as Docker sets it
    image_id = images.put_config(new)
    if tag:
        images.tag(image_id, tag)
    events.emit("image", "import", image_id, {"name": tag or ""})
    return image_id


def import_directory(engine, directory, tag=None, changes=(), comment=""):
    """Import a directory as if it had been tarred up first."""
    import io

    from . import layer

    data = io.BytesIO()
    layer.pack(directory, data)
    data.seek(0)
    return import_tar(engine, io.BufferedReader(data), tag, changes, comment=comment)


def apply_changes(config, changes):
    """Apply Dockerfile instructions given with ``--change`` to an image's container config."""
    from ..build import dockerfile
    from ..build.config import apply_instruction

    for change in changes:
        try:
            parsed = dockerfile.parse("FROM scratch\n" + change + "\n", filename="change")
        except dockerfile.DockerfileError as e:
            raise InvalidArgument(f"invalid --change: {change}: {e}") from None
        for instruction in parsed.stages[0].instructions:
            if instruction.cmd not in CHANGEABLE:
                raise InvalidArgument(f"{instruction.cmd.upper()} is not a valid change command")
            apply_instruction(config, instruction, env={})
    return config


def open_source(source):
    """The stream ``image import FILE|-`` reads: stdin for ``-``."""
    import sys

    if source == "-":
        return sys.stdin.buffer
    if not os.path.exists(source):
        raise InvalidArgument(f"open {source}: no such file or directory")
    return open(source, "rb")
