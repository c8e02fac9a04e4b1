"""The build context: the files a Dockerfile's COPY and ADD may read, and the Dockerfile itself.

``docker build PATH`` sends the directory PATH to the daemon as a tar, leaving out what
``.dockerignore`` excludes; ``docker build -`` reads the Dockerfile, or a tar of a whole
context, from standard input. pydock has no daemon: it reads the directory where it is, and
unpacks a tar context into a temporary directory. Either way COPY sees only the files the
ignore rules keep, and no path leads out of the context: neither ``../x`` nor a symbolic link
pointing outside is followed.
"""

import os
import posixpath
import re

from ..errors import InvalidArgument
from .errors import BuildError

DEFAULT_DOCKERFILE = "Dockerfile"
MAX_LINKS = 40  # symbolic links followed while resolving one path, as the kernel allows
TAR_MAGIC_OFFSET = 257


class ContextError(BuildError):
    """A COPY or ADD source that cannot be used: missing, excluded, or outside the context."""


class BuildContext:
    """A directory of context files, the Dockerfile text and the ignore rules.

    Paths handed to its methods are relative to the context root, written with ``/``.
    """

    def __init__(self, root, dockerfile_text, dockerfile_name, temporary=False):
        self.root = root
        self.dockerfile_text = dockerfile_text
        self.dockerfile_name = dockerfile_name
        self.temporary = temporary
        self.ignore = IgnoreRules.read(root) if root else IgnoreRules([])

    def close(self):
        """Remove the directory a tar context was unpacked into."""
        if self.temporary and self.root:
            import shutil

            shutil.rmtree(self.root, ignore_errors=True)

    def host_path(self, rel):
        return os.path.join(self.root, rel) if rel else self.root

    def lstat(self, rel):
        """The entry's own metadata, or None when it is missing or excluded by .dockerignore."""
        if not self.root or (rel and self.ignore.excludes(rel)):
            return None
        try:
            return os.lstat(self.host_path(rel))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def children(self, rel):
        """Names inside directory ``rel`` that the ignore rules keep (or that hold kept files)."""
        names = []
        for name in sorted(os.listdir(self.host_path(rel))):
            child = f"{rel}/{name}" if rel else name
            if not self.ignore.excludes(child) or self.ignore.may_keep_inside(child):
                names.append(name)
        return names

    def resolve(self, source):
        """The context path a COPY source names, with symbolic links followed inside the context.

        Raises :class:`ContextError` if the path, or a link on the way, leads outside.
        """
        if not self.root:
            raise ContextError(f"file not found in build context or excluded by .dockerignore: "
                               f"stat {source}: file does not exist")
        parts = [p for p in source.split("/") if p not in ("", ".")]
        resolved, links = [], 0
        while parts:
            name = parts.pop(0)
            if name == "..":
                if not resolved:
                    raise ContextError(f"forbidden path outside the build context: {source} ()")
                resolved.pop()
                continue
            path = os.path.join(self.root, *resolved, name)
            if os.path.islink(path):
                links += 1
                target = os.readlink(path)
                outside = posixpath.normpath(posixpath.join("/".join(resolved), target))
                if links > MAX_LINKS or target.startswith("/") or outside.split("/")[0] == "..":
                    raise ContextError(f"forbidden path outside the build context: {source} ({target})")
                parts = [p for p in target.split("/") if p not in ("", ".")] + parts
                continue
            resolved.append(name)
        return "/".join(resolved)

    def glob(self, pattern):
        """Context paths matching a wildcard source such as ``*.txt`` or ``src/*/main.c``."""
        regex = match_regex(pattern)
        found = []

        def walk(rel):
            for name in self.children(rel):
                child = f"{rel}/{name}" if rel else name
                if self.lstat(child) is not None and regex.fullmatch(child):
                    found.append(child)
                if os.path.isdir(self.host_path(child)) and not os.path.islink(self.host_path(child)):
                    walk(child)

        if self.root:
            walk("")
        return found


