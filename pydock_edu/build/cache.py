"""The build cache: which image a step made last time, and the checksums that decide it.

Docker's legacy builder reuses an image when it finds one made from the same parent image by the
same step: the same instruction after ARG and ENV substitution (the ``created_by`` text of the
history, which for RUN also lists the build arguments it sees) and the same resulting config.
For COPY and ADD that text holds a checksum of the files copied: their names, contents, modes,
owners and link targets, but not their modification times. So touching a file keeps the cache,
and changing one byte of it, or its mode, does not.

Every intermediate image stays in the image store (with its ``parent`` in the store's metadata,
which is what ``history`` and ``images -a`` show); this module keeps an index of them under
``<root>/build-cache/``: one small file per step key, holding the image ID it made.
"""

import hashlib
import json
import os
import stat

from .. import state
from ..errors import PydockError

CHUNK = 1 << 20


def step_key(parent, created_by, config):
    """The key of one step: parent image, instruction text and the config it leads to."""
    text = json.dumps([parent or "", created_by, config], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class BuildCache:
    """The index of steps made before: step key -> image ID."""

    def __init__(self, images):
        self.images = images
        self.directory = state.path("build-cache")

    def lookup(self, key):
        """The image a step with this key made, if it is still in the store; else None."""
        try:
            with open(os.path.join(self.directory, key)) as f:
                image_id = f.read().strip()
            self.images.config(image_id)
        except (FileNotFoundError, ValueError, PydockError):  # gone, or damaged: build the step again
            return None
        return image_id

    def record(self, key, image_id):
        os.makedirs(self.directory, exist_ok=True)
        state.write_bytes(os.path.join(self.directory, key), image_id.encode())


# Checksums of copied files -------------------------------------------------------------------


def entry_checksum(name, host_path, st):
    """The checksum of one file, directory or link: what matters of its header, then its bytes.

    Like Docker's tarsum: name, permission bits, type, owner, size, link target and content,
    never the modification time.
    """
    digest = hashlib.sha256()
    link = os.readlink(host_path) if stat.S_ISLNK(st.st_mode) else ""
    size = st.st_size if stat.S_ISREG(st.st_mode) else 0
    header = [name, f"{stat.S_IMODE(st.st_mode):o}", str(stat.S_IFMT(st.st_mode)), str(st.st_uid),
              str(st.st_gid), str(size), link]
    digest.update("\0".join(header).encode() + b"\0")
    if stat.S_ISREG(st.st_mode):
        with open(host_path, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def tree_checksum(prefix, checksums):
    """``dir:<sha256>`` (or ``multi:``) of a list of checksums, joined as Docker joins them."""
    return f"{prefix}:" + hashlib.sha256(",".join(checksums).encode()).hexdigest()


def sources_checksum(checksums):
    """What COPY/ADD writes in its history: the one source's checksum, or ``multi:`` of them all."""
    return checksums[0] if len(checksums) == 1 else tree_checksum("multi", checksums)
