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


def new_names():
    """A fresh (host end, temporary peer) name pair, both under the 15-character limit."""
    suffix = os.urandom(4).hex()[:7]
    return f"veth{suffix}", f"vpeer{suffix}"


def plug(host_end, peer, bridge, pid):
    """Create the pair, plug ``host_end`` into ``bridge`` and move ``peer`` into ``pid``'s namespace."""

    def work(ipr):
        explain.step("netlink", f"ip link add {host_end} type veth peer name {peer}")
        ipr.link("add", ifname=host_end, kind="veth", peer=peer)
        host_index = netlink.index_of(ipr, host_end)
        explain.step("netlink", f"ip link set {host_end} master {bridge}")
        ipr.link("set", index=host_index, master=netlink.index_of(ipr, bridge))
        explain.step("netlink", f"ip link set {host_end} up")
        ipr.link("set", index=host_index, state="up")
        explain.step("netlink", f"ip link set {peer} netns {pid}")
        ipr.link("set", index=netlink.index_of(ipr, peer), net_ns_pid=pid)

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
