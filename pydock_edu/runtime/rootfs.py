"""The container's root filesystem: an overlay of the image's layers, then pivot_root into it.

Made by the container's first process, inside its own mount namespace, so every mount here
disappears with the namespace when the container ends; nothing can leak onto the host.
"""

import os

from . import linux

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
    """Mount the container's filesystems under the merged dir and make it the root ``/``."""
    rootfs = spec["rootfs"]
    merged = rootfs["merged"]
    # Mount events must not travel back to the host's namespace: make every mount private.
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    # Lower dirs are relative paths: the mount data must fit in one page even with many layers.
    os.chdir(rootfs["layers_root"])
    linux.mount("overlay", merged, "overlay", 0, overlay_options(rootfs))
    _ensure_dirs(merged, ("proc", "sys", "dev", "etc", "tmp"))
    linux.mount("proc", f"{merged}/proc", "proc", NOSUID_NODEV_NOEXEC)
    linux.mount("sysfs", f"{merged}/sys", "sysfs", NOSUID_NODEV_NOEXEC | linux.MS_RDONLY)
    _setup_dev(f"{merged}/dev")
    for target, source in spec["files"].items():
        path = _ensure_file(merged, target)
        linux.mount(source, path, None, linux.MS_BIND)
    for m in spec.get("mounts", []):
        mount_volume(merged, m)
    _pivot(merged)


def _ensure_dirs(root, names):
    for name in names:
        path = os.path.join(root, name)
        if not os.path.isdir(path):
            os.makedirs(path, exist_ok=True)


def _inside(root, path):
    """``root`` joined with the container path ``path``, every symlink on the way resolved as if
    ``root`` were ``/``: an image's ``/data -> /etc`` leads to ``<root>/etc``, never to the host's /etc."""
    pending = [part for part in path.split("/") if part not in ("", ".")]
    resolved = []
    for _ in range(255):  # path parts and symlinks walked: a bound against symlink loops
        if not pending:
            return os.path.join(root, *resolved)
        part = pending.pop(0)
        if part == "..":
            resolved = resolved[:-1]
            continue
        candidate = os.path.join(root, *resolved, part)
        if not os.path.islink(candidate):
            resolved.append(part)
            continue
        link = os.readlink(candidate)
        resolved = [] if link.startswith("/") else resolved
        pending = [p for p in link.split("/") if p not in ("", ".")] + pending
    raise OSError(f"too many levels of symbolic links in {path}")


def _ensure_file(root, target):
    """The mount point for a file: created empty if the image lacks it."""
    path = _inside(root, target)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "a").close()
    return path


def _setup_dev(dev):
    """A minimal /dev: a tmpfs with the usual device nodes, a private devpts, shm and mqueue."""
    linux.mount("tmpfs", dev, "tmpfs", linux.MS_NOSUID | linux.MS_STRICTATIME, "mode=755,size=65536k")
    for name, major, minor in DEVICES:
        linux.mknod_char(f"{dev}/{name}", major, minor)
    for name, target in DEV_LINKS.items():
        if not os.path.lexists(f"{dev}/{name}"):
            os.symlink(target, f"{dev}/{name}")
    for name in ("pts", "shm", "mqueue"):
        os.makedirs(f"{dev}/{name}", exist_ok=True)
    linux.mount("devpts", f"{dev}/pts", "devpts", linux.MS_NOSUID | linux.MS_NOEXEC,
                "newinstance,ptmxmode=0666,mode=0620,gid=5")
    linux.mount("shm", f"{dev}/shm", "tmpfs", NOSUID_NODEV_NOEXEC, "mode=1777,size=65536k")
    linux.mount("mqueue", f"{dev}/mqueue", "mqueue", NOSUID_NODEV_NOEXEC)


def mount_volume(root, m):
    """Mount one volume, bind mount or tmpfs at its target inside the container's root."""
    target = _inside(root, m["target"])
    if m["type"] == "tmpfs":
        os.makedirs(target, exist_ok=True)
        noexec = linux.MS_NOEXEC if m.get("noexec") else 0
        linux.mount("tmpfs", target, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV | noexec, m.get("options") or None)
    else:
        if m.get("populate"):  # a volume's first use: the image's files at the target go into it
            from ..volume.populate import copy_image_content

            copy_image_content(target, m["source"])
        if os.path.isdir(m["source"]):
            os.makedirs(target, exist_ok=True)
        else:
            _ensure_file(root, m["target"])
        linux.mount(m["source"], target, None, linux.MS_BIND | linux.MS_REC)
    if m.get("readonly"):
        linux.mount(None, target, None, linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY)


def _pivot(new_root):
    """pivot_root into ``new_root`` and detach the old root, which leaves the host's files unreachable."""
    os.chdir(new_root)
    linux.pivot_root(".", ".")
    linux.umount(".", linux.MNT_DETACH)
    os.chdir("/")
