"""rtnetlink through pyroute2, on the host or inside a container's network namespace.

Links, addresses and routes are changed with netlink messages (``RTM_NEWLINK``, ``RTM_NEWADDR``,
``RTM_NEWROUTE`` ...) sent on a ``NETLINK_ROUTE`` socket; pyroute2's ``IPRoute`` builds them. A
netlink socket acts on the network namespace it was opened in, and ``setns(2)`` with
``CLONE_NEWNET`` moves only the calling *thread*. So :func:`run` does each piece of work in a
short-lived helper thread which, when asked, first enters ``/proc/<pid>/ns/net``: the caller's own
namespace never changes. That thread has no asyncio loop running either, which pyroute2's
synchronous API needs (a Jupyter kernel runs one in its main thread).

pyroute2 is imported inside the thread: it costs a quarter of a second, and the CLI's start-up is
benchmarked.
"""

import ctypes
import os
import socket
import threading

from .. import explain
from ..errors import PydockError

CLONE_NEWNET = 0x40000000


def run(work, pid=None):
    """Call ``work(ipr)`` with an ``IPRoute`` opened in our namespace or in ``pid``'s; return its result."""
    outcome = {}

    def helper():
        try:
            if pid is not None:
                _enter_netns_of(pid)
            from pyroute2 import IPRoute

            with IPRoute() as ipr:
                outcome["value"] = work(ipr)
        except BaseException as error:  # handed to the calling thread below
            outcome["error"] = error

    thread = threading.Thread(target=helper, name="pydock-netlink")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def preload():
    """Import pyroute2 in a background thread, so it is ready by the time a container needs it.

    ``run`` calls this while the shim starts the container: the two overlap instead of adding up.
    """
    import importlib

    threading.Thread(target=importlib.import_module, args=("pyroute2",), daemon=True).start()


def _enter_netns_of(pid):
    """``setns(2)`` this thread into the network namespace of process ``pid``."""
    path = f"/proc/{pid}/ns/net"
    explain.step("setns", f"setns({path}, CLONE_NEWNET) in a helper thread")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise PydockError(f"cannot join the network namespace of process {pid}: no such process") from None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({path}): {os.strerror(errno)}")
    finally:
        os.close(fd)


def link_exists(name):
    """True if a network interface called ``name`` exists in this thread's namespace.

    ``if_nametoindex(3)`` is one ``ioctl(SIOCGIFINDEX)``: no pyroute2 needed for the question.
    """
    try:
        socket.if_nametoindex(name)
        return True
    except OSError:
        return False


def index_of(ipr, name):
    """The interface index of ``name`` (``ip link show NAME``)."""
    found = ipr.link_lookup(ifname=name)
    if not found:
        raise PydockError(f"network interface {name} not found")
    return found[0]
