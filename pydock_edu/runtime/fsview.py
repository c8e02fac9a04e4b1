"""A container's files seen from the host, for ``cp`` and ``export``: a helper that lives in its root.

Paths a user gives for a container are container paths, and the container owns its files: a
symlink ``/data -> /etc`` in it must lead to the container's /etc, never the host's. So every
path is resolved by a helper process (a fresh interpreter, see :mod:`.spawn`) that first makes
the container's root filesystem its own root with chroot(2):

- a running container: the helper opens ``/proc/PID/root`` of the container's first process,
  checks with a pidfd that this is still that process, and chroots there. It then also sees the
  container's mounts (volumes, /proc...), as the container does;
- a stopped container: the helper unshares a mount namespace of its own, mounts the container's
  overlay there (its layers read-only, or with the upper dir when it writes) and chroots into it.
  The namespace and the mount vanish with the helper: nothing can stay mounted on the host.

Once inside, the helper neither imports a module nor looks up a user name: both could load code
from the container's files (a container's libnss once ran in ``docker cp``, CVE-2019-14271).
It speaks through two channels: the tar stream (on its stdin or stdout) and a status pipe of JSON
lines (``{"stat": ...}`` before a stream, ``{"error": ..., "code": ...}`` when it fails).
"""

import json
import os
import stat
import sys

from .. import explain
from ..errors import PydockError
from . import linux

# The engine's side


def root_spec(engine, record, writable=False, volumes=True):
    """How the helper reaches a container's root: its first process, or its overlay layers."""
    if record["State"]["Running"]:
        return {"pid": record["State"]["Pid"], "id": record["Id"],
                "volumes": [m["target"] for m in record.get("RuntimeMounts", [])]}
    from .. import container

    path = container.directory(record["Id"])
    images = engine.images
    empty = os.path.join(images.root, "empty")
    os.makedirs(empty, exist_ok=True)
    return {"overlay": {"layers_root": os.path.join(images.root, "layers"),
                        "lower": [f"{d.split(':')[1]}/diff" for d in reversed(images.layers(record["Image"]))],
                        "upper": f"{path}/diff", "work": f"{path}/work", "merged": f"{path}/merged", "empty": empty},
            "writable": writable, "mounts": record.get("RuntimeMounts", []) if volumes else []}


class Helper:
    """One helper process: ``op`` run inside a container's root, with the given stdin and stdout."""

    def __init__(self, op, root, stdin=None, stdout=None, **args):
        from .spawn import helper

        status_r, status_w = os.pipe()
        env, fds = {"PYDOCK_STATUS_FD": str(status_w)}, [status_w]
        self.explain_fd = None
        if explain.enabled():
            self.explain_fd, explain_w = os.pipe()
            env["PYDOCK_EXPLAIN_FD"] = str(explain_w)
            fds.append(explain_w)
        spec = json.dumps({"op": op, "root": root, **args})
        self.process = helper("pydock_edu.runtime.fsview", [spec], env=env, pass_fds=fds,
                              stdin=stdin, stdout=stdout)
        for fd in fds:
            os.close(fd)
        self.status = os.fdopen(status_r, "rb")

    def message(self):
        """The helper's next status message ({} once it has said everything); errors are raised."""
        line = self.status.readline()
        message = json.loads(line) if line else {}
        if "error" in message:
            self._wait()
            raise PydockError(message["error"], message["code"])
        return message

    def finish(self):
        """Wait for the helper; raise what it reported, if anything."""
        messages = [json.loads(line) for line in self.status.read().splitlines()]
        self._wait()
        for message in messages:
            if "error" in message:
                raise PydockError(message["error"], message["code"])
        if self.process.returncode != 0:
            raise PydockError(f"the file system helper failed (exit code {self.process.returncode})")

    def _wait(self):
        """Reap the helper and pass its explain steps on."""
        self.status.close()
        self.process.wait()
        if self.explain_fd is not None:
            from ..engine import _relay_explain

            _relay_explain(self.explain_fd, block=True)
            os.close(self.explain_fd)
            self.explain_fd = None


