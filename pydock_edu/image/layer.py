"""Layer tars: how one filesystem layer travels (docker save, registries) and how it is stored.

A layer travels as a tar of the files it adds or changes. A file it deletes is a whiteout: an
empty entry named ``.wh.<name>``; a directory whose lower contents it hides entirely has an entry
``.wh..wh..opq``. On disk, overlayfs spells the same things its own way: a deleted file is a
character device 0:0, an opaque directory carries the xattr ``trusted.overlay.opaque=y``.
:func:`unpack` turns the first form into the second, :func:`pack` the second into the first.

Tars are untrusted input: an :class:`Unpacker` never writes outside its destination (no absolute
paths, no ``..``, no writing through a symlink, no hard link to a file outside the tree) and
never creates device nodes from an archive. The same two classes serve ``container cp`` and
``container export``, which move plain trees (no whiteouts) in and out of containers.
"""

import hashlib
import io
import os
import stat

from ..errors import PydockError

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."  # aufs bookkeeping (.wh..wh.plnk...), never a file of the image
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
CHUNK = 1 << 20


class LayerError(PydockError):
    """A layer archive that cannot be unpacked safely (exit code 1, as Docker's load, import and cp)."""

    exit_code = 1


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


def safe_relpath(name, what="layer"):
    """The entry's path inside the tree (no leading ``/``, no ``.``), or an error if it would leave it."""
    parts = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise LayerError(f"invalid {what} archive: entry {name!r} leaves the {what}")
        parts.append(part)
    return "/".join(parts)


