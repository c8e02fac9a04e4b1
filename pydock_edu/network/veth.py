"""veth pairs: the virtual cable between a container and its network's bridge.

A veth pair is two network interfaces joined back to back: a frame sent into one comes out of the
other. One end stays on the host, plugged into the bridge (``veth<7 hex>``, as Docker names it);
the other is moved into the container's network namespace, where :mod:`.netns` renames it ``eth0``.
When either end is deleted, or its namespace dies with the container, the kernel deletes both.
"""

import errno
import os

from .. import explain
from . import netlink


def new_name():
    """A fresh name for a pair's host end, under the 15-character limit."""
    return "veth" + os.urandom(4).hex()[:7]


def peer_name(host_end):
    """The temporary name of the pair's container end (renamed ``ethN`` in the container)."""
    return "vpeer" + host_end[len("veth"):]


def plug(host_end, peer, bridge, pid):
    """Create the pair with ``host_end`` plugged into ``bridge`` and ``peer`` already in ``pid``'s
    network namespace, in one netlink request: no moment exists where both ends are on the host
    (a pair that would outlive a start cut short there). Then bring the host end up."""

    def work(ipr):
        explain.step("netlink", f"ip link add {host_end} master {bridge} type veth peer name {peer} netns {pid}")
        ipr.link("add", ifname=host_end, kind="veth", master=netlink.index_of(ipr, bridge),
                 peer={"ifname": peer, "net_ns_pid": pid})
        explain.step("netlink", f"ip link set {host_end} up")
        ipr.link("set", index=netlink.index_of(ipr, host_end), state="up")

    netlink.run(work)


def delete(host_end):
    """``ip link del`` the host end if it still exists (its peer goes with it).

    The pair may vanish while we look: the kernel dismantles a dead container's namespace, and
    the veth pairs in it, shortly after its last process has exited.
    """
    if not netlink.link_exists(host_end):
        return

    def work(ipr):
        from pyroute2 import NetlinkError

        found = ipr.link_lookup(ifname=host_end)
        if found:
            explain.step("netlink", f"ip link del {host_end}")
            try:
                ipr.link("del", index=found[0])
            except NetlinkError as error:
                if error.code != errno.ENODEV:
                    raise

    netlink.run(work)
