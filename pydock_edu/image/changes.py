"""What a container changed: its overlay upper dir against the image's layers (``docker diff``).

Everything a container's processes write lands in the upper dir of its overlay mount: new and
modified files as themselves, deleted ones as whiteouts (character devices 0:0), a directory made
anew over an old one as an *opaque* directory. Some entries there are the engine's, not the
container's, and never show in ``diff`` nor go into ``commit``: the empty /etc/hostname, /etc/hosts
and /etc/resolv.conf over which the runtime bind-mounts its own files, and the mount points
(/proc, /sys, /dev, volumes...) that the runtime created because the image lacked them.
"""

import os
import stat

from .layer import OPAQUE_XATTR

ENGINE_FILES = ("etc/hostname", "etc/hosts", "etc/resolv.conf")
RUNTIME_DIRS = ("proc", "sys", "dev", "etc", "tmp")  # see runtime.rootfs.setup
ADDED, CHANGED, DELETED = "A", "C", "D"


def is_whiteout(st):
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(path):
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


class Lower:
    """The image's layers as overlayfs stacks them, to ask what a path is below the container."""

    def __init__(self, layer_dirs):
        self.layers = list(layer_dirs)  # top layer first

    def lookup(self, rel):
        """The lstat of ``rel`` in the merged image, or None if the image has no such path."""
        parents = rel.split("/")[:-1]
        for layer in self.layers:
            hidden_below = False
            for depth in range(1, len(parents) + 1):
                try:
                    st = os.lstat(os.path.join(layer, *parents[:depth]))
                except FileNotFoundError:
                    break
                if not stat.S_ISDIR(st.st_mode):
                    return None  # a parent is deleted or is a file here: nothing below
                if is_opaque(os.path.join(layer, *parents[:depth])):
                    hidden_below = True
            try:
                st = os.lstat(os.path.join(layer, rel))
                return None if is_whiteout(st) else st
            except (FileNotFoundError, NotADirectoryError):
                pass
            if hidden_below:
                return None
        return None


def lower_of(images, image_id):
    return Lower(images.layer_dir(d) for d in reversed(images.layers(image_id)))


def engine_paths(upper, lower, record):
    """Upper-dir paths (relative) that the engine put there: left out of ``diff`` and ``commit``."""
    skip = {p for p in ENGINE_FILES if os.path.lexists(os.path.join(upper, p))}
    mounts = [m.get("Destination") or m.get("target") for m in
              (record.get("Mounts") or []) + (record.get("RuntimeMounts") or [])]
    candidates = set(RUNTIME_DIRS)
    for target in filter(None, mounts):
        parts = target.strip("/").split("/")
        candidates |= {"/".join(parts[:i]) for i in range(1, len(parts) + 1)}
    for rel in sorted(candidates, key=lambda p: p.count("/"), reverse=True):  # deepest first
        path = os.path.join(upper, rel)
        if not os.path.isdir(path) or os.path.islink(path) or is_opaque(path) \
                or not all(f"{rel}/{name}" in skip for name in os.listdir(path)):
            continue
        below, st = lower.lookup(rel), os.lstat(path)
        if below is None or (stat.S_ISDIR(below.st_mode) and (below.st_mode, below.st_uid, below.st_gid)
                             == (st.st_mode, st.st_uid, st.st_gid)):
            skip.add(rel)  # made by the runtime, or copied up only to hold the engine's files
    return skip


def changes(upper, lower, skip=frozenset()):
    """Docker's diff: (kind, "/path") pairs in walk order, kind A (added), C (changed), D (deleted).

    A directory copied up unchanged (same size, mode and time) is not reported unless an entry
    in it was added or deleted; an opaque directory is changed (or added) and all it holds added.
    """
    found, changed_dirs = [], set()
    for rel, st, under_opaque, opaque in _walk(upper, skip):
        if is_whiteout(st):
            kind = DELETED
        else:
            below = None if under_opaque else lower.lookup(rel)
            if below is None:
                kind = ADDED
            elif stat.S_ISDIR(st.st_mode) and stat.S_ISDIR(below.st_mode) and _same(st, below) and not opaque:
                continue
            else:
                kind = CHANGED
        if stat.S_ISDIR(st.st_mode):
            changed_dirs.add(rel)
        parent = os.path.dirname(rel)
        if kind != CHANGED and parent and parent not in changed_dirs:
            found.append((CHANGED, "/" + parent))
            changed_dirs.add(parent)
        found.append((kind, "/" + rel))
    return found


def has_changes(upper, skip=frozenset()):
    """Whether the upper dir holds anything but the engine's paths (an empty commit makes no layer)."""
    return next(_walk(upper, skip), None) is not None


def _same(a, b):
    """Docker's test for an unchanged directory (times equal, or equal seconds when one lacks nanoseconds)."""
    same_time = a.st_mtime_ns == b.st_mtime_ns or (
        a.st_mtime_ns // 10**9 == b.st_mtime_ns // 10**9 and (a.st_mtime_ns % 10**9 == 0 or b.st_mtime_ns % 10**9 == 0))
    return a.st_size == b.st_size and a.st_mode == b.st_mode and same_time


def _walk(upper, skip):
    """(rel, lstat, inside an opaque dir, opaque itself) for every upper-dir entry not skipped,
    parents first, sorted. Each entry is looked up in its parent directory's fd without following
    symlinks: a directory a running container swaps for a link meanwhile is never walked through."""
    fd = os.open(upper, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield from _walk_fd(fd, "", skip, False)
    finally:
        os.close(fd)


def _walk_fd(dir_fd, rel, skip, under_opaque):
    for name in sorted(os.listdir(dir_fd)):
        child = f"{rel}/{name}" if rel else name
        if child in skip:
            continue
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed since it was listed (a running container)
        if not stat.S_ISDIR(st.st_mode):
            yield child, st, under_opaque, False
            continue
        try:
            below = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        except OSError:
            continue  # replaced or removed since it was listed
        try:
            opaque = _opaque_fd(below)
            yield child, st, under_opaque, opaque
            yield from _walk_fd(below, child, skip, under_opaque or opaque)
        finally:
            os.close(below)


def _opaque_fd(fd):
    try:
        return os.getxattr(fd, OPAQUE_XATTR) == b"y"
    except OSError:
        return False
