"""Unpacking tar archives a build is given: ``ADD app.tar.gz /opt/`` and tar contexts on stdin.

An archive is untrusted input. As :mod:`pydock_edu.image.layer` does for layer tars, nothing is
written outside the destination: names are cleaned (a leading ``/`` is dropped, ``..`` that
would climb out is refused), no entry is written through a symbolic link, a hard link may only
point at an entry already unpacked, and device nodes are never created. Unlike a layer tar, a
``.wh.`` name here is an ordinary file.
"""

import os
import posixpath
import stat

from .errors import BuildError

CHUNK = 1 << 20


class ArchiveError(BuildError):
    """An archive that cannot be unpacked safely."""


def is_archive(path):
    """Whether the file is a tar, plain or compressed with gzip, bzip2 or xz (what ADD unpacks)."""
    import tarfile

    try:
        with tarfile.open(path, "r:*") as archive:
            return archive.next() is not None
    except (tarfile.TarError, EOFError, OSError):
        return False


def extract_into(fileobj, dest, keep_owner=True):
    """Unpack the tar read from ``fileobj`` (compressed or not) into the directory ``dest``.

    With ``keep_owner`` the entries keep the archive's uid and gid; else root owns them.
    """
    import tarfile

    links = []
    try:
        with tarfile.open(fileobj=fileobj, mode="r|*") as archive:
            for member in archive:
                rel = _clean(member.name)
                if rel:
                    _extract(archive, member, dest, rel, keep_owner, links)
    except (tarfile.TarError, EOFError) as e:
        raise ArchiveError(f"invalid tar archive: {e}") from None
    for path, mtime in links:  # a hard link's mtime is its target's, set last
        os.utime(path, (mtime, mtime), follow_symlinks=False)


def _clean(name):
    """The entry's path below the destination; ``..`` that climbs out is refused."""
    rel = posixpath.normpath("/" + name).lstrip("/")
    if posixpath.normpath(name.lstrip("/")).split("/")[0] == "..":
        raise ArchiveError(f"invalid tar archive: {name!r} is outside of the destination")
    return "" if rel == "." else rel


def _parent(dest, rel):
    """Make the parent directories of ``rel`` (real directories, never links); return its path."""
    path = dest
    for part in rel.split("/")[:-1]:
        path = os.path.join(path, part)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            os.mkdir(path, 0o755)
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise ArchiveError(f"invalid tar archive: {rel!r} would be written through a link or file")
    return os.path.join(dest, rel)


def _unpacked_file(dest, rel):
    """Whether ``rel`` is a regular file reached through real directories only (no links)."""
    path = dest
    for part in rel.split("/"):
        path = os.path.join(path, part)
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return False
        if path != os.path.join(dest, rel) and not stat.S_ISDIR(st.st_mode):
            return False
    return stat.S_ISREG(st.st_mode)


def _remove(path):
    import shutil

    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def _extract(archive, member, dest, rel, keep_owner, links):
    path = _parent(dest, rel)
    if member.isdir():
        if os.path.lexists(path) and not (os.path.isdir(path) and not os.path.islink(path)):
            _remove(path)
        os.makedirs(path, exist_ok=True)
    elif member.isfile():
        _remove(path)
        with open(path, "xb") as out:
            source = archive.extractfile(member)
            while chunk := source.read(CHUNK):
                out.write(chunk)
    elif member.issym():
        _remove(path)
        os.symlink(member.linkname, path)
    elif member.islnk():
        target_rel = _clean(member.linkname)
        target = os.path.join(dest, target_rel)
        if not target_rel or not _unpacked_file(dest, target_rel):
            raise ArchiveError(f"invalid tar archive: hard link {rel!r} to {member.linkname!r} outside the archive")
        _remove(path)
        os.link(target, path, follow_symlinks=False)
        links.append((path, member.mtime))
        return
    elif member.isfifo():
        _remove(path)
        os.mkfifo(path)
    else:
        return  # device nodes are never created from an archive
    if keep_owner:
        os.lchown(path, member.uid, member.gid)
    else:
        os.lchown(path, 0, 0)
    if not member.issym():
        os.chmod(path, member.mode)
    os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)
