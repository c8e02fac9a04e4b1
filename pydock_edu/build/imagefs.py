"""An image's files seen through its layer directories, without mounting anything.

overlayfs shows the union of an image's layers; the builder needs that same view from outside a
container: to look up ``/etc/passwd`` for ``--chown``, to see whether a WORKDIR exists, to copy
``--from`` another stage, and to add files to a new layer. The rules are overlayfs's own:

* the top layer that has a name wins;
* a whiteout (a character device 0:0) hides the name in every layer below it;
* an opaque directory (xattr ``trusted.overlay.opaque=y``) hides the lower layers' contents of
  that directory;
* a file or link in an upper layer hides whatever a lower layer has at that name.

:class:`LayerWriter` adds files to a new top layer the way a write through overlayfs would:
directories of lower layers are first *copied up* (created in the new layer with the same owner
and mode), so the new layer never changes what it does not mean to change.
"""

import os
import stat

from .. import explain
from ..image.layer import OPAQUE_XATTR
from .errors import BuildError

MAX_LINKS = 40


class ImageFS:
    """The merged view of layer directories, top layer first."""

    def __init__(self, layer_dirs):
        self.layers = list(layer_dirs)

    @classmethod
    def of_image(cls, images, image_id):
        """The view of a stored image (``image_id`` None: ``scratch``, no files at all)."""
        if not image_id:
            return cls([])
        return cls(images.layer_dir(d) for d in reversed(images.layers(image_id)))

    def entries(self, rel):
        """Host paths that make up ``rel``, top first: one for a file or link, each layer's
        part for a directory, none when ``rel`` is missing. Links on the way are not followed."""
        current = self.layers
        for name in rel.split("/") if rel else ():
            found = []
            for base in current:
                path = os.path.join(base, name)
                try:
                    st = os.lstat(path)
                except (FileNotFoundError, NotADirectoryError):
                    continue
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                    break  # a whiteout: deleted here and in every layer below
                if not stat.S_ISDIR(st.st_mode):
                    found = found or [path]
                    break  # a file hides the layers below; below a directory it is hidden
                found.append(path)
                if _is_opaque(path):
                    break
            if not found:
                return []
            current = found
        return current

    def lstat(self, rel):
        entries = self.entries(rel)
        return os.lstat(entries[0]) if entries else None

    def host_path(self, rel):
        entries = self.entries(rel)
        return entries[0] if entries else None

    def is_dir(self, rel):
        st = self.lstat(rel)
        return st is not None and stat.S_ISDIR(st.st_mode)

    def children(self, rel):
        """The names in directory ``rel``, merged over the layers, sorted."""
        names, hidden = set(), set()
        for directory in self.entries(rel):
            if not os.path.isdir(directory):
                break
            for name in os.listdir(directory):
                if name in names or name in hidden:
                    continue
                st = os.lstat(os.path.join(directory, name))
                (hidden if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0 else names).add(name)
        return sorted(names)

    def resolve(self, path, follow_last=True):
        """``path`` with its symbolic links followed inside the image, as a path relative to its root.

        Links are resolved in scope, as Docker does for a container's root: an absolute target
        starts again from the image's root, and ``..`` never climbs above it.
        """
        parts = [p for p in path.split("/") if p not in ("", ".")]
        resolved, links = [], 0
        while parts:
            name = parts.pop(0)
            if name == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = "/".join(resolved + [name])
            host = self.host_path(candidate) if parts or follow_last else None
            if host is not None and os.path.islink(host):
                links += 1
                if links > MAX_LINKS:
                    raise BuildError(f"too many levels of symbolic links: {path}")
                target = os.readlink(host)
                if target.startswith("/"):
                    resolved = []
                parts = [p for p in target.split("/") if p not in ("", ".")] + parts
                continue
            resolved.append(name)
        return "/".join(resolved)

    def read_text(self, path):
        """The text of a file of the image (links followed), or "" when it has none."""
        host = self.host_path(self.resolve(path))
        if host is None or not os.path.isfile(host):
            return ""
        with open(host, encoding="utf-8", errors="replace") as f:
            return f.read()


def _is_opaque(path):
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


class LayerWriter:
    """A new, empty top layer being filled by COPY, ADD or WORKDIR, over an image's layers."""

    def __init__(self, upper, image_view):
        self.upper = upper
        self.view = ImageFS([upper, *image_view.layers])

    def make_dirs(self, rel, owner=(0, 0), mode=0o755):
        """Make ``rel`` (links already resolved) a directory: copy up the directories the image
        has, create the missing ones with ``mode`` and ``owner``, as ``mkdir -p`` would."""
        done = []
        for name in rel.split("/") if rel else ():
            done.append(name)
            prefix = "/".join(done)
            upper = os.path.join(self.upper, prefix)
            if os.path.isdir(upper) and not os.path.islink(upper):
                continue
            st = self.view.lstat(prefix)
            if st is not None and not stat.S_ISDIR(st.st_mode):
                raise BuildError(f"mkdir /{prefix}: not a directory")
            if st is None:
                explain.step("layer", f"mkdir {upper} (mode {mode:o}, owner {owner[0]}:{owner[1]})")
                os.mkdir(upper)
                os.chown(upper, *owner)
                os.chmod(upper, mode)
            else:  # copy-up: the same directory, owner and mode in the new layer
                explain.step("layer", f"mkdir {upper}: copy-up of /{prefix} (same mode and owner)")
                os.mkdir(upper)
                os.chown(upper, st.st_uid, st.st_gid)
                os.chmod(upper, stat.S_IMODE(st.st_mode))
                os.utime(upper, ns=(st.st_atime_ns, st.st_mtime_ns))
        return os.path.join(self.upper, rel) if rel else self.upper

    def replace(self, rel, owner=(0, 0)):
        """Clear the way for a new entry at ``rel``: its parents exist (new ones belong to
        ``owner``), nothing is there yet."""
        self.make_dirs(os.path.dirname(rel), owner)
        path = os.path.join(self.upper, rel)
        if os.path.isdir(path) and not os.path.islink(path):
            import shutil

            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)
        return path
