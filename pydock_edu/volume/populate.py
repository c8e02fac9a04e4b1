"""Filling an empty volume with the image's files at its mount point, as Docker does.

Called by the container's init (see :func:`pydock_edu.runtime.rootfs.mount_volume`) inside the
container's own mount namespace, after the overlay is mounted and just before the volume is
bind-mounted over the path, while ``<merged>/<target>`` still shows the image's files. Files,
directories, symlinks and device nodes are copied with their owners, modes and times. A volume
that holds anything is left alone, so its data outlives the containers that use it.
"""

import os
import stat

from .. import explain
from ..runtime import linux


def copy_image_content(image_dir, volume_dir):
    """Copy the tree at ``image_dir`` (a path already resolved inside the container's root) into the
    empty volume directory ``volume_dir``, which also takes the owner and mode of ``image_dir``."""
    recording = linux.RECORD_ONLY
    if not recording and (os.path.islink(image_dir) or not os.path.isdir(image_dir) or os.listdir(volume_dir)):
        return
    explain.step("volume", f"copy {image_dir} into the empty volume {volume_dir} (owners, modes and times kept)")
    if recording:
        return
    for entry in os.scandir(image_dir):
        _copy(entry.path, os.path.join(volume_dir, entry.name))
    info = os.lstat(image_dir)
    os.chown(volume_dir, info.st_uid, info.st_gid)
    os.chmod(volume_dir, stat.S_IMODE(info.st_mode))


def _copy(source, target):
    """Copy one entry without following symlinks, then its owner, mode and times."""
    info = os.lstat(source)
    if stat.S_ISDIR(info.st_mode):
        os.mkdir(target)
        for entry in os.scandir(source):
            _copy(entry.path, os.path.join(target, entry.name))
    elif stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(source), target)
    elif stat.S_ISREG(info.st_mode):
        import shutil

        shutil.copyfile(source, target, follow_symlinks=False)
    else:  # a device node, fifo or socket
        os.mknod(target, info.st_mode, info.st_rdev)
    os.chown(target, info.st_uid, info.st_gid, follow_symlinks=False)
    if not stat.S_ISLNK(info.st_mode):
        os.chmod(target, stat.S_IMODE(info.st_mode))  # after chown, which clears set-user-ID bits
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns), follow_symlinks=False)
