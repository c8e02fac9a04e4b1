"""Paths inside a root the engine does not own (a container's, an image layer's, a build context's),
resolved and opened through file descriptors.

A path such as ``/data/a/f`` inside a container's root must mean what it means *in* the container,
even while one of the container's processes swaps ``a`` for a symlink to a host directory. Looking
the path up by name twice (once to check it, once to use it) loses that race: between the two
lookups ``a`` may have changed. So every step here works on file descriptors:

- :func:`open_in_root` resolves a path with openat2(2) and ``RESOLVE_IN_ROOT``: the kernel walks it
  as if the root directory's fd were ``/``, so an absolute symlink or ``..`` never leads out of it;
  ``RESOLVE_NO_MAGICLINKS`` refuses /proc/PID/fd-style links, which could jump anywhere.
- :func:`make_dirs` and :func:`make_file` create what is missing one component at a time, each
  relative to the fd of its parent (mkdirat/openat with ``O_NOFOLLOW``), and then open it again with
  openat2: what they return is an fd of the object inside the root, whatever was renamed meanwhile.
- :func:`mount_on` mounts on such an fd through its ``/proc/self/fd/N`` name: the kernel takes the
  object the fd holds, never a path looked up again.

This is the idea of runc's ``MkdirAllInRoot`` and of its mounts through ``/proc/self/fd``.
"""

import ctypes
import errno
import os
import posixpath

from . import linux

SYS_OPENAT2 = 437
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_IN_ROOT = 0x10
MAX_LINKS = 40  # dangling symlinks followed while making one path


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)


def openat2(dir_fd, path, flags, resolve, mode=0):
    """openat2(2): open ``path`` relative to ``dir_fd`` with the ``resolve`` restrictions; return an fd."""
    how = _OpenHow(flags | os.O_CLOEXEC, mode if flags & os.O_CREAT else 0, resolve)
    fd = _libc.syscall(SYS_OPENAT2, dir_fd, os.fsencode(path), ctypes.byref(how), ctypes.sizeof(how))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return fd


def open_root(path):
    """An O_PATH fd of the directory ``path`` (a trusted host path), to resolve paths inside it."""
    return os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def open_in_root(root_fd, path, flags=os.O_PATH, mode=0):
    """Open ``path`` as if ``root_fd`` were ``/``: symlinks and ``..`` resolved without leaving it."""
    return openat2(root_fd, path.lstrip("/") or ".", flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, mode)


def parts(path):
    """The names of a path inside a root, cleaned lexically (``..`` never climbs above the root)."""
    cleaned = posixpath.normpath("/" + path)
    return [name for name in cleaned.split("/") if name]


def make_dirs(root_fd, path, mode=0o755, _links=0):
    """``mkdir -p path`` inside the root; return an O_PATH fd of the directory.

    Each component is opened inside the root; a missing one is made with mkdirat(2) in the fd of
    its parent, then opened inside the root again (a symlink swapped in meanwhile is followed
    inside the root too). A dangling symlink on the way has its target made, inside the root.
    """
    names = parts(path)
    fd = os.dup(root_fd)
    try:
        for depth, name in enumerate(names, 1):
            prefix = "/".join(names[:depth])
            try:
                child = open_in_root(root_fd, prefix, os.O_PATH | os.O_DIRECTORY)
            except FileNotFoundError:
                target = _link_target(fd, name, names[:depth - 1], _links)
                if target is not None:
                    os.close(make_dirs(root_fd, target, mode, _links + 1))
                else:
                    try:
                        os.mkdir(name, mode, dir_fd=fd)
                    except FileExistsError:
                        pass  # made meanwhile: the lookup below decides what it is
                child = open_in_root(root_fd, prefix, os.O_PATH | os.O_DIRECTORY)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def make_file(root_fd, path, mode=0o644, _links=0):
    """The file at ``path`` inside the root, created empty if missing (parents too); an O_PATH fd.

    An existing object of any kind is returned as it is (a mount over it decides if it fits); a
    dangling symlink has its target made, inside the root.
    """
    try:
        return open_in_root(root_fd, path)
    except FileNotFoundError:
        pass
    names = parts(path)
    parent = make_dirs(root_fd, "/".join(names[:-1]))
    try:
        target = _link_target(parent, names[-1], names[:-1], _links)
        if target is not None:
            os.close(make_file(root_fd, target, mode, _links + 1))
        else:
            flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
            try:
                os.close(os.open(names[-1], flags, mode, dir_fd=parent))
            except FileExistsError:
                pass  # made meanwhile: the lookup below decides what it is
    finally:
        os.close(parent)
    return open_in_root(root_fd, path)


def _link_target(dir_fd, name, parent_names, links):
    """Where the symlink ``name`` in ``dir_fd`` points, as a path inside the root; None if no link."""
    try:
        link = os.readlink(name, dir_fd=dir_fd)
    except OSError:
        return None  # not a symlink, or not there
    if links >= MAX_LINKS:
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), name)
    return link if link.startswith("/") else posixpath.join("/", *parent_names, link)


def fd_path(fd):
    """The name by which the kernel reaches the object an fd holds, without looking up a path."""
    return f"/proc/self/fd/{fd}"


def mount_on(source, fd, fstype=None, flags=0, data=None, shown=None):
    """mount(2) with the object ``fd`` holds (opened inside a root) as the mount point; ``shown`` is
    the path it stands for (the only one reported in recording mode, where ``fd`` is -1)."""
    if fd < 0:
        linux.mount(source, shown, fstype, flags, data)
    else:
        linux.mount(source, fd_path(fd), fstype, flags, data, shown=shown)


class Root:
    """A directory opened once, in which every path is resolved through openat2 (see above).

    With ``RECORD_ONLY`` (a host without the privileges) nothing is opened nor made: the methods
    return -1 and :func:`mount_on` only reports the mount.
    """

    def __init__(self, path):
        self.path = path
        self.fd = -1 if linux.RECORD_ONLY else open_root(path)

    def shown(self, path):
        """The host path a container path stands for, for explain steps and messages."""
        return os.path.join(self.path, *parts(path))

    def dirs(self, path, mode=0o755):
        return -1 if self.fd < 0 else make_dirs(self.fd, path, mode)

    def file(self, path, mode=0o644):
        return -1 if self.fd < 0 else make_file(self.fd, path, mode)

    def open(self, path, flags=os.O_PATH):
        return -1 if self.fd < 0 else open_in_root(self.fd, path, flags)

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def close(fd):
    """Close an fd from :class:`Root` (``-1`` in recording mode)."""
    if fd >= 0:
        os.close(fd)
