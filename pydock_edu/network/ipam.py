"""IPAM (IP address management): which subnet a network gets, which address a container gets.

A bridge network owns one IPv4 subnet. Its first host address (``.1``) is the gateway, carried by
the bridge; containers get the lowest free address of the subnet, or of ``--ip-range`` when given.
Automatic subnets come from a pool and must overlap neither another pydock network nor anything
the host already routes (its own addresses, Docker's bridges, a VPN ...): the kernel could not
tell where to send a packet for an address that two interfaces claim.
"""

import ipaddress
import socket

from ..errors import Conflict, InvalidArgument, PydockError
from . import netlink

DEFAULT_BRIDGE_SUBNET = "172.29.0.0/16"  # not Docker's 172.17.0.0/16, so both fit on one host


def pool():
    """Candidate subnets for ``network create`` without ``--subnet``, in order of preference."""
    yield ipaddress.ip_network("172.30.0.0/16")
    yield ipaddress.ip_network("172.31.0.0/16")
    for third in range(256):
        yield ipaddress.ip_network(f"10.210.{third}.0/24")


def host_networks():
    """Every IPv4 prefix the host routes or has an address in (``ip route``, ``ip addr``)."""

    def work(ipr):
        found = []
        for route in ipr.get_routes(family=socket.AF_INET):
            if route["dst_len"]:
                found.append(f"{route.get_attr('RTA_DST')}/{route['dst_len']}")
        for addr in ipr.get_addr(family=socket.AF_INET):
            found.append(f"{addr.get_attr('IFA_ADDRESS')}/{addr['prefixlen']}")
        return found

    return [ipaddress.ip_network(prefix, strict=False) for prefix in netlink.run(work)]


def choose_subnet(in_use):
    """The first pool subnet overlapping none of ``in_use``."""
    for candidate in pool():
        if not any(candidate.overlaps(taken) for taken in in_use):
            return candidate
    raise PydockError(
        "could not find an available, non-overlapping IPv4 address pool among the defaults "
        "to assign to the network"
    )


def refuse_overlap(subnet, in_use):
    """Docker's error when an explicit ``--subnet`` overlaps another network's."""
    if any(subnet.overlaps(taken) for taken in in_use):
        raise Conflict("invalid pool request: Pool overlaps with other one on this address space")


def config(subnet, gateway=None, ip_range=None):
    """Check ``--subnet/--gateway/--ip-range`` as Docker does; return an IPAM ``Config`` entry."""
    if subnet is None:
        raise InvalidArgument("every ip-range or gateway must have a corresponding subnet")
    network = _network(subnet)
    if gateway:
        gateway_ip = _address(gateway)
        if gateway_ip not in network:
            raise InvalidArgument(f"no matching subnet for gateway {gateway}")
    else:
        gateway_ip = network.network_address + 1
    entry = {"Subnet": str(network), "Gateway": str(gateway_ip)}
    if ip_range:
        addresses = _network(ip_range)
        if not addresses.subnet_of(network):
            raise InvalidArgument(f"no matching subnet for range {ip_range}")
        entry["IPRange"] = str(addresses)
    return entry


def allocate(entry, used, wanted=None):
    """An address for a container: ``wanted`` if free, else the lowest free one in the range."""
    network = ipaddress.ip_network(entry["Subnet"])
    reserved = {network.network_address, network.broadcast_address, ipaddress.ip_address(entry["Gateway"])}
    taken = reserved | {ipaddress.ip_address(ip) for ip in used}
    if wanted:
        address = check_requested(entry, wanted)
        if address in taken:
            raise Conflict("Address already in use")
        return str(address)
    for address in ipaddress.ip_network(entry.get("IPRange") or entry["Subnet"]):
        if address not in taken:
            return str(address)
    return None


def check_requested(entry, wanted):
    """A user's ``--ip``: an IPv4 address inside the network's subnet (checked at create and
    ``network connect``, before anything is made, and again when the address is taken)."""
    address = _address(wanted)
    if address not in ipaddress.ip_network(entry["Subnet"]):
        raise InvalidArgument(f"Invalid address {wanted}: It does not belong to any of this network's subnets")
    return address


def mac_address(ip):
    """Docker's MAC for an IPv4 address: ``02:42`` (locally administered) then the 4 address bytes."""
    return "02:42:" + ":".join(f"{byte:02x}" for byte in ipaddress.ip_address(ip).packed)


def _network(text):
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid CIDR address: {text}") from None
    if network.version != 4:
        raise InvalidArgument(f"only IPv4 subnets are supported: {text}")
    return network


def _address(text):
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise InvalidArgument(f"invalid IPv4 address: {text}") from None