def _remove(path):
    """Remove whatever is at ``path`` (a directory with its contents), never following a symlink."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        import shutil

        shutil.rmtree(path)
    else:
        os.unlink(path)


class Unpacker:
    """Writes tar entries below ``dest``, refusing every entry that would land outside it.

    ``whiteouts``: turn ``.wh.`` entries into overlayfs whiteouts (a layer) or keep them as plain
    files (``cp``). ``owner``: a (uid, gid) for every entry, or None to keep the archive's.
    ``replace_dirs``: False refuses to put a file where a directory is, or the reverse (``cp``).
    """

    def __init__(self, dest, whiteouts=True, owner=None, what="layer", replace_dirs=True):
        self.dest, self.whiteouts, self.owner, self.what = dest, whiteouts, owner, what
        self.replace_dirs = replace_dirs
        self.times = []  # (path, mtime) of directories: a write inside a directory changes its mtime

    def _error(self, text):
        return LayerError(f"invalid {self.what} archive: {text}")

    def _parent_dirs(self, rel, create):
        """Check that the parents of ``rel`` are real directories (never symlinks), making missing ones."""
        path = self.dest
        for part in rel.split("/")[:-1]:
            path = os.path.join(path, part)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                if not create:
                    raise self._error(f"{rel!r} is not in the archive") from None
                os.mkdir(path, 0o755)
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise self._error(f"{rel!r} would be written through a link or a file")

    def add(self, archive, member):
        """Write one entry (``member`` of the open ``archive``)."""
        rel = safe_relpath(member.name, self.what)
        if not rel:
            return  # the tree's own root directory
        if self.whiteouts and any(p.startswith(WHITEOUT_META_PREFIX) and p != OPAQUE_MARKER for p in rel.split("/")):
            return  # aufs bookkeeping (.wh..wh.plnk/...), never a file of the image
        self._parent_dirs(rel, create=True)
        path = os.path.join(self.dest, rel)
        base = os.path.basename(rel)
        if self.whiteouts and base.startswith(WHITEOUT_PREFIX):
            self._whiteout(os.path.dirname(path), base)
            return
        if not self.replace_dirs:
            self._check_no_replace(path, rel, member)
        if member.isdir():
            try:
                is_dir = stat.S_ISDIR(os.lstat(path).st_mode)
            except FileNotFoundError:
                is_dir = None
            if is_dir is False:
                os.unlink(path)  # a file or a symlink where the directory goes
            if not is_dir:
                os.mkdir(path, 0o700)
            self.times.append((path, member.mtime))
        elif member.isfile():
            _remove(path)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            with open(fd, "wb") as out:
                source = archive.extractfile(member)
                while chunk := source.read(CHUNK):
                    out.write(chunk)
        elif member.issym():
            _remove(path)
            os.symlink(member.linkname, path)
        elif member.islnk():
            self._hardlink(path, rel, member)
            return  # a hard link shares its target's inode: owner, mode and times included
        elif member.isfifo():
            _remove(path)
            os.mkfifo(path, 0o600)
        else:
            return  # device nodes are never created from an archive
        uid, gid = self.owner or (member.uid, member.gid)
        os.lchown(path, uid, gid)
        if not member.issym():
            os.chmod(path, member.mode)  # after chown, which clears the set-user-ID bit
            os.utime(path, (member.mtime, member.mtime))

    def _check_no_replace(self, path, rel, member):
        try:
            is_dir = stat.S_ISDIR(os.lstat(path).st_mode)
        except FileNotFoundError:
            return
        if is_dir and not member.isdir():
            raise LayerError(f'cannot overwrite directory "/{rel}" with non-directory "{member.name}"')
        if member.isdir() and not is_dir:
            raise LayerError(f'cannot overwrite non-directory "/{rel}" with directory "{member.name}"')

    def _whiteout(self, parent, base):
        """``.wh..wh..opq`` marks ``parent`` opaque; ``.wh.NAME`` becomes a whiteout device for NAME."""
        if base == OPAQUE_MARKER:
            os.setxattr(parent, OPAQUE_XATTR, b"y")
            return
        name = base[len(WHITEOUT_PREFIX):]
        if name in ("", ".", "..") or "/" in name:
            raise self._error(f"bad whiteout {base!r}")
        target = os.path.join(parent, name)
        _remove(target)
        os.mknod(target, stat.S_IFCHR | 0o000, os.makedev(0, 0))

    def _hardlink(self, path, rel, member):
        target_rel = safe_relpath(member.linkname, self.what)
        if not target_rel:
            raise self._error(f"hard link {rel!r} to the root")
        target = os.path.join(self.dest, target_rel)
        try:
            self._parent_dirs(target_rel, create=False)
            st = os.lstat(target)
        except (LayerError, FileNotFoundError):
            raise self._error(f"hard link {rel!r} to {member.linkname!r} outside the {self.what}") from None
        if stat.S_ISDIR(st.st_mode) or (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
            raise self._error(f"hard link {rel!r} to a directory or device")
        if target != path:
            _remove(path)
            os.link(target, path, follow_symlinks=False)

    def finish(self):
        """Give directories their archived times, deepest first, now that nothing is written into them."""
        for path, mtime in reversed(self.times):
            os.utime(path, (mtime, mtime), follow_symlinks=False)


def read_members(stream, unpacker, what="layer", mode="r|"):
    """Feed every entry of the tar ``stream`` to ``unpacker``; archive errors become one clear line.

    ``mode`` is tarfile's: ``r|*`` also undoes gzip, bzip2 or xz compression.
    """
    import gzip
    import tarfile
    import zlib

    try:
        with tarfile.open(fileobj=stream, mode=mode, copybufsize=CHUNK) as archive:
            for member in archive:
                unpacker.add(archive, member)
        unpacker.finish()
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, UnicodeError) as e:
        raise LayerError(f"invalid {what} archive: {e}") from None
    except OSError as e:
        raise LayerError(f"failed to unpack the {what}: {e.strerror or e}: {e.filename or ''}".rstrip(": ")) from None


def unpack(fileobj, dest, tar_copy=None):
    """Unpack a layer tar into ``dest`` as an overlayfs layer; return (diff_id, tar size).

    ``diff_id`` is the sha256 of the uncompressed tar. With ``tar_copy`` (a writable file), the
    uncompressed tar is also copied there, so the layer can be sent on byte for byte later.
    """
    reader = _HashingReader(open_maybe_compressed(fileobj), tar_copy)
    stream = io.BufferedReader(reader, CHUNK)
    read_members(stream, Unpacker(dest))
    try:
        stream.read()  # the zero blocks after the last entry belong to the diff_id too
        reader.drain()
    except (EOFError, OSError) as e:
        raise LayerError(f"invalid layer archive: {e}") from None
    return "sha256:" + reader.sha256.hexdigest(), reader.size


class _Exactly(io.RawIOBase):
    """``size`` bytes of the open file ``fd``: cut if it grew, padded with zeros if it shrank meanwhile."""

    def __init__(self, fd, size):
        self.fd, self.left = fd, size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        data = os.read(self.fd, n) if n else b""
        data = data or bytes(n)
        buffer[:len(data)] = data
        self.left -= len(data)
        return len(data)


class Packer:
    """Writes trees to ``out`` as a tar (PAX format), reading files without following symlinks.

    Entries carry numeric owners only (no user-name lookups) and whole-second times, as Docker's
    layer tars do; hard-linked files become one file and links to it.
    """

    def __init__(self, out):
        import tarfile

        self.tarfile = tarfile
        self.archive = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, copybufsize=CHUNK)
        self.inodes = {}

    def add_tree(self, directory, prefix="", skip=frozenset(), prune=frozenset(), whiteouts=False):
        """Add everything below ``directory``, named ``prefix/...``.

        ``skip``: relative paths left out entirely. ``prune``: relative paths written without their
        contents (mount points). ``whiteouts``: write overlayfs whiteouts as ``.wh.`` entries.
        Below ``directory`` every entry is opened in its parent directory's fd, never following a
        symlink: a directory that a running container swaps for a link to a host path meanwhile is
        left out, never read through.
        """
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self._add_children(fd, "", prefix, skip, prune, whiteouts)
        finally:
            os.close(fd)

    def _add_children(self, dir_fd, rel, prefix, skip, prune, whiteouts):
        """Add the entries of the directory ``dir_fd`` (``rel`` in the tree), parents before children,
        in sorted (byte) order."""
        for name in sorted(os.listdir(dir_fd)):
            child = f"{rel}/{name}" if rel else name
            if child in skip:
                continue
            st = self.add(name, f"{prefix}/{child}" if prefix else child, whiteouts, dir_fd=dir_fd)
            if st is None or not stat.S_ISDIR(st.st_mode) or child in prune:
                continue
            try:
                below = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
            except OSError:
                continue  # removed or replaced since it was listed (a running container)
            try:
                self._add_children(below, child, prefix, skip, prune, whiteouts)
            finally:
                os.close(below)

    def add(self, path, name, whiteouts=False, dir_fd=None):
        """Add the one file system object at ``path`` (relative to the directory ``dir_fd`` if given)
        as ``name``; return its lstat, or None when it is gone."""
        tarfile = self.tarfile
        try:
            st = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None  # removed since it was listed (a running container)
        if whiteouts and stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            info = tarfile.TarInfo(os.path.join(os.path.dirname(name), WHITEOUT_PREFIX + os.path.basename(name)))
            info.mtime = int(st.st_mtime)
            self.archive.addfile(info)
            return st
        if stat.S_ISREG(st.st_mode):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
            except OSError:
                return None  # replaced by a link or removed since it was listed (a running container)
            try:
                st = os.fstat(fd)
                if stat.S_ISREG(st.st_mode):
                    info = self._info(name, st)
                    if info.type == tarfile.LNKTYPE:
                        self.archive.addfile(info)
                    else:
                        self.archive.addfile(info, io.BufferedReader(_Exactly(fd, info.size), CHUNK))
                    return st
            finally:
                os.close(fd)
        try:
            info = self._info(name, st, path, dir_fd)
        except OSError:
            return None  # a link replaced since it was listed
        self.archive.addfile(info)
        if whiteouts and stat.S_ISDIR(st.st_mode) and _is_opaque(path, dir_fd):
            marker = tarfile.TarInfo(f"{name}/{OPAQUE_MARKER}")
            marker.mtime = int(st.st_mtime)
            self.archive.addfile(marker)
        return st

    def _info(self, name, st, path=None, dir_fd=None):
        tarfile = self.tarfile
        info = tarfile.TarInfo(name)
        info.mode, info.uid, info.gid = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
        info.mtime = int(st.st_mtime)
        kind = stat.S_IFMT(st.st_mode)
        key = (st.st_dev, st.st_ino)
        if kind != stat.S_IFDIR and st.st_nlink > 1 and key in self.inodes:
            info.type, info.linkname = tarfile.LNKTYPE, self.inodes[key]
            return info
        if kind != stat.S_IFDIR and st.st_nlink > 1:
            self.inodes[key] = name
        if kind == stat.S_IFREG:
            info.size = st.st_size
        elif kind == stat.S_IFDIR:
            info.type = tarfile.DIRTYPE
        elif kind == stat.S_IFLNK:
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path, dir_fd=dir_fd)
        elif kind == stat.S_IFIFO:
            info.type = tarfile.FIFOTYPE
        elif kind in (stat.S_IFCHR, stat.S_IFBLK):
            info.type = tarfile.CHRTYPE if kind == stat.S_IFCHR else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        return info

    def close(self):
        self.archive.close()


def pack(directory, out, skip=()):
    """Write ``directory`` (an overlayfs upper or layer dir) to ``out`` as a layer tar.

    Overlay whiteouts become ``.wh.`` entries and opaque directories ``.wh..wh..opq``. Entries are
    sorted, so the same tree always gives the same tar. ``skip`` lists paths (relative, no leading
    slash) left out, such as the mount points of volumes.
    """
    packer = Packer(out)
    packer.add_tree(directory, skip={s.strip("/") for s in skip}, whiteouts=True)
    packer.close()


def _is_opaque(path, dir_fd=None):
    """Whether the directory ``path`` (in ``dir_fd``) is an opaque overlayfs directory (not followed if a link)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        return os.getxattr(fd, OPAQUE_XATTR) == b"y"
    except OSError:
        return False
    finally:
        os.close(fd)
