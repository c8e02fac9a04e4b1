"""The Linux bridge behind a network: a virtual switch on the host with the gateway address.

Every container on the network has one end of a veth pair plugged into this bridge (see
:mod:`.veth`). The bridge carries the network's gateway address, so the host routes the subnet to
it and containers use it as their default gateway. Docker calls the default one ``docker0`` and
user-defined ones ``br-<id12>``; pydock uses ``pydock0`` and ``pd-<id12>`` so both live side by side.
"""

from .. import explain
from . import netlink, sysctl


def ensure(name, gateway, prefixlen):
    """Create bridge ``name`` with ``gateway/prefixlen`` and bring it up, unless it exists.

    Returns True when the bridge was created now (the caller then adds its firewall rules).
    """
    if netlink.link_exists(name):
        return False

    def work(ipr):
        explain.step("netlink", f"ip link add {name} type bridge")
        ipr.link("add", ifname=name, kind="bridge")
        index = netlink.index_of(ipr, name)
        explain.step("netlink", f"ip addr add {gateway}/{prefixlen} dev {name}")
        ipr.addr("add", index=index, address=gateway, prefixlen=prefixlen)
        explain.step("netlink", f"ip link set {name} up")
        ipr.link("set", index=index, state="up")

    netlink.run(work)
    # Let DNAT send packets that came from 127.0.0.1 out of this bridge (see ports.py).
    sysctl.write(f"net.ipv4.conf.{name}.route_localnet", 1)
    return True


def delete(name):
    """``ip link del NAME`` if it exists; the kernel unplugs any veth still attached."""
    if not netlink.link_exists(name):
        return

    def work(ipr):
        explain.step("netlink", f"ip link del {name}")
        ipr.link("del", index=netlink.index_of(ipr, name))

    netlink.run(work)
