"""Filling an empty volume with the image's files at its mount point, as Docker does.

Called by the container's init (see :func:`pydock_edu.runtime.rootfs.mount_volume`) inside the
container's own mount namespace, after the overlay is mounted and just before the volume is
bind-mounted over the path, while the target still shows the image's files. Files,
directories, symlinks and device nodes are copied with their owners, modes and times. A volume
that holds anything is left alone, so its data outlives the containers that use it.
"""

import errno
import os
import stat

from .. import explain
from ..runtime import linux


def copy_image_content(root, target, volume_dir):
    """Copy the image's tree at the container path ``target`` into the empty volume directory
    ``volume_dir``, which also takes the owner and mode of that tree.

    ``root`` (a :class:`pydock_edu.runtime.inroot.Root`) is the container's root: ``target`` is opened
    inside it, and everything below is walked through directory fds, never by a path looked up again,
    so a symlink swapped in while we copy (the target may lie in another, shared volume) leads nowhere.
    """
    explain.step("volume", f"copy {root.shown(target)} into the empty volume {volume_dir} "
                           "(owners, modes and times kept)")
    if linux.RECORD_ONLY:
        return
    try:
        source = root.open(target, os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        return  # nothing of the image's at the target
    try:
        volume = os.open(volume_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if not os.listdir(volume):
                _copy_children(source, volume)
                info = os.fstat(source)
                os.fchown(volume, info.st_uid, info.st_gid)
                os.fchmod(volume, stat.S_IMODE(info.st_mode))
        finally:
            os.close(volume)
    finally:
        os.close(source)


def _copy_children(source, target):
    """Copy every entry of the directory fd ``source`` into the directory fd ``target``."""
    for name in os.listdir(source):
        try:
            _copy(source, target, name)
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                raise  # ENOENT/ENOTDIR/ELOOP: the entry was removed or changed kind while we copied


def _copy(source, target, name):
    """Copy the entry ``name`` without following symlinks, then its owner, mode and times."""
    info = os.stat(name, dir_fd=source, follow_symlinks=False)
    if stat.S_ISDIR(info.st_mode):
        os.mkdir(name, 0o700, dir_fd=target)
        below = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=source)
        try:
            made = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=target)
            try:
                _copy_children(below, made)
            finally:
                os.close(made)
        finally:
            os.close(below)
    elif stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(name, dir_fd=source), name, dir_fd=target)
    elif stat.S_ISREG(info.st_mode):
        _copy_file(source, target, name)
    else:  # a device node, fifo or socket
        os.mknod(name, info.st_mode, info.st_rdev, dir_fd=target)
    os.chown(name, info.st_uid, info.st_gid, dir_fd=target, follow_symlinks=False)
    if not stat.S_ISLNK(info.st_mode):  # after chown, which clears set-user-ID bits
        os.chmod(name, stat.S_IMODE(info.st_mode), dir_fd=target, follow_symlinks=False)
    os.utime(name, ns=(info.st_atime_ns, info.st_mtime_ns), dir_fd=target, follow_symlinks=False)


def _copy_file(source, target, name):
    """Copy a regular file's bytes, both ends opened with O_NOFOLLOW in their directory fds."""
    import shutil

    flags = os.O_NOFOLLOW | os.O_CLOEXEC
    with open(os.open(name, os.O_RDONLY | os.O_NONBLOCK | flags, dir_fd=source), "rb") as src:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            raise OSError(errno.ENOENT, "changed while copied", name)
        with open(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | flags, 0o600, dir_fd=target), "wb") as dst:
            shutil.copyfileobj(src, dst)