def export(engine, record, out):
    """``container export``: the container's file system (without its volumes) as a tar on ``out``."""
    import shutil
    import subprocess

    try:
        target = out.fileno()
    except (AttributeError, OSError, ValueError):
        target = subprocess.PIPE  # not a real file (a notebook's stream): copy through this process
    helper = Helper("export", root_spec(engine, record, volumes=False), stdout=target)
    if target == subprocess.PIPE:
        shutil.copyfileobj(helper.process.stdout, out)
        helper.process.stdout.close()
    helper.finish()


# The helper's side


def main():
    spec = json.loads(sys.argv[1])
    status = os.fdopen(int(os.environ.pop("PYDOCK_STATUS_FD")), "wb", buffering=0)
    explain.write_to_inherited_fd()
    devnull = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)  # the host's: after chroot it is out of reach
    try:
        mount_points = enter(spec["root"])
        OPERATIONS[spec["op"]](spec, status, mount_points)
    except BrokenPipeError:  # the reader of the tar stream stopped reading (``cp c:/f - | tar t``)
        os.dup2(devnull, 1)  # later writes (a closing tar file) go nowhere
    except PydockError as e:
        _send(status, {"error": str(e), "code": e.exit_code})
    except OSError as e:
        _send(status, {"error": f"{e.strerror or e}: {e.filename or ''}".rstrip(": "), "code": 1})
    status.close()


def _send(status, message):
    status.write(json.dumps(message).encode() + b"\n")


def enter(root):
    """Make the container's root filesystem this process's root; return its mount points (running)."""
    _preload()
    if "pid" in root:
        mount_points = _enter_running(root)
        chroot_here(f"/proc/{root['pid']}/root")
    else:
        _enter_stopped(root)
        mount_points = set()
        chroot_here(root["overlay"]["merged"])
    _forbid_imports()
    return mount_points


def _enter_running(root):
    """chdir to /proc/PID/root of the container's first process, having made sure it is that process."""
    import signal

    pid = root["pid"]
    not_running = PydockError(f"container {root['id'][:12]} is not running", 1)
    try:
        pidfd = os.pidfd_open(pid)
        with open(f"/proc/{pid}/cgroup") as f:
            if root["id"] not in f.read():
                raise not_running  # the PID now belongs to another process
        points = _mount_points(pid)
        fd = os.open(f"/proc/{pid}/root", os.O_RDONLY | os.O_DIRECTORY)
        signal.pidfd_send_signal(pidfd, 0)  # still alive: ``fd`` is the container's root
    except (ProcessLookupError, FileNotFoundError):
        raise not_running from None
    os.fchdir(fd)
    os.close(fd)
    os.close(pidfd)
    return points - {volume.strip("/") for volume in root["volumes"]}


def _mount_points(pid):
    """Mount points of the process's mount namespace, relative to its root (from /proc/PID/mountinfo)."""
    import re

    points = set()
    with open(f"/proc/{pid}/mountinfo") as f:
        for line in f:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if point != "/":
                points.add(point.strip("/"))
    return points


def _enter_stopped(root):
    """Mount the container's overlay in a mount namespace of our own, then chdir into it."""
    overlay = root["overlay"]
    linux.unshare(linux.CLONE_NEWNS)
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    os.chdir(overlay["layers_root"])  # lower dirs are relative: the mount data must fit in a page
    if root["writable"]:
        from .rootfs import overlay_options

        linux.mount("overlay", overlay["merged"], "overlay", 0, overlay_options(overlay))
    else:  # the upper dir as the top lower layer: the kernel writes nothing at all
        lower = [overlay["upper"], *overlay["lower"]]
        if len(lower) == 1:
            lower.append(overlay["empty"])  # overlayfs wants two lower dirs when it has no upper
        linux.mount("overlay", overlay["merged"], "overlay", linux.MS_RDONLY, "lowerdir=" + ":".join(lower))
    for m in root["mounts"]:
        _mount_volume(overlay["merged"], m)
    os.chdir(overlay["merged"])


def _mount_volume(merged, m):
    """Bind a volume at its mount point, found inside the container's root (skipped if it is missing)."""
    from . import inroot, rootfs

    if m.get("type") == "tmpfs":
        return  # a tmpfs lives only while the container runs
    with inroot.Root(merged) as root:
        try:
            target = root.open(m["target"])
        except FileNotFoundError:
            return
        rootfs.bind(root, m["source"], m["target"], target, readonly=m.get("readonly"))


