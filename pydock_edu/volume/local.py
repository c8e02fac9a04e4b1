"""The ``local`` volume driver's options, as in Docker: a filesystem mounted on the volume's ``_data``.

``-o type=tmpfs -o device=tmpfs -o o=size=64m`` puts a tmpfs there; ``-o type=none -o device=/srv/data
-o o=bind`` bind-mounts a host directory there. Without options the volume is a plain directory.
The filesystem is mounted when a container first uses the volume, in the engine's mount namespace,
so that every container started afterwards binds the same filesystem; it is unmounted when the
volume is removed.
"""

import os
import re

from ..errors import InvalidArgument, PydockError
from ..runtime import linux

OPTIONS = ("type", "device", "o")
REQUIRES = {"type": ("device",), "device": ("type",), "o": ("device", "type")}

# Words of the ``o`` option that are mount(2) flags; the others are data for the filesystem.
FLAGS = {"ro": linux.MS_RDONLY, "rw": 0, "nosuid": linux.MS_NOSUID, "nodev": linux.MS_NODEV,
         "noexec": linux.MS_NOEXEC, "bind": linux.MS_BIND, "rbind": linux.MS_BIND | linux.MS_REC}


def validate(name, options):
    """Refuse options the local driver does not know, or that lack their partners, as Docker does."""
    for key in options:
        if key not in OPTIONS:
            raise InvalidArgument(f'create {name}: invalid option: "{key}"')
    for key, required in REQUIRES.items():
        for other in required:
            if key in options and other not in options:
                raise InvalidArgument(f'create {name}: missing required option: "{other}"')


def mount(options, path):
    """Mount the volume's filesystem on ``path`` (its ``_data``) unless that is done already."""
    if not options.get("device") or is_mount_point(path):
        return
    flags, data = 0, []
    for word in filter(None, options.get("o", "").split(",")):
        if word in FLAGS:
            flags |= FLAGS[word]
        else:
            data.append(word)
    bind = bool(flags & linux.MS_BIND)
    try:
        linux.mount(options["device"], path, None if bind else options["type"], flags, ",".join(data) or None)
        if bind and flags & linux.MS_RDONLY:  # a bind mount takes MS_RDONLY only when remounted
            linux.mount(None, path, None, linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY)
    except OSError as e:
        raise PydockError(f"error while mounting volume '{path}': failed to mount local volume: mount "
                          f"{options['device']}:{path}, flags: {flags:#x}: {os.strerror(e.errno).lower()}") from None


def unmount(path):
    """Unmount the volume's filesystem from ``path``, if it is mounted (detached with whatever is
    mounted below it, as an ``o=rbind`` of a host directory brings submounts along)."""
    if is_mount_point(path):
        try:
            linux.umount(path, linux.MNT_DETACH)
        except OSError as e:
            raise PydockError(f"error while unmounting volume '{path}': {os.strerror(e.errno).lower()}", 1) from None


def mounts_below(path):
    """Mount points at ``path`` or under it, from this mount namespace's /proc/self/mountinfo."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if point == path or point.startswith(path.rstrip("/") + "/"):
                found.append(point)
    return found


def is_mount_point(path):
    return path in mounts_below(path)
