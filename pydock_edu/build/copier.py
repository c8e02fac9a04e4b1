"""COPY and ADD: which files the sources name, their checksum, and writing them into a new layer.

The rules of Docker's reference:

* A source is a path in the build context (with ``--from``, in another stage or image, from its
  root). It may hold wildcards (``*``, ``?``, ``[a-z]``) that stay within one directory level.
  A source may also be a here-document (``COPY <<EOF /etc/motd``), and for ADD a URL.
* The destination is absolute, or relative to the WORKDIR. With several sources it must be a
  directory and end with ``/``.
* A directory source is not copied itself: its contents go into the destination.
* A file goes *into* the destination when that ends with ``/`` or is an existing directory;
  otherwise it is written *as* the destination.
* ADD unpacks a local tar archive (plain, gzip, bzip2 or xz) into the destination. It downloads a
  URL to a file with mode 600 and the mtime of the response's Last-Modified header.
* Whatever is copied belongs to root (or to ``--chown``, names looked up in the image's own
  ``/etc/passwd`` and ``/etc/group``); modes and modification times are kept. Directories made
  on the way get mode 755. Files unpacked from an archive keep the archive's owners.
"""

import os
import posixpath
import stat

from .. import explain
from . import cache
from .context import BuildContext, match_regex
from .errors import BuildError
from .imagefs import ImageFS

WILDCARDS = "*?["


class CopyError(BuildError):
    """A COPY or ADD that cannot be done."""


class Source:
    """One thing to copy: ``rel`` in ``tree`` (the context, an image, or a scratch directory)."""

    def __init__(self, name, tree, rel, checksum, is_dir, archive=False):
        self.name = name  # the file name it gets inside a destination directory
        self.tree, self.rel = tree, rel
        self.checksum = checksum
        self.is_dir = is_dir
        self.archive = archive  # ADD: a local tar archive, to unpack


class ScratchTree(BuildContext):
    """A private directory of the builder's: downloads and here-documents of one step, or an
    archive unpacked by ADD. No .dockerignore applies to it.

    Without ``root``, it is made under ``parent`` when the first file is added.
    """

    def __init__(self, parent=None, root=None):
        super().__init__(None, None, None)
        self.parent, self.root = parent, root

    def add(self, name):
        """The host path for a new file ``name`` in the scratch directory."""
        if self.root is None:
            self.root = os.path.join(self.parent, "sources-" + os.urandom(8).hex())
            os.mkdir(self.root, 0o700)
        return os.path.join(self.root, name)


def collect_sources(words, tree, scratch, *, heredoc_of, expand_heredoc, url_allowed, unpack):
    """The Sources named by the source words of one COPY or ADD (raises CopyError)."""
    sources = []
    for word in words:
        doc = heredoc_of(word)
        if doc is not None:
            sources.append(_heredoc_source(doc, scratch, expand_heredoc))
        elif url_allowed and word.startswith(("http://", "https://")):
            sources.append(_url_source(word, scratch))
        elif any(char in word for char in WILDCARDS):
            for rel in tree.glob(_clean(word)):
                sources.append(_source(tree, rel, word, unpack))
        else:
            sources.append(_source(tree, _clean(word), word, unpack))
    if not sources:
        raise CopyError("no source files were specified")
    return sources


def _clean(word):
    """A source path relative to the tree's root: ``/a``, ``./a`` and ``a`` are the same."""
    path = posixpath.normpath(word.lstrip("/") or ".")
    return "" if path == "." else path


def _source(tree, rel, shown, unpack):
    if rel.split("/")[0] == ".." and isinstance(tree, BuildContext):
        raise CopyError(f"forbidden path outside the build context: {shown} ()")
    resolved = tree.resolve(rel)
    st = tree.lstat(resolved)
    if st is None:
        where = "build context or excluded by .dockerignore: " if isinstance(tree, BuildContext) else ""
        raise CopyError(f"file not found in {where}stat {shown}: file does not exist")
    name = posixpath.basename(rel) or posixpath.basename(resolved)
    if stat.S_ISDIR(st.st_mode):
        entries = [cache.entry_checksum(child, tree.host_path(child), child_st)
                   for child, child_st in walk(tree, resolved)]
        return Source(name, tree, resolved, cache.tree_checksum("dir", sorted(entries)), True)
    host = tree.host_path(resolved)
    checksum = "file:" + cache.entry_checksum(rel, host, st)
    archive = unpack and stat.S_ISREG(st.st_mode) and _is_archive(host)
    return Source(name, tree, resolved, checksum, False, archive)


def _is_archive(path):
    from .archive import is_archive

    return is_archive(path)


def walk(tree, rel):
    """``(path, lstat)`` of everything below directory ``rel`` of a tree, parents first."""
    for name in tree.children(rel):
        child = f"{rel}/{name}" if rel else name
        st = tree.lstat(child)
        if st is None:
            if os.path.isdir(tree.host_path(child)):
                yield from walk(tree, child)  # excluded, but an exception keeps files inside
            continue
        yield child, st
        if stat.S_ISDIR(st.st_mode):
            yield from walk(tree, child)


def _heredoc_source(doc, scratch, expand_heredoc):
    content = expand_heredoc(doc.content) if doc.expand else doc.content
    path = scratch.add(doc.name)
    with open(path, "w") as f:
        f.write(content)
    os.chmod(path, 0o644)
    checksum = "file:" + cache.entry_checksum(doc.name, path, os.lstat(path))
    return Source(doc.name, scratch, doc.name, checksum, False)


