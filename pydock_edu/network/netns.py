"""Inside the container's network namespace: the container's side of the wiring.

A new network namespace has only ``lo``, and it is down. For each network the container joins,
the peer end of a veth pair arrives here under a temporary name; it is renamed ``eth0`` (``eth1``
for a second network ...), given a MAC address, its IP address and a default route through the
bridge's gateway address.
"""

from .. import explain
from . import netlink


def configure(pid, peer, ifname, mac, address, prefixlen, gateway=None):
    """Turn ``peer`` into ``ifname`` with ``address/prefixlen`` in ``pid``'s namespace.

    With ``gateway`` a default route is added through it (the container's primary network).
    Loopback is brought up too.
    """

    def work(ipr):
        index = netlink.index_of(ipr, peer)
        explain.step("netlink", f"[netns of {pid}] ip link set {peer} name {ifname}")
        ipr.link("set", index=index, ifname=ifname)
        explain.step("netlink", f"[netns of {pid}] ip link set {ifname} address {mac}")
        ipr.link("set", index=index, address=mac)
        explain.step("netlink", f"[netns of {pid}] ip addr add {address}/{prefixlen} dev {ifname}")
        ipr.addr("add", index=index, address=address, prefixlen=prefixlen)
        explain.step("netlink", f"[netns of {pid}] ip link set {ifname} up")
        ipr.link("set", index=index, state="up")
        if gateway:
            explain.step("netlink", f"[netns of {pid}] ip route add default via {gateway} dev {ifname}")
            ipr.route("add", dst="0.0.0.0/0", gateway=gateway, oif=index)
        _loopback_up(ipr, pid)

    netlink.run(work, pid=pid)


def loopback_only(pid):
    """Bring up ``lo`` in ``pid``'s namespace: all a container on the ``none`` network gets."""
    netlink.run(lambda ipr: _loopback_up(ipr, pid), pid=pid)


def _loopback_up(ipr, pid):
    explain.step("netlink", f"[netns of {pid}] ip link set lo up")
    ipr.link("set", index=netlink.index_of(ipr, "lo"), state="up")
