"""The container's root filesystem: an overlay of the image's layers, then pivot_root into it.

Made by the container's first process, inside its own mount namespace, so every mount here
disappears with the namespace when the container ends; nothing can leak onto the host.
"""

import contextlib
import os

from ..errors import PydockError
from . import inroot, linux

# The device nodes every container gets: (name, major, minor), as in Docker's default set.
DEVICES = [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)]
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"}
NOSUID_NODEV_NOEXEC = linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC


def overlay_options(rootfs):
    """The overlayfs mount data; lower dirs are given relative to the layer store (see setup)."""
    lower = ":".join(rootfs["lower"]) if rootfs["lower"] else rootfs["empty"]
    return f"lowerdir={lower},upperdir={rootfs['upper']},workdir={rootfs['work']}"


def setup(spec):
    """Mount the container's filesystems under the merged dir and make it the root ``/``.

    Every mount point below the merged dir is found and made inside it (see :mod:`.inroot`): a
    symlink in the image, or one swapped into a shared volume while we work, never leads out.
    """
    rootfs = spec["rootfs"]
    merged = rootfs["merged"]
    # Mount events must not travel back to the host's namespace: make every mount private.
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    # Lower dirs are relative paths: the mount data must fit in one page even with many layers.
    os.chdir(rootfs["layers_root"])
    linux.mount("overlay", merged, "overlay", 0, overlay_options(rootfs))
    with inroot.Root(merged) as root:  # opened after the mount: the fd is the overlay's root
        for name in ("etc", "tmp"):
            inroot.close(root.dirs(name))
        _mount_new(root, "/proc", "proc", NOSUID_NODEV_NOEXEC)
        _mount_new(root, "/sys", "sysfs", NOSUID_NODEV_NOEXEC | linux.MS_RDONLY)
        _setup_dev(root)
        for target, source in spec["files"].items():
            with _mounting(source, target):
                bind(root, source, target, root.file(target))
        for m in spec.get("mounts", []):
            with _mounting(m.get("source") or m["type"], m["target"]):
                mount_volume(root, m)
    _pivot(merged)


@contextlib.contextmanager
def _mounting(source, target):
    """Turn a failure to mount ``source`` at the container path ``target`` into Docker's one line."""
    try:
        yield
    except OSError as e:
        reason = (e.strerror or str(e)).split(": ")[-1].lower()
        raise PydockError(f'error mounting "{source}" to rootfs at "{target}": {reason}') from None


def _mount_new(root, target, fstype, flags, data=None, source=None):
    """Mount a new ``fstype`` filesystem on the directory ``target`` inside the root (made if missing)."""
    fd = root.dirs(target)
    try:
        inroot.mount_on(source or fstype, fd, fstype, flags, data, shown=root.shown(target))
    finally:
        inroot.close(fd)


def bind(root, source, target, fd, readonly=False):
    """Bind-mount the host path ``source`` on ``fd``, the object at ``target`` opened inside the root.

    A read-only bind is made read-only before it is attached (open_tree, mount_setattr, move_mount),
    so it is never writable in the container, not even for a moment.
    """
    try:
        if not readonly:
            inroot.mount_on(source, fd, None, linux.MS_BIND | linux.MS_REC, shown=root.shown(target))
            return
        tree = linux.open_tree_clone(source)
        try:
            linux.make_tree_readonly(tree, source)
            linux.move_mount(tree, fd, source, root.shown(target))
        finally:
            inroot.close(tree)
    finally:
        inroot.close(fd)


def _setup_dev(root):
    """A minimal /dev: a tmpfs with the usual device nodes, a private devpts, shm and mqueue."""
    _mount_new(root, "/dev", "tmpfs", linux.MS_NOSUID | linux.MS_STRICTATIME, "mode=755,size=65536k")
    dev = root.open("/dev", os.O_PATH | os.O_DIRECTORY)  # the new tmpfs, private to this namespace
    try:
        where = inroot.fd_path(dev) if dev >= 0 else root.shown("/dev")
        for name, major, minor in DEVICES:
            linux.mknod_char(f"{where}/{name}", major, minor)
        for name, target in DEV_LINKS.items():
            if not linux.RECORD_ONLY and not os.path.lexists(f"{where}/{name}"):
                os.symlink(target, name, dir_fd=dev)
    finally:
        inroot.close(dev)
    _mount_new(root, "/dev/pts", "devpts", linux.MS_NOSUID | linux.MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=0620,gid=5")
    _mount_new(root, "/dev/shm", "tmpfs", NOSUID_NODEV_NOEXEC, "mode=1777,size=65536k", source="shm")
    _mount_new(root, "/dev/mqueue", "mqueue", NOSUID_NODEV_NOEXEC)


def mount_volume(root, m):
    """Mount one volume, bind mount or tmpfs at its target inside the container's root (an inroot.Root)."""
    target = m["target"]
    if m["type"] == "tmpfs":
        noexec = linux.MS_NOEXEC if m.get("noexec") else 0
        readonly = linux.MS_RDONLY if m.get("readonly") else 0
        _mount_new(root, target, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV | noexec | readonly, m.get("options") or None)
        return
    if m.get("populate"):  # a volume's first use: the image's files at the target go into it
        from ..volume.populate import copy_image_content

        copy_image_content(root, target, m["source"])
    fd = root.dirs(target) if os.path.isdir(m["source"]) else root.file(target)
    bind(root, m["source"], target, fd, readonly=m.get("readonly"))


def _pivot(new_root):
    """pivot_root into ``new_root`` and detach the old root, which leaves the host's files unreachable."""
    os.chdir(new_root)
    linux.pivot_root(".", ".")
    linux.umount(".", linux.MNT_DETACH)
    os.chdir("/")
