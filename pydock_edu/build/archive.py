"""Unpacking tar archives a build is given: ``ADD app.tar.gz /opt/`` and tar contexts on stdin.

An archive is untrusted input: it is unpacked by the same :class:`pydock_edu.image.layer.Unpacker`
as a layer tar, so nothing is written outside the destination (no ``..`` climbing out, no entry
written through a symbolic link, no hard link to what is not unpacked, no device node). Unlike a
layer tar, a ``.wh.`` name here is an ordinary file.
"""

from .errors import BuildError


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
    """Unpack the tar read from ``fileobj`` (plain, gzip, bzip2 or xz) into the directory ``dest``.

    With ``keep_owner`` the entries keep the archive's uid and gid; else root owns them.
    """
    from ..image.layer import LayerError, Unpacker, read_members

    unpacker = Unpacker(dest, whiteouts=False, owner=None if keep_owner else (0, 0), what="tar")
    try:
        read_members(fileobj, unpacker, what="tar", mode="r|*")
    except LayerError as e:
        raise ArchiveError(str(e)) from None