def _url_source(url, scratch):
    """Download ``url`` into the scratch directory (ADD): mode 600, mtime from Last-Modified."""
    import email.utils
    import shutil
    import urllib.error
    import urllib.parse
    import urllib.request

    name = posixpath.basename(urllib.parse.urlparse(url).path)
    if not name:
        raise CopyError(f"cannot determine filename from url: {url}")
    explain.step("http", f"GET {url}")
    path = scratch.add(name)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as out:
            shutil.copyfileobj(response, out)
            last_modified = response.headers.get("Last-Modified")
    except urllib.error.HTTPError as e:
        raise CopyError(f"failed to GET {url} with status {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise CopyError(f"failed to GET {url}: {getattr(e, 'reason', e)}") from None
    mtime = 0
    if last_modified:
        try:
            mtime = email.utils.parsedate_to_datetime(last_modified).timestamp()
        except (TypeError, ValueError):
            pass
    os.chmod(path, 0o600)
    os.utime(path, (mtime, mtime))
    checksum = "file:" + cache.entry_checksum(name, path, os.lstat(path))
    return Source(name, scratch, name, checksum, False)


# Writing into the new layer ------------------------------------------------------------------


def copy_sources(writer, sources, dest, owner, chmod=None):
    """Copy every source to ``dest`` (an absolute path in the image) through ``writer``."""
    into = dest.endswith("/")
    for source in sources:
        target = writer.view.resolve(dest)
        explain.step("copy", f"{source.tree.host_path(source.rel)} -> {writer.upper}/{target}" +
                     (" (unpack the archive)" if source.archive else
                      f" (owner {owner[0]}:{owner[1]})" if owner else ""))
        if source.is_dir:
            writer.make_dirs(target, owner)
            _copy_children(writer, source.tree, source.rel, target, owner, chmod)
        elif source.archive:
            _unpack(writer, source, target)
        else:
            if into or writer.view.is_dir(target):
                target = f"{target}/{source.name}" if target else source.name
            _copy_entry(writer, source.tree, source.rel, source.tree.lstat(source.rel), target, owner, chmod)


def _unpack(writer, source, target):
    """ADD of a local archive: unpack it safely aside, then copy the result, owners kept."""
    import shutil
    import tempfile

    from .archive import extract_into

    scratch = tempfile.mkdtemp(dir=os.path.dirname(writer.upper))
    try:
        with open(source.tree.host_path(source.rel), "rb") as f:
            extract_into(f, scratch, keep_owner=True)
        writer.make_dirs(target)
        _copy_children(writer, ScratchTree(root=scratch), "", target, None, None)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _copy_children(writer, tree, rel, target, owner, chmod):
    for name in tree.children(rel):
        child = f"{rel}/{name}" if rel else name
        st = tree.lstat(child)
        if st is None:
            if os.path.isdir(tree.host_path(child)):  # excluded, but may hold kept files
                _copy_children(writer, tree, child, f"{target}/{name}" if target else name, owner, chmod)
            continue
        _copy_entry(writer, tree, child, st, f"{target}/{name}" if target else name, owner, chmod)


def _copy_entry(writer, tree, rel, st, target, owner, chmod):
    """Copy one entry (a directory with everything below it) to ``target`` in the new layer."""
    host = tree.host_path(rel)
    uid, gid = owner if owner is not None else (st.st_uid, st.st_gid)
    mode = chmod if chmod is not None else stat.S_IMODE(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        if writer.view.is_dir(target):
            path = writer.make_dirs(target)
        else:
            path = writer.replace(target, (uid, gid))
            os.mkdir(path)
        os.chown(path, uid, gid)
        os.chmod(path, mode)
        _copy_children(writer, tree, rel, target, owner, chmod)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        return
    path = writer.replace(target, (uid, gid))
    if stat.S_ISREG(st.st_mode):
        _copy_file(host, path)
    elif stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(host), path)
    elif stat.S_ISFIFO(st.st_mode):
        os.mkfifo(path)
    else:
        return  # sockets and device nodes are not copied
    os.lchown(path, uid, gid)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(path, mode)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _copy_file(source, target):
    import shutil  # imported here: a cached build copies nothing

    shutil.copyfile(source, target)


# --chown ---------------------------------------------------------------------------------------


def parse_chown(text, view):
    """``--chown=user[:group]`` as (uid, gid), names looked up in the image's passwd and group.

    As in Docker: a lone user is also used as the group (``--chown=1000`` is 1000:1000,
    ``--chown=nobody`` needs a group named nobody).
    """
    parts = text.split(":")
    if len(parts) > 2:
        raise CopyError(f"invalid chown string format: {text}")
    user, group = (parts * 2)[:2]
    try:
        uid = _lookup(user, view.read_text("/etc/passwd"), "user", "uid")
        gid = _lookup(group, view.read_text("/etc/group"), "group", "gid")
    except CopyError as e:
        raise CopyError(f"unable to convert uid/gid chown string to host mapping: {e}") from None
    return uid, gid


def _lookup(name, text, kind, id_name):
    if name.isdigit():
        return int(name)
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] == name and fields[2].isdigit():
            return int(fields[2])
    raise CopyError(f"can't find {id_name} for {kind} {name}: no such {kind}: {name}")


def image_glob(view, pattern):
    """Paths of an image matching a wildcard source of ``COPY --from``."""
    regex = match_regex(pattern)
    found = []

    def search(rel):
        for name in view.children(rel):
            child = f"{rel}/{name}" if rel else name
            if regex.fullmatch(child):
                found.append(child)
            if view.is_dir(child):
                search(child)

    search("")
    return found


class ImageTree(ImageFS):
    """A stage or image read as a COPY ``--from`` source."""

    def glob(self, pattern):
        return image_glob(self, pattern)
