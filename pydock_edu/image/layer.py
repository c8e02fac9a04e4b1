"""Layer tars: how one filesystem layer travels (docker save, registries) and how it is stored.

A layer travels as a tar of the files it adds or changes. A file it deletes is a whiteout: an
empty entry named ``.wh.<name>``; a directory whose lower contents it hides entirely has an entry
``.wh..wh..opq``. On disk, overlayfs spells the same things its own way: a deleted file is a
character device 0:0, an opaque directory carries the xattr ``trusted.overlay.opaque=y``.
:func:`unpack` turns the first form into the second, :func:`pack` the second into the first.

Layer tars are untrusted input: :func:`unpack` never writes outside its destination (no absolute
paths, no ``..``, no writing through a symlink, no hard link to a file outside the layer) and
never creates device nodes from an archive.
"""

import hashlib
import io
import os
import stat

from ..errors import PydockError

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
CHUNK = 1 << 20


class LayerError(PydockError):
    """A layer archive that cannot be unpacked safely."""


class _HashingReader(io.RawIOBase):
    """Reads from ``source`` while hashing the bytes and copying them to ``copy``."""

    def __init__(self, source, copy=None):
        self.source, self.copy = source, copy
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.source.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.size += n
        if self.copy is not None:
            self.copy.write(data)
        return n

    def drain(self):
        while self.readinto(bytearray(CHUNK)):
            pass


def open_maybe_compressed(fileobj):
    """Return a stream of the tar itself, undoing gzip if the data starts with gzip's magic."""
    import gzip

    if not hasattr(fileobj, "peek"):
        fileobj = io.BufferedReader(fileobj, CHUNK)
    return gzip.GzipFile(fileobj=fileobj) if fileobj.peek(2)[:2] == b"\x1f\x8b" else fileobj


def _safe_relpath(name):
    """The entry's path inside the layer, or an error if it would leave it."""
    parts = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise LayerError(f"invalid layer archive: entry {name!r} leaves the layer")
        parts.append(part)
    return "/".join(parts)


def _check_parents(dest, rel):
    """Refuse to write below a symlink: the parents of ``rel`` must be real directories in ``dest``."""
    path = dest
    for part in rel.split("/")[:-1]:
        path = os.path.join(path, part)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            os.mkdir(path, 0o755)
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise LayerError(f"invalid layer archive: {rel!r} would be written through a link or file")


def _remove(path):
    import shutil

    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def unpack(fileobj, dest, tar_copy=None):
    """Unpack a layer tar into ``dest`` as an overlayfs layer; return (diff_id, tar size).

    ``diff_id`` is the sha256 of the uncompressed tar. With ``tar_copy`` (a writable file), the
    uncompressed tar is also copied there, so the layer can be sent on byte for byte later.
    """
    import gzip
    import tarfile
    import zlib

    reader = _HashingReader(open_maybe_compressed(fileobj), tar_copy)
    stream = io.BufferedReader(reader, CHUNK)
    hardlinks = []
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                _unpack_member(archive, member, dest, hardlinks)
        stream.read()
        reader.drain()
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, UnicodeError) as e:
        raise LayerError(f"invalid layer archive: {e}") from None
    for rel, mode, mtime in hardlinks:
        os.utime(os.path.join(dest, rel), (mtime, mtime), follow_symlinks=False)
    return "sha256:" + reader.sha256.hexdigest(), reader.size


def _unpack_member(archive, member, dest, hardlinks):
    rel = _safe_relpath(member.name)
    if not rel:
        return  # the layer's own root directory
    _check_parents(dest, rel)
    path = os.path.join(dest, rel)
    base = os.path.basename(rel)
    parent = os.path.dirname(path)
    if base == OPAQUE_MARKER:
        os.setxattr(parent, OPAQUE_XATTR, b"y")
        return
    if base.startswith(WHITEOUT_PREFIX):
        target = os.path.join(parent, base[len(WHITEOUT_PREFIX):])
        _remove(target)
        os.mknod(target, stat.S_IFCHR | 0o000, os.makedev(0, 0))
        return
    if member.isdir():
        if os.path.lexists(path) and not os.path.isdir(path) or os.path.islink(path):
            _remove(path)
        os.makedirs(path, exist_ok=True)
    else:
        _remove(path)
        if member.isfile():
            with open(path, "xb") as out:
                source = archive.extractfile(member)
                while chunk := source.read(CHUNK):
                    out.write(chunk)
        elif member.issym():
            os.symlink(member.linkname, path)
        elif member.islnk():
            target_rel = _safe_relpath(member.linkname)
            target = os.path.join(dest, target_rel)
            if not target_rel or not os.path.lexists(target) or os.path.isdir(target):
                raise LayerError(f"invalid layer archive: hard link {rel!r} to {member.linkname!r} outside the layer")
            _check_parents(dest, target_rel)
            os.link(target, path, follow_symlinks=False)
            hardlinks.append((rel, member.mode, member.mtime))
            return
        elif member.isfifo():
            os.mkfifo(path)
        else:
            return  # device nodes are never created from an archive
    os.lchown(path, member.uid, member.gid)
    if not member.issym():
        os.chmod(path, member.mode)
    os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)


def pack(directory, out, skip=()):
    """Write ``directory`` (an overlayfs upper or layer dir) to ``out`` as a layer tar.

    Overlay whiteouts become ``.wh.`` entries and opaque directories ``.wh..wh..opq``. Entries are
    sorted, so the same tree always gives the same tar. ``skip`` lists paths (relative, no leading
    slash) left out, such as the mount points of volumes.
    """
    import tarfile

    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        for rel in _walk(directory, skip):
            path = os.path.join(directory, rel)
            st = os.lstat(path)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                info = tarfile.TarInfo(os.path.join(os.path.dirname(rel), WHITEOUT_PREFIX + os.path.basename(rel)))
                info.mtime = int(st.st_mtime)
                archive.addfile(info)
                continue
            info = archive.gettarinfo(path, rel)
            info.uname = info.gname = ""
            if info.isreg():
                with open(path, "rb") as f:
                    archive.addfile(info, f)
            else:
                archive.addfile(info)
            if info.isdir() and _is_opaque(path):
                marker = tarfile.TarInfo(rel + "/" + OPAQUE_MARKER)
                marker.mtime = info.mtime
                archive.addfile(marker)


def _is_opaque(path):
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _walk(directory, skip):
    """Every path below ``directory``, parents before children, in sorted order."""
    return _ordered(directory, "", {s.strip("/") for s in skip})


def _ordered(directory, rel, skip):
    for name in sorted(os.listdir(os.path.join(directory, rel))):
        child = f"{rel}/{name}" if rel else name
        if child in skip:
            continue
        yield child
        full = os.path.join(directory, child)
        if os.path.isdir(full) and not os.path.islink(full):
            yield from _ordered(directory, child, skip)