def open_context(path, dockerfile=None, dockerfile_text=None, stdin=None):
    """Find the context and the Dockerfile for ``build PATH|-`` and ``-f``; return a BuildContext.

    ``path`` is a directory, or ``-`` for standard input (``stdin``, a binary stream) holding
    either a Dockerfile or a tar of a context. ``dockerfile`` is the ``-f`` file (relative to
    the current directory, as the docker CLI reads it), or ``-`` to read it from ``stdin``.
    ``dockerfile_text`` gives the Dockerfile directly (the Jupyter ``%%dockerfile`` magic).
    """
    if path == "-":
        if dockerfile == "-":
            raise InvalidArgument("invalid argument: can't use stdin for both build context and dockerfile")
        data = stdin.read() if stdin is not None else b""
        if not _is_tar(data):
            return BuildContext(None, data.decode(errors="replace"), DEFAULT_DOCKERFILE)
        root = _unpack_tar_context(data)
        name = dockerfile or DEFAULT_DOCKERFILE
        try:
            return BuildContext(root, _read_text(name, name, root=root), os.path.basename(name), temporary=True)
        except BaseException:
            import shutil

            shutil.rmtree(root, ignore_errors=True)
            raise
    if not os.path.isdir(path):
        raise InvalidArgument(f'unable to prepare context: path "{path}" not found')
    root = os.path.abspath(path)
    if dockerfile_text is not None:
        return BuildContext(root, dockerfile_text, DEFAULT_DOCKERFILE)
    if dockerfile == "-":
        data = stdin.read() if stdin is not None else b""
        return BuildContext(root, data.decode(errors="replace"), DEFAULT_DOCKERFILE)
    if dockerfile:
        filename = os.path.abspath(dockerfile)
    else:
        filename = os.path.join(root, DEFAULT_DOCKERFILE)
        if not os.path.lexists(filename) and os.path.lexists(os.path.join(root, "dockerfile")):
            filename = os.path.join(root, "dockerfile")
    return BuildContext(root, _read_text(filename, filename), os.path.basename(filename))