def chroot_here(shown):
    """chroot(2) into the current directory (``shown``): every later path lookup starts there."""
    explain.step("chroot", f"chroot({shown})")
    os.chroot(".")
    os.chdir("/")


def _preload():
    """Import (and exercise once) everything used after chroot, while imports still come from the host."""
    import gzip  # noqa: F401  (used by layer.read_members)
    import io
    import shutil  # noqa: F401  (used by layer.Unpacker)
    import tarfile
    import zlib  # noqa: F401

    from ..image import layer
    from . import cp  # noqa: F401

    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo("ünïcode/" + "long" * 40)
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    data.seek(0)
    with tarfile.open(fileobj=data, mode="r|") as archive:
        for member in archive:
            archive.extractfile(member).read()
    layer.safe_relpath("a/b")


def _forbid_imports():
    """From now on an import fails instead of loading a file of the container."""
    sys.meta_path.clear()
    sys.path_hooks.clear()
    sys.path_importer_cache.clear()
    sys.path.clear()


# The operations, run inside the container's root


def _export(spec, status, mount_points):
    """The whole file system as a tar on stdout (mount points as empty directories)."""
    from ..image import layer

    packer = layer.Packer(os.fdopen(1, "wb", closefd=False))
    packer.add_tree("/", prune=mount_points)
    packer.close()


def _get(spec, status, mount_points):
    """A tar of one path on stdout, after a ``{"stat": ...}`` message (Docker's GET archive)."""
    from ..image import layer
    from . import cp

    path = cp.container_path(spec["path"])
    resolved = cp.resolve(path)
    try:
        st = os.lstat(resolved)
    except FileNotFoundError:
        raise PydockError(f"Could not find the file {path} in container {spec['container']}", 1) from None
    except NotADirectoryError:
        raise PydockError(f"lstat {path}: not a directory", 1) from None
    rebase = None
    if spec["follow"] and stat.S_ISLNK(st.st_mode):
        rebase = os.path.basename(resolved)
        target = os.readlink(resolved)
        path = cp.container_path(os.path.join(os.path.dirname(path), target))
        resolved = cp.resolve(path)
        try:
            st = os.lstat(resolved)
        except (FileNotFoundError, NotADirectoryError):
            raise PydockError(f"Could not find the file {path} in container {spec['container']}", 1) from None
    is_dir = stat.S_ISDIR(st.st_mode)
    if cp.asserts_directory(path) and not is_dir:
        raise PydockError(f"{path}: not a directory", 1)
    base = cp.split_path(path)[1]
    _send(status, {"stat": {"path": path, "is_dir": is_dir, "rebase": rebase}})
    packer = layer.Packer(os.fdopen(1, "wb", closefd=False))
    packer.add(resolved, base)
    if is_dir:
        inside = os.path.normpath(resolved).strip("/")
        below = inside + "/" if inside else ""
        prune = {p[len(below):] for p in mount_points if p.startswith(below)}
        packer.add_tree(resolved, prefix=base, prune=prune)
    packer.close()


def _put(spec, status, mount_points):
    """Extract the tar on stdin at a path (Docker's PUT archive, with cp's rules for the destination)."""
    from ..image import layer
    from . import cp

    container_name, dest = spec["container"], spec["path"]
    target = cp.destination_info(dest, container=container_name)
    if spec["source"] is None:  # ``cp - CONTAINER:DIR``: a tar stream, extracted as it is
        if not target.is_dir:
            raise PydockError(f'destination "{container_name}:{dest}" must be a directory', 1)
        directory, rename = target.path, None
    else:
        directory, rename = cp.prepare_copy(cp.CopyInfo(**spec["source"]), target)
    resolved = cp.resolve(cp.container_path(directory))
    try:
        st = os.lstat(resolved)
    except (FileNotFoundError, NotADirectoryError):
        raise PydockError(f"Could not find the file {directory} in container {container_name}", 1) from None
    if not stat.S_ISDIR(st.st_mode):
        raise PydockError("extraction point is not a directory", 1)
    unpacker = layer.Unpacker(resolved, whiteouts=False, owner=None if spec["copy_uidgid"] else (0, 0),
                              what="tar", replace_dirs=False)
    layer.read_members(os.fdopen(0, "rb", closefd=False), cp.Renaming(unpacker, rename), what="tar")
    _send(status, {"done": True})


OPERATIONS = {"export": _export, "get": _get, "put": _put}
