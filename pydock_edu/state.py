"""The engine's state on disk: one root directory of JSON records, written atomically under a lock.

Every record is replaced whole (write to a temporary file, then ``rename(2)``), so a reader sees
either the old or the new version, never half of one. Changes that must not interleave (taking a
name, updating a container's state) happen while holding ``flock(2)`` on ``<root>/lock``: the CLI,
a Jupyter kernel and the shims of running containers may all act at once.
"""

import contextlib
import fcntl
import json
import os


def root():
    """The state root: ``$PYDOCK_ROOT``, else ``/var/lib/pydock`` for root, ``~/.local/share/pydock`` for others."""
    if os.environ.get("PYDOCK_ROOT"):
        return os.environ["PYDOCK_ROOT"]
    if os.geteuid() == 0:
        return "/var/lib/pydock"
    return os.path.expanduser("~/.local/share/pydock")


def path(*parts):
    return os.path.join(root(), *parts)


def read_json(filename, default=None):
    try:
        with open(filename, "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return default


def write_json(filename, data):
    """Replace ``filename`` atomically with ``data`` as JSON."""
    write_bytes(filename, json.dumps(data, indent=1).encode())


def write_bytes(filename, data):
    tmp = f"{filename}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, filename)


@contextlib.contextmanager
def locked(name="lock"):
    """Hold an exclusive ``flock`` on ``<root>/<name>`` for the ``with`` block."""
    os.makedirs(root(), exist_ok=True)
    fd = os.open(path(name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
