"""The explain trace: every low-level step reports itself here, from the code that makes it.

A step is a category ("unshare", "mount", "cgroup", "netlink", "iptables", "signal", ...) and a
line of text. Front ends subscribe with :func:`tracing`; ``pydock --explain`` prints each step.
A child process (the shim, the container's init) inherits ``PYDOCK_EXPLAIN_FD`` and writes its
steps to that pipe; the engine reads them back with :func:`relay` so they reach the same sinks.
"""

import contextlib
import os

_sinks = []
_fd = None


def enabled():
    """True when someone listens: worth building an expensive description."""
    return bool(_sinks) or _fd is not None


def step(category, text):
    """Report one low-level step as it is made."""
    for sink in list(_sinks):
        sink(category, text)
    if _fd is not None:
        try:
            os.write(_fd, f"{category}\t{text}\n".encode())
        except OSError:
            pass  # nobody reads any more (a detached run's client has gone)


@contextlib.contextmanager
def tracing(sink):
    """Call ``sink(category, text)`` for every step made inside the ``with`` block."""
    _sinks.append(sink)
    try:
        yield
    finally:
        _sinks.remove(sink)


def write_to_inherited_fd():
    """In a child process: send steps to the pipe named by ``PYDOCK_EXPLAIN_FD``, if any."""
    global _fd
    value = os.environ.pop("PYDOCK_EXPLAIN_FD", None)
    if value:
        _fd = int(value)


def close_inherited_fd():
    global _fd
    if _fd is not None:
        os.close(_fd)
        _fd = None


def relay(lines):
    """Re-emit steps that a child process wrote as ``category<TAB>text`` lines."""
    for line in lines:
        category, _, text = line.partition("\t")
        if text:
            step(category, text)
