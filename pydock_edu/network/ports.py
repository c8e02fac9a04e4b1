"""Publishing container ports on the host (``-p``, ``-P``): parsing, choosing host ports, checking them.

How a published port is reached -- pydock's choice, Docker's ``--userland-proxy=false`` design:

* No proxy process. One DNAT rule per port in the ``nat`` chain ``PYDOCK`` (see :mod:`.firewall`)
  rewrites the destination ``hostIp:hostPort`` to ``containerIp:containerPort``. That chain is
  entered from ``PREROUTING`` (packets arriving from other machines or namespaces) and from
  ``OUTPUT`` (connections made on the host itself), both only for destinations that are the
  host's own addresses (``-m addrtype --dst-type LOCAL``), 127.0.0.1 included.
* A connection to 127.0.0.1:hostPort has source 127.0.0.1 as well. After DNAT it must leave by
  the bridge, which the kernel refuses for a loopback source unless
  ``net.ipv4.conf.<bridge>.route_localnet=1``; and the container could not answer 127.0.0.1, so a
  ``MASQUERADE`` rule for ``-s 127.0.0.0/8 -o <bridge>`` gives the packet the bridge's address.
  Conntrack undoes both rewrites on the replies.

Docker instead runs a ``docker-proxy`` process per port for loopback; rules cost no process and
no memory, and they vanish with the network namespace. As no process listens on a published
port, "is it free?" asks two questions: does any host socket bind it (a test ``bind(2)``), and
does a pydock container already publish it (the network records).
"""

import ipaddress
import socket

from ..errors import Conflict, InvalidArgument

PROTOCOLS = ("tcp", "udp")


def parse_publish(specs):
    """Parse ``-p`` values as Docker does: ``(ExposedPorts, PortBindings)``.

    ``[ip:][hostPort:]containerPort[/proto]`` where ports may be ranges of equal length, or a host
    range with a single container port (one free port of that range is chosen at start).
    ``{"80/tcp": {}}``, ``{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}``.
    """
    exposed, bindings = {}, {}
    for spec in specs:
        for port, binding in _parse_one(spec):
            exposed[port] = {}
            bindings.setdefault(port, []).append(binding)
    return exposed, bindings


def publish_all(exposed_ports):
    """``-P``: bind every exposed port to a host port chosen at start (an empty ``HostPort``)."""
    return {port: [{"HostIp": "", "HostPort": ""}] for port in exposed_ports}


def resolve(bindings, taken):
    """Turn ``PortBindings`` into concrete mappings, choosing a free host port where none is fixed.

    Returns ``[{"Proto", "ContainerPort", "HostIp", "HostPort"}]`` (ports as ints); ``taken`` is
    the set of ``(proto, host_ip, host_port)`` already published by pydock.
    """
    taken = set(taken)
    mappings = []
    for port, port_bindings in bindings.items():
        number, proto = _split_proto(port)
        for binding in port_bindings or []:
            host_ip = binding.get("HostIp") or "0.0.0.0"
            host_port = _choose(proto, host_ip, binding.get("HostPort") or "", taken)
            taken.add((proto, host_ip, host_port))
            mappings.append(
                {"Proto": proto, "ContainerPort": int(number), "HostIp": host_ip, "HostPort": host_port}
            )
    return mappings


def check_ports_free(bindings, taken=()):
    """Fail now, before a container starts, if a fixed host port is already in use.

    Ports left to choose (empty ``HostPort``) are always found at start.
    """
    resolve({port: [b for b in port_bindings or [] if _is_fixed(b.get("HostPort"))]
             for port, port_bindings in bindings.items()}, taken)


def docker_view(mappings):
    """Mappings as Docker's ``NetworkSettings.Ports`` values: ``{"80/tcp": [{"HostIp", "HostPort"}]}``."""
    ports = {}
    for m in mappings:
        key = f"{m['ContainerPort']}/{m['Proto']}"
        ports.setdefault(key, []).append({"HostIp": m["HostIp"], "HostPort": str(m["HostPort"])})
    return ports


def _parse_one(spec):
    ip, host_port, container = _split_parts(spec)
    number, _, proto = container.partition("/")
    if not number:
        raise InvalidArgument(f"no port specified: {spec}<empty>")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise InvalidArgument(f"invalid proto: {proto}")
    if ip:
        ip = ip.strip("[]")
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise InvalidArgument(f"invalid IP address: {ip}") from None
        if ":" in ip:
            raise InvalidArgument(f"publishing on an IPv6 address is not supported: {ip}")
    start, end = _range(number, f"invalid containerPort: {number}")
    if start == 0:
        raise InvalidArgument(f'invalid port specification: "{number}"')
    host_start = host_end = None
    if host_port:
        host_start, host_end = _range(host_port, f"invalid hostPort: {host_port}")
        if end - start != host_end - host_start and end != start:
            raise InvalidArgument(
                f"invalid ranges specified for container and host Ports: {number} and {host_port}"
            )
    count = end - start + 1
    for i in range(count):
        if host_start is None:
            chosen = ""
        elif count == 1 and host_end != host_start:
            chosen = f"{host_start}-{host_end}"  # pick one of the range at start
        else:
            chosen = str(host_start + i)
        yield f"{start + i}/{proto}", {"HostIp": ip, "HostPort": chosen}


def _split_parts(spec):
    """``ip:host:container`` from the right, so an IPv6 ``[::1]`` may contain colons."""
    parts = spec.rsplit(":", 2)
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return parts[0], parts[1], parts[2]


def _range(text, message):
    low, _, high = text.partition("-")
    try:
        start, end = int(low), int(high or low)
    except ValueError:
        raise InvalidArgument(message) from None
    if not 0 <= start <= end <= 65535:
        raise InvalidArgument(message)
    return start, end


def _split_proto(port):
    number, _, proto = port.partition("/")
    return number, proto or "tcp"


def _is_fixed(host_port):
    return bool(host_port) and "-" not in host_port and host_port != "0"


def _choose(proto, host_ip, host_port, taken):
    """A host port: the fixed one if free, else a free one of the range, else any free one."""
    if _is_fixed(host_port):
        port = int(host_port)
        reason = _busy(proto, host_ip, port, taken)
        if reason:
            raise Conflict(reason)
        return port
    if host_port and host_port != "0":
        low, high = _range(host_port, f"invalid hostPort: {host_port}")
        for port in range(low, high + 1):
            if not _busy(proto, host_ip, port, taken):
                return port
        raise Conflict(f"Bind for {host_ip}:{host_port} failed: port range is already allocated")
    while True:  # let the kernel pick an ephemeral port, then make sure pydock does not publish it
        port = _kernel_pick(proto, host_ip)
        if not _published(proto, host_ip, port, taken):
            return port


def _busy(proto, host_ip, port, taken):
    """Why ``port`` cannot be published (pydock publishes it, or ``bind(2)`` fails), or None."""
    if _published(proto, host_ip, port, taken):
        return f"Bind for {host_ip}:{port} failed: port is already allocated"
    with _socket(proto) as s:
        try:
            s.bind((host_ip, port))
        except OSError as error:
            return f"failed to bind port {host_ip}:{port}/{proto}: {error.strerror}"
    return None


def _kernel_pick(proto, host_ip):
    with _socket(proto) as s:
        s.bind((host_ip, 0))
        return s.getsockname()[1]


def _published(proto, host_ip, port, taken):
    return any(
        p == proto and n == port and (ip == host_ip or "0.0.0.0" in (ip, host_ip))
        for p, ip, n in taken
    )


def _socket(proto):
    if proto == "udp":
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT leftovers
    return s
