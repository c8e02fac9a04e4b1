"""The engine's state on disk: one root directory of JSON records, written atomically under a lock.

Every record is replaced whole (write to a temporary file, then ``rename(2)``), so a reader sees
either the old or the new version, never half of one. Changes that must not interleave (taking a
name, updating a container's state) happen while holding ``flock(2)`` on ``<root>/lock``: the CLI,
a Jupyter kernel and the shims of running containers may all act at once.

The root is mode 0700, as Docker keeps ``/var/lib/docker``: no other user may even walk into it, so
nobody reaches a container's files (a setuid program made inside a container, its ``-e`` secrets in
the record, its log) by their host paths. Containers are not hindered: overlayfs reaches the layers
with the credentials of whoever mounted it, and a bind mount needs no walk through its source's parents.

A state file that cannot be read back (not JSON, not the shape its reader expects) is
:class:`Damaged`; readers report it once (:func:`report_damage`) and go on with the other objects.
"""

import contextlib
import errno
import fcntl
import json
import os
import sys

from . import explain
from .errors import PydockError

# A write that failed because the state root's filesystem refused it, not because of a bug.
WRITE_FAILURES = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO)

_checked_roots = set()
_reported = set()


class Damaged(PydockError, ValueError):
    """A state file whose content cannot be used: ``reason`` says why (a ValueError, as json's errors are)."""

    def __init__(self, filename, reason):
        super().__init__(f"damaged state file {filename}: {reason}")
        self.filename, self.reason = filename, reason


def root():
    """The state root: ``$PYDOCK_ROOT``, else ``/var/lib/pydock`` for root, ``~/.local/share/pydock`` for others.

    The first use in a process makes sure it exists and is private (see :func:`_make_private`)."""
    if os.environ.get("PYDOCK_ROOT"):
        directory = os.environ["PYDOCK_ROOT"]
    elif os.geteuid() == 0:
        directory = "/var/lib/pydock"
    else:
        directory = os.path.expanduser("~/.local/share/pydock")
    if directory not in _checked_roots:
        _make_private(directory)
        _checked_roots.add(directory)
    return directory


def _make_private(directory):
    """One ``stat(2)`` of the root: create it 0700 if missing, ``chmod 0700`` one that others could enter
    (made by an older pydock, or by hand). Everything below is then out of other users' reach."""
    import stat

    try:
        info = os.stat(directory)
    except FileNotFoundError:
        explain.step("file", f"mkdir -m 0700 {directory} (the state root: no other user may enter it)")
        try:
            os.makedirs(os.path.dirname(directory) or ".", exist_ok=True)
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        except OSError as e:
            raise PydockError(f"cannot create the state root {directory}: {e.strerror.lower()}") from None
        info = os.stat(directory)
    if info.st_uid != os.geteuid():
        raise PydockError(f"the state root {directory} belongs to another user (uid {info.st_uid})")
    if stat.S_IMODE(info.st_mode) & 0o077:
        explain.step("file", f"chmod 0700 {directory} (was {stat.S_IMODE(info.st_mode):04o}: other users "
                             "could reach containers' files through it)")
        os.chmod(directory, 0o700)


def path(*parts):
    return os.path.join(root(), *parts)


def read_json(filename, default=None):
    """The JSON document in ``filename`` (``default`` if there is none); :class:`Damaged` if unreadable."""
    try:
        with open(filename, "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return default
    except (ValueError, IsADirectoryError) as e:  # not JSON, not UTF-8, not a file
        raise Damaged(filename, str(e) or type(e).__name__) from None


def shape_problem(value, shape, name="record"):
    """Why ``value`` does not have ``shape``, or None if it does. A shape is a type, a tuple of types, or
    a dict of key -> shape (a key ending in ``?`` may be missing)."""
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{name} is not an object"
        for key, inner in shape.items():
            key, optional = key.rstrip("?"), key.endswith("?")
            if key not in value:
                if optional:
                    continue
                return f"{name}.{key} is missing"
            problem = shape_problem(value[key], inner, f"{name}.{key}")
            if problem:
                return problem
        return None
    if not isinstance(value, shape):
        return f"{name} is {type(value).__name__}, not {getattr(shape, '__name__', 'of the right type')}"
    return None


def report_damage(key, text):
    """Tell the user once per process (per ``key``, a file's name) about damaged or unwritable state."""
    if key not in _reported:
        _reported.add(key)
        sys.stderr.write(f"WARNING: {text}\n")


def write_json(filename, data):
    """Replace ``filename`` atomically with ``data`` as JSON."""
    write_bytes(filename, json.dumps(data, indent=1).encode())


def write_bytes(filename, data):
    """Replace ``filename`` atomically: write a temporary file, then rename it over the old one.

    When the write fails (a full disk), the temporary file is removed and the old file stays."""
    tmp = f"{filename}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, filename)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno in WRITE_FAILURES:
            raise write_failed(e, filename) from None
        raise


def write_failed(error, filename=None):
    """The one-line error for a write the state root's filesystem refused (``error.errno`` in WRITE_FAILURES)."""
    return PydockError(f"write {filename or error.filename or root()}: {os.strerror(error.errno).lower()}")


@contextlib.contextmanager
def writing():
    """Turn a refused write inside the block (a full disk) into :func:`write_failed`'s one-line error."""
    try:
        yield
    except OSError as e:
        if e.errno not in WRITE_FAILURES:
            raise
        raise write_failed(e) from None


@contextlib.contextmanager
def locked(name="lock"):
    """Hold an exclusive ``flock`` on ``<root>/<name>`` for the ``with`` block."""
    with writing():
        fd = os.open(path(name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