def _read_text(filename, shown, root=None):
    """The Dockerfile's text. With ``root`` (a context that came as a tar), ``filename`` is a path in
    that context, opened inside it: a symlink, even one to ``/etc/...``, or ``..`` never leaves it."""
    try:
        fd = open_in_context(root, filename) if root else os.open(filename, os.O_RDONLY | os.O_CLOEXEC)
        with open(fd, "rb") as f:
            return f.read().decode(errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        raise InvalidArgument(f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                              f"lstat {shown}: no such file or directory") from None
    except IsADirectoryError:
        raise InvalidArgument(f"unable to prepare context: {shown} is a directory") from None
    except OSError as e:  # a link loop, or a FIFO or device (never opened for reading)
        raise InvalidArgument(f"unable to prepare context: {shown}: {e.strerror}") from None


def open_in_context(root, path):
    """An fd for reading the regular file ``path`` of the context at ``root``, resolved inside it
    (openat2 RESOLVE_IN_ROOT); FileNotFoundError when missing, IsADirectoryError for a directory."""
    import errno
    import stat

    from ..runtime import inroot

    root_fd = inroot.open_root(root)
    try:
        fd = inroot.open_in_root(root_fd, path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    finally:
        os.close(root_fd)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        raise OSError(errno.EINVAL, "not a regular file", path)
    return fd


def _is_tar(data):
    """Whether stdin held a tar (plain or compressed) rather than a Dockerfile."""
    return (data[:2] == b"\x1f\x8b" or data[:3] == b"BZh" or data[:6] == b"\xfd7zXZ\x00"
            or data[TAR_MAGIC_OFFSET:TAR_MAGIC_OFFSET + 5] == b"ustar")


def _unpack_tar_context(data):
    """Unpack a context tar from stdin into a new temporary directory; return its path."""
    import io
    import shutil
    import tempfile

    from .. import state
    from .archive import extract_into

    os.makedirs(state.path("builder"), exist_ok=True)
    root = tempfile.mkdtemp(prefix="context-", dir=state.path("builder"))
    try:
        extract_into(io.BytesIO(data), root, keep_owner=False)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root


# .dockerignore -------------------------------------------------------------------------------


class IgnoreRules:
    """The patterns of a ``.dockerignore`` file, matched as Docker matches them.

    One pattern a line; lines starting with ``#`` are comments. Patterns are cleaned like paths
    (``./a//b/`` is ``a/b``, a leading ``/`` is dropped) and use Go's ``filepath.Match`` syntax
    (``*`` and ``?`` never match ``/``, ``[a-z]`` classes, ``\\`` escapes) plus ``**``, any
    number of directories. ``!pattern`` makes an exception. The last pattern that matches a path,
    or one of its parent directories, decides: excluded, or kept by an exception.
    """

    def __init__(self, lines):
        self.patterns = []  # (regex, is_exception, cleaned text)
        for line in lines:
            if line.startswith("#"):
                continue
            line = line.strip()
            exception = line.startswith("!")
            if exception:
                line = line[1:].strip()
            if not line:
                continue
            cleaned = posixpath.normpath(line)
            if cleaned.startswith("/"):
                cleaned = cleaned.lstrip("/") or "/"
            self.patterns.append((ignore_regex(cleaned), exception, cleaned))

    @classmethod
    def read(cls, root):
        """The rules of the context at ``root`` (its ``.dockerignore``, found inside it), or none."""
        try:
            with open(open_in_context(root, ".dockerignore"), encoding="utf-8", errors="replace") as f:
                return cls(f.read().removeprefix("\ufeff").splitlines())
        except (FileNotFoundError, NotADirectoryError):
            return cls([])
        except OSError as e:
            raise InvalidArgument(f"unable to prepare context: .dockerignore: {e.strerror}") from None

    def excludes(self, rel):
        """True if the context path ``rel`` is left out of the build."""
        matched = False
        parents = rel.split("/")[:-1]
        for regex, exception, _ in self.patterns:
            if exception != matched:
                continue  # only a later pattern of the other kind can change the answer
            hit = regex.fullmatch(rel) is not None or any(
                regex.fullmatch("/".join(parents[:i + 1])) for i in range(len(parents)))
            if hit:
                matched = not exception
        return matched

    def may_keep_inside(self, rel):
        """Whether an exception pattern could keep something below the excluded directory ``rel``."""
        prefix = rel + "/"
        return any(exception and (text + "/").startswith(prefix) for _, exception, text in self.patterns)


def ignore_regex(pattern):
    """The regular expression for one cleaned .dockerignore pattern (Docker's patternmatcher)."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*" and pattern[i + 1:i + 2] == "*":
            i += 2
            if pattern[i:i + 1] == "/":
                i += 1
            out.append(".*" if i >= len(pattern) else "(.*/)?")
            continue
        out.append(_glob_piece(pattern, i))
        i += _glob_width(pattern, i)
    return re.compile("".join(out), re.DOTALL)


def match_regex(pattern):
    """The regular expression for Go's ``filepath.Match`` (COPY wildcards): ``*`` stays in a directory."""
    out, i = [], 0
    while i < len(pattern):
        out.append(_glob_piece(pattern, i))
        i += _glob_width(pattern, i)
    return re.compile("".join(out), re.DOTALL)


def _glob_width(pattern, i):
    if pattern[i] == "\\" and i + 1 < len(pattern):
        return 2
    if pattern[i] == "[":
        end = _class_end(pattern, i)
        return end - i + 1 if end > 0 else 1
    return 1


def _glob_piece(pattern, i):
    """The regex for the wildcard element at ``pattern[i]``."""
    char = pattern[i]
    if char == "*":
        return "[^/]*"
    if char == "?":
        return "[^/]"
    if char == "\\" and i + 1 < len(pattern):
        return re.escape(pattern[i + 1])
    if char == "[":
        end = _class_end(pattern, i)
        if end > 0:
            body = pattern[i + 1:end]
            return "[" + body + "]"
    return re.escape(char)


def _class_end(pattern, start):
    """Index of the ``]`` closing the character class opened at ``start``, or -1."""
    i = start + 1
    if pattern[i:i + 1] == "^":
        i += 1
    if pattern[i:i + 1] == "]":
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]":
            return i
        i += 1
    return -1
