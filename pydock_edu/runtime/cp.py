"""``container cp``: copy files between a container and the host, with Docker's path rules.

A copy always travels as a tar stream, as it does through Docker's archive API: one side packs the
source (named by its base name), the other side decides where to unpack it and under which name:

=============================  ==========================================================
source is a file               destination missing: a file named like the destination;
                               ends with ``/`` and missing: error; a file: overwritten;
                               a directory: the file goes into it
source is a directory          destination missing: created, gets the source's contents;
                               a file: error; a directory: the source goes into it, or
                               only its contents when the source ends with ``/.``
=============================  ==========================================================

The container's side runs in a helper inside the container's root (:mod:`.fsview`); the host's
side runs here. The path rules are plain functions used on both sides.
"""

import os
import posixpath
import stat
from dataclasses import dataclass

from ..errors import InvalidArgument, PydockError

MAX_SYMLINKS = 10


@dataclass
class CopyInfo:
    """What one end of a copy is: its path, whether it exists and is a directory, a name to rebase to."""

    path: str
    exists: bool = False
    is_dir: bool = False
    rebase: str | None = None


# Path rules (Go's filepath semantics, as Docker applies them)


def clean(path):
    """Lexically clean a path: no ``.``, no ``..`` past the root, no doubled or trailing ``/``."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def base_name(path):
    """The last element (``/`` for the root, ``.`` for an empty path), ignoring trailing slashes."""
    stripped = path.rstrip("/")
    if not stripped:
        return "/" if path else "."
    return stripped.rsplit("/", 1)[-1]


def specifies_current_dir(path):
    return base_name(path) == "."


def asserts_directory(path):
    """A path ending with ``/`` or ``/.`` must name a directory."""
    return path.endswith("/") or specifies_current_dir(path)


def split_path(path):
    """(directory, entry): ``/a/b`` -> (``/a``, ``b``), ``/a/b/.`` -> (``/a/b``, ``.``)."""
    cleaned = clean(path)
    if specifies_current_dir(path):
        cleaned = cleaned.rstrip("/") + "/."
    return clean(posixpath.dirname(cleaned)) if "/" in cleaned else ".", base_name(cleaned)


def container_path(path):
    """A path in a container, made absolute (cp's paths start at the container's ``/``), keeping a
    trailing ``/`` or ``/.`` because it means something; the root itself means its contents."""
    cleaned = clean("/" + path)
    if specifies_current_dir(path) or cleaned == "/":
        cleaned = cleaned.rstrip("/") + "/."
    elif path.endswith("/"):
        cleaned += "/"
    return cleaned


def resolve(path):
    """Resolve symlinks in the parent directories of ``path``, not in its last element.

    Inside the helper this runs after chroot(2), so every symlink resolves inside the container.
    """
    directory, _, base = path.rpartition("/")
    return os.path.realpath(directory or "/").rstrip("/") + "/" + base


def destination_info(path, container=None):
    """Stat the destination; follow it while it is a symlink (a copy lands on the link's target).

    ``container`` (its name as the user gave it) selects the container's messages.
    """
    original = path
    for _ in range(MAX_SYMLINKS + 1):
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return _missing_destination(path, container)
        if not stat.S_ISLNK(st.st_mode):
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                what = f'destination "{container}:{original}"' if container else f'invalid output path: "{original}"'
                raise PydockError(f"{what} must be a directory or a regular file: got a device", 1)
            return CopyInfo(path, exists=True, is_dir=stat.S_ISDIR(st.st_mode))
        target = os.readlink(path)
        path = target if target.startswith("/") else posixpath.join(split_path(path)[0], target)
    raise PydockError(f"too many symlinks in {original}", 1)


def _missing_destination(path, container):
    """A destination may be missing; its parent directory may not."""
    parent = split_path(path)[0]
    try:
        st = os.stat(parent)
    except (FileNotFoundError, NotADirectoryError):
        where = f" in container {container}" if container else ""
        raise PydockError(f"Could not find the file {parent}{where}" if container else
                          f"stat {parent}: no such file or directory", 1) from None
    if not stat.S_ISDIR(st.st_mode):
        raise PydockError(f"{parent}: not a directory", 1)
    return CopyInfo(path)


def prepare_copy(source, destination):
    """Where to unpack the source's tar, and the renaming of its top entry (old, new) or None."""
    dest_dir, dest_base = split_path(destination.path)
    source_base = source.rebase or split_path(source.path)[1]
    if destination.exists and destination.is_dir:
        return destination.path, None
    if destination.exists and source.is_dir:
        raise PydockError("cannot copy directory", 1)
    if not destination.exists and not source.is_dir and asserts_directory(destination.path):
        raise PydockError("no such directory", 1)
    return dest_dir, (source_base, dest_base)


def rename_entry(name, rename):
    """``base/x`` -> ``new/x`` when ``rename`` is (``base``, ``new``)."""
    if rename is None:
        return name
    old, new = rename
    stripped = name[2:] if name.startswith("./") and old != "." else name
    if stripped == old or stripped.rstrip("/") == old:
        return new
    if stripped.startswith(old + "/"):
        return new + stripped[len(old):]
    return name


class Renaming:
    """Feeds tar entries to ``unpacker`` with their top-level name changed by ``rename``."""

    def __init__(self, unpacker, rename):
        self.unpacker, self.rename = unpacker, rename

    def add(self, archive, member):
        member.name = rename_entry(member.name, self.rename)
        if member.islnk():
            member.linkname = rename_entry(member.linkname, self.rename)
        self.unpacker.add(archive, member)

    def finish(self):
        self.unpacker.finish()


def source_info(path, follow):
    """The host source of a copy: symlinks in its parents resolved, and in itself with ``-L``."""
    absolute = path if path.startswith("/") else os.getcwd() + "/" + path
    if follow:
        try:
            resolved = os.path.realpath(absolute, strict=True)
        except OSError:
            raise PydockError(f"lstat {path}: no such file or directory", 1) from None
        if specifies_current_dir(path) and not specifies_current_dir(resolved):
            resolved += "/."
    else:
        resolved = resolve(absolute)
    rebase = base_name(path) if base_name(path) != base_name(resolved) else None
    try:
        st = os.lstat(resolved)
    except OSError:
        raise PydockError(f"lstat {path}: no such file or directory", 1) from None
    return CopyInfo(resolved, exists=True, is_dir=stat.S_ISDIR(st.st_mode), rebase=rebase)


# The host's side


def parse_argument(text):
    """``CONTAINER:PATH`` or a local path (absolute, ``./``-relative, or without a colon)."""
    if text.startswith("/"):
        return None, text
    container, colon, path = text.partition(":")
    if not colon or container.startswith("."):
        return None, text
    return container, path


def copy(engine, source, destination, follow=False, archive=False, stdin=None, stdout=None):
    """``docker cp SRC DEST``: one side is ``CONTAINER:PATH``; return the bytes copied."""
    src_container, src_path = parse_argument(source)
    dst_container, dst_path = parse_argument(destination)
    if not src_path:
        raise InvalidArgument("source can not be empty", 1)
    if not dst_path:
        raise InvalidArgument("destination can not be empty", 1)
    if src_container and dst_container:
        raise InvalidArgument("copying between containers is not supported", 1)
    if src_container:
        return copy_from_container(engine, src_container, src_path, dst_path, follow, archive, stdout)
    if dst_container:
        return copy_to_container(engine, dst_container, dst_path, src_path, follow, archive, stdin)
    raise InvalidArgument("must specify at least one container source", 1)


def copy_from_container(engine, ref, path, destination, follow=False, archive=False, stdout=None):
    """Copy ``ref:path`` to the host path ``destination`` (``-``: a tar stream on ``stdout``)."""
    import subprocess

    from ..image import layer
    from .fsview import Helper, root_spec

    record = engine.container(ref)
    if destination == "-":
        return _stream_from_container(engine, record, ref, path, follow, stdout)
    _validate_output_path(destination)
    helper = Helper("get", root_spec(engine, record), stdout=subprocess.PIPE, path=path, follow=follow,
                    container=ref)
    try:
        found = helper.message()["stat"]
        source = CopyInfo(found["path"], exists=True, is_dir=found["is_dir"], rebase=found["rebase"])
        directory, rename = prepare_copy(source, destination_info(destination))
        owner = None if archive else (os.getuid(), os.getgid())
        unpacker = Renaming(layer.Unpacker(directory, whiteouts=False, owner=owner, what="tar"), rename)
        if source.rebase:
            unpacker = Renaming(unpacker, (split_path(source.path)[1], source.rebase))
        counter = _Counting(helper.process.stdout)
        layer.read_members(counter, unpacker, what="tar")
    except BaseException:
        helper.process.kill()  # our own child: it may be blocked writing to a pipe we stopped reading
        helper.process.wait()
        raise
    finally:
        helper.process.stdout.close()
    helper.finish()
    _emit(record, "archive-path", path)
    return counter.count


def _stream_from_container(engine, record, ref, path, follow, stdout):
    """``cp CONTAINER:PATH -``: the helper's tar goes straight to our stdout when it is a real file."""
    import shutil
    import subprocess

    from .fsview import Helper, root_spec

    try:
        target = stdout.fileno()
    except (AttributeError, OSError, ValueError):
        target = subprocess.PIPE
    helper = Helper("get", root_spec(engine, record), stdout=target, path=path, follow=follow, container=ref)
    if target == subprocess.PIPE:
        shutil.copyfileobj(helper.process.stdout, stdout)
        helper.process.stdout.close()
    helper.message()
    helper.finish()
    _emit(record, "archive-path", path)
    return 0


def copy_to_container(engine, ref, path, source, follow=False, archive=False, stdin=None):
    """Copy the host path ``source`` (``-``: a tar stream from ``stdin``) to ``ref:path``."""
    import subprocess

    from .fsview import Helper, root_spec

    record = engine.container(ref)
    if source == "-":
        helper = Helper("put", root_spec(engine, record, writable=True), stdin=stdin, stdout=subprocess.DEVNULL,
                        path=path, source=None, copy_uidgid=archive, container=ref)
        helper.finish()
        _emit(record, "extract-to-dir", path)
        return 0
    info = source_info(source, follow)
    helper = Helper("put", root_spec(engine, record, writable=True), stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL, path=path, copy_uidgid=archive, container=ref,
                    source={"path": info.path, "exists": True, "is_dir": info.is_dir, "rebase": info.rebase})
    counter = _Counting(helper.process.stdin)
    try:
        pack_source(info, counter)
    except BrokenPipeError:
        pass  # the helper refused the destination; it says why in finish()
    finally:
        try:
            helper.process.stdin.close()
        except BrokenPipeError:
            pass
    helper.finish()
    _emit(record, "extract-to-dir", path)
    return counter.count


def _emit(record, action, path):
    """Docker's events for cp: ``archive-path`` (copied out), ``extract-to-dir`` (copied in)."""
    from .. import events

    events.emit("container", action, record["Id"], {"name": record["Name"].lstrip("/"), "path": path})


def pack_source(info, out):
    """Write the host source as a tar named by its base name (or its rebase name)."""
    from ..image import layer

    name = info.rebase or split_path(info.path)[1]
    real = os.path.normpath(info.path)
    packer = layer.Packer(out)
    packer.add(real, name)
    if info.is_dir:
        packer.add_tree(real, prefix=name)
    packer.close()


def _validate_output_path(path):
    """The host destination's parent must exist, and the destination must not be a device."""
    parent = posixpath.dirname(clean(path))
    if parent not in ("", ".") and not os.path.exists(parent):
        raise PydockError(f'invalid output path: directory "{parent}" does not exist', 1)


class _Counting:
    """A file wrapper that counts the bytes read or written through it.

    Once the reader of what it writes has gone (EPIPE), later writes are dropped: the first
    BrokenPipeError tells the writer, and a tar file closing itself afterwards writes nowhere.
    """

    def __init__(self, stream):
        self.stream, self.count, self.broken = stream, 0, False

    def read(self, size=-1):
        data = self.stream.read(size)
        self.count += len(data)
        return data

    def write(self, data):
        if self.broken:
            return len(data)
        try:
            written = self.stream.write(data)
        except BrokenPipeError:
            self.broken = True
            raise
        self.count += len(data)
        return written

    def flush(self):
        self.stream.flush()
