"""Networks: the network subsystem's API, what the engine calls.

A network is a JSON record in ``<root>/networks/<id>.json`` shaped like Docker's ``network
inspect`` output, plus ``Endpoints``: for each attached container its address, MAC, veth, aliases
and published ports. Three networks always exist, as in Docker: ``bridge`` (the default, on the
Linux bridge ``pydock0``, 172.29.0.0/16), ``host`` (the container stays in the host's network
namespace) and ``none`` (loopback only). User-defined bridge networks get a bridge ``pd-<id12>``
(Docker's ``br-<id12>``) and a subnet of their own.

Connecting a container, in Linux terms: make sure the bridge is up with the gateway address and
its firewall rules; create a veth pair, plug one end into the bridge and move the other into the
container's network namespace, where it becomes ``eth0`` with a MAC, an address and a default
route; add the DNAT rules of its published ports; rewrite the hosts files of the containers that
share a user-defined network with it. Records change under ``<root>/network.lock``, a lock of its
own, so the engine may call in while holding its own ``lock``. A record that cannot be read back
(damaged by hand or by a disk error) is reported once and left out: the other networks still work.
"""

import ipaddress
import os

from .. import state
from ..timefmt import format_time
from ..errors import Conflict, InvalidArgument, NotFound, PydockError
from . import bridge, firewall, hosts, ipam, netlink, netns, ports, sysctl, veth

BUILTIN = ("bridge", "host", "none")
DEFAULT_BRIDGE = "pydock0"
BRIDGE_NAME = "com.docker.network.bridge.name"
SHAPE = {"Name": str, "Id": str, "Created": str, "Scope": str, "Driver": str, "Internal": bool,
         "IPAM": {"Config": list}, "Options": dict, "Labels": dict, "Endpoints": dict}
ENDPOINT = {"Name": str, "Hostname": str, "Aliases": list, "EndpointID": str, "Pid": int, "RequestedIP": str,
            "IPAddress": str, "IPPrefixLen": int, "Gateway": str, "MacAddress": str, "Interface": str,
            "HostVeth": str, "Ports": list, "ExposedPorts": list}
PORT = {"Proto": str, "ContainerPort": int, "HostIp": str, "HostPort": int}


class Networks:
    def __init__(self):
        self.dir = state.path("networks")

    # -- the networks themselves ------------------------------------------------------------

    def ensure_builtin(self):
        """Write the records of ``bridge``, ``host`` and ``none`` if missing (no device is made yet)."""
        with self._locked():
            self._ensure_builtin()

    def create(self, name, driver="bridge", subnet=None, gateway=None, ip_range=None,
               internal=False, labels=None):
        """``network create``: a record, a bridge with the gateway address, and its firewall rules."""
        if driver != "bridge":
            if driver in ("host", "null"):
                raise Conflict(f'only one instance of "{driver}" network is allowed')
            raise NotFound(f'plugin "{driver}" not found')
        if not name:
            raise InvalidArgument("network name must not be empty")
        with self._locked():
            records = self._ensure_builtin()
            if any(r["Name"] == name for r in records):
                raise Conflict(f"network with name {name} already exists")
            in_use = [ipaddress.ip_network(c["Subnet"]) for r in records for c in r["IPAM"]["Config"]]
            if subnet:
                entry = ipam.config(subnet, gateway, ip_range)
                ipam.refuse_overlap(ipaddress.ip_network(entry["Subnet"]), in_use)
            else:
                if gateway or ip_range:
                    ipam.config(None, gateway, ip_range)  # raises Docker's error
                entry = ipam.config(str(ipam.choose_subnet(in_use + ipam.host_networks())))
            record = _new_record(name, "bridge", [entry], internal, labels)
            record["Options"] = {BRIDGE_NAME: "pd-" + record["Id"][:12]}
            try:
                _bring_up(record)
                self._save(record)
            except BaseException:  # no bridge without a record, no record without a bridge
                _tear_down(record)
                raise
        _emit("network", "create", record["Id"], {"name": name, "type": "bridge"})
        return _docker_view(record)

    def list(self):
        """``network ls``/``GET /networks``: every network in Docker's inspect shape."""
        with self._locked():
            return [_docker_view(r) for r in self._ensure_builtin()]

    def get(self, ref):
        """``network inspect``: by full ID, name, or unique ID prefix; Docker's shape with ``Containers``."""
        with self._locked():
            return _docker_view(_lookup(self._ensure_builtin(), ref))

    def remove(self, ref):
        """``network rm``: delete the bridge, its rules and the record; refused while in use."""
        with self._locked():
            records = self._ensure_builtin()
            record = _lookup(records, ref)
            self._remove(record, records)
        _emit("network", "destroy", record["Id"], {"name": record["Name"], "type": record["Driver"]})

    def prune(self):
        """``network prune``: remove the user-defined networks no container uses; return their names."""
        removed = []
        with self._locked():
            records = self._ensure_builtin()
            for record in list(records):
                if record["Name"] not in BUILTIN and not record["Endpoints"]:
                    self._remove(record, records)
                    records.remove(record)
                    removed.append(record)
        for record in removed:
            _emit("network", "destroy", record["Id"], {"name": record["Name"], "type": "bridge"})
        return [r["Name"] for r in removed]

    def teardown(self):
        """Undo pydock's host networking where nothing uses it (records stay).

        Deletes the bridge and rules of every network without endpoints, and pydock's iptables
        chains once no bridge is left. The next connect rebuilds what it needs.
        """
        with self._locked():
            records = self._records()
            for record in records:
                if not record["Endpoints"]:
                    _tear_down(record)
            _drop_chains_if_unused(records)

    # -- containers -------------------------------------------------------------------------

    def check_ports_free(self, bindings):
        """Before a container starts: fail if a fixed host port of ``PortBindings`` is taken."""
        ports.check_ports_free(bindings, _published(self._records()))

    def check_endpoint(self, network, ip=None, aliases=()):
        """Refuse, as ``connect`` would, a network, ``--ip`` or alias that cannot work: called when a
        container is created or ``network connect`` is asked for a stopped one, so a start never
        fails on them halfway. Returns the network's name."""
        with self._locked():
            record = _lookup(self._ensure_builtin(), network)
        _check_request(record, ip, aliases)
        if ip and record["Driver"] == "bridge":
            ipam.check_requested(record["IPAM"]["Config"][0], ip)
        return record["Name"]

    def connect(self, container, pid, network, ip=None, aliases=(), primary=True):
        """Attach the running container ``pid`` (a container record) to ``network``.

        ``primary``: this network gives the default route and publishes the ports. Returns the
        endpoint in Docker's ``NetworkSettings.Networks[name]`` shape plus ``HostVeth``.
        """
        cid, name = container["Id"], container["Name"].lstrip("/")
        config = container.get("Config") or {}
        with self._locked():
            records = self._ensure_builtin()
            record = _lookup(records, network)
            if cid in record["Endpoints"]:
                raise Conflict(f"endpoint with name {name} already exists in network {record['Name']}")
            _check_request(record, ip, aliases)
            endpoint = {
                "Name": name, "Hostname": config.get("Hostname") or cid[:12], "Aliases": list(aliases),
                "EndpointID": os.urandom(32).hex(), "Pid": pid, "RequestedIP": ip or "",
                "IPAddress": "", "IPPrefixLen": 0, "Gateway": "", "MacAddress": "",
                "Interface": "", "HostVeth": "", "Ports": [],
                "ExposedPorts": sorted(config.get("ExposedPorts") or {}),
            }
            if record["Driver"] == "bridge":
                bindings = (container.get("HostConfig") or {}).get("PortBindings") or {}
                _plan(record, endpoint, cid, records, bindings, primary)
            # Recorded before anything is made: if we are killed halfway, release() finds what to undo.
            record["Endpoints"][cid] = endpoint
            self._save(record)
            try:
                if record["Driver"] == "bridge":
                    _wire(record, endpoint, primary)
                elif record["Driver"] == "null":
                    netns.loopback_only(pid)
            except BaseException:
                _unwire(record, record["Endpoints"].pop(cid))
                self._save(record)
                raise
            self._refresh_hosts(records, _neighbours(records, cid))
        _emit("network", "connect", record["Id"],
              {"container": cid, "name": record["Name"], "type": record["Driver"]})
        for mapping in endpoint["Ports"]:
            _emit("container", "publish", cid, {"name": name, "port": _describe(mapping)})
        return dict(_endpoint_settings(record, endpoint), HostVeth=endpoint["HostVeth"])

    def disconnect(self, container_id, network):
        """``network disconnect``: delete the container's veth (both ends), rules and address."""
        with self._locked():
            records = self._records()
            record = _lookup(records, network)
            if container_id not in record["Endpoints"]:
                raise Conflict(f"container {container_id} is not connected to network {record['Name']}")
            neighbours = _neighbours(records, container_id)
            _unwire(record, record["Endpoints"].pop(container_id))
            self._save(record)
            self._refresh_hosts(records, neighbours)
        _emit("network", "disconnect", record["Id"],
              {"container": container_id, "name": record["Name"], "type": record["Driver"]})

    def release(self, container_id, delete_links=True):
        """Undo every network attachment of a container that stopped or died.

        Idempotent, and safe after the container's namespace is gone (its veth died with it):
        only what still exists is deleted. The shim of a container whose last process just exited
        passes ``delete_links=False``: the kernel deletes the veth pairs itself when it dismantles
        the dead namespace, so there is no link to wait for (nor pyroute2 to load).
        """
        released = []
        with self._locked():
            records = self._records()
            neighbours = _neighbours(records, container_id)
            for record in records:
                endpoint = record["Endpoints"].pop(container_id, None)
                if endpoint is not None:
                    _unwire(record, endpoint, delete_links)
                    self._save(record)
                    released.append(record)
            if released:
                self._refresh_hosts(records, neighbours)
        for record in released:
            _emit("network", "disconnect", record["Id"],
                  {"container": container_id, "name": record["Name"], "type": record["Driver"]})

    def network_settings(self, container_id):
        """The container's ``NetworkSettings`` as Docker's ``inspect`` shows it.

        The top-level ``IPAddress``/``Gateway``/``MacAddress`` describe the default ``bridge``
        network only, as in Docker; ``Networks`` has every network.
        """
        networks, published, exposed, default, sandbox = {}, {}, set(), {}, ""
        for record in self._records():
            endpoint = record["Endpoints"].get(container_id)
            if endpoint is None:
                continue
            networks[record["Name"]] = _endpoint_settings(record, endpoint)
            sandbox = f"/proc/{endpoint['Pid']}/ns/net"
            exposed.update(endpoint["ExposedPorts"])
            published.update(ports.docker_view(endpoint["Ports"]))
            if record["Name"] == "bridge":
                default = endpoint
        return {
            "Bridge": "", "SandboxID": "", "SandboxKey": sandbox, "HairpinMode": False,
            "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
            "Ports": {**{port: None for port in sorted(exposed)}, **published},
            "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            "EndpointID": default.get("EndpointID", ""), "Gateway": default.get("Gateway", ""),
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
            "IPAddress": default.get("IPAddress", ""), "IPPrefixLen": default.get("IPPrefixLen", 0),
            "IPv6Gateway": "", "MacAddress": default.get("MacAddress", ""),
            "Networks": networks,
        }

    # -- records on disk --------------------------------------------------------------------

    def _locked(self):
        return state.locked("network.lock")

    def _records(self):
        try:
            names = sorted(os.listdir(self.dir))
        except FileNotFoundError:
            return []
        records = (load_record(os.path.join(self.dir, n)) for n in names if n.endswith(".json"))
        return [r for r in records if r is not None]

    def _save(self, record):
        with state.writing():
            os.makedirs(self.dir, exist_ok=True)
        state.write_json(os.path.join(self.dir, record["Id"] + ".json"), record)

    def _ensure_builtin(self):
        records = self._records()
        present = {r["Name"] for r in records}
        if "bridge" not in present:
            record = _new_record("bridge", "bridge", [ipam.config(ipam.DEFAULT_BRIDGE_SUBNET)], False, {})
            record["Options"] = {"com.docker.network.bridge.default_bridge": "true",
                                 BRIDGE_NAME: DEFAULT_BRIDGE}
            records.append(record)
        if "host" not in present:
            records.append(_new_record("host", "host", [], False, {}))
        if "none" not in present:
            records.append(_new_record("none", "null", [], False, {}))
        try:
            for record in records:
                if record["Name"] not in present:
                    self._save(record)
        except PydockError:
            pass  # a full disk: they are written by the next command that can
        return records

    def _remove(self, record, records):
        if record["Name"] in BUILTIN:
            raise Conflict(f"{record['Name']} is a pre-defined network and cannot be removed")
        if record["Endpoints"]:
            raise Conflict(
                f"error while removing network: network {record['Name']} id {record['Id']} "
                "has active endpoints"
            )
        _tear_down(record)
        os.unlink(os.path.join(self.dir, record["Id"] + ".json"))
        _drop_chains_if_unused([r for r in records if r is not record])

    def _refresh_hosts(self, records, container_ids):
        for cid in container_ids:
            hosts.write_in_place(state.path("containers", cid, "hosts"), _hosts_text(records, cid))


def load_record(filename):
    """A network record from disk, or None (reported once) if it is damaged."""
    try:
        record = state.read_json(filename)
        problem = None if record is None else _problem(record, filename)
    except state.Damaged as e:
        record, problem = None, e.reason
    if problem:
        state.report_damage(filename, f"network record {filename} is damaged ({problem}): left out")
        return None
    return record


def _problem(record, filename):
    """Why a network record read from disk cannot be used, or None."""
    problem = state.shape_problem(record, SHAPE, "network")
    if problem:
        return problem
    if os.path.basename(filename) != record["Id"] + ".json":
        return "its Id is not its file's name"
    for entry in record["IPAM"]["Config"]:
        problem = state.shape_problem(entry, {"Subnet": str, "Gateway": str}, "network.IPAM.Config[]")
        if problem:
            return problem
        try:
            ipaddress.ip_network(entry["Subnet"]), ipaddress.ip_address(entry["Gateway"])
        except ValueError as e:
            return str(e)
    bridge_name = record["Options"].get(BRIDGE_NAME)
    if record["Driver"] == "bridge" and not (record["IPAM"]["Config"] and isinstance(bridge_name, str)):
        return "a bridge network without a subnet or a bridge name"
    for endpoint in record["Endpoints"].values():
        problem = state.shape_problem(endpoint, ENDPOINT, "network.Endpoints[]")
        for mapping in [] if problem else endpoint["Ports"]:
            problem = problem or state.shape_problem(mapping, PORT, "network.Endpoints[].Ports[]")
        if problem:
            return problem
    return None


# -- wiring one container -------------------------------------------------------------------


def _check_request(record, ip, aliases):
    if record["Name"] in BUILTIN and ip:
        raise InvalidArgument("user specified IP address is supported on user defined networks only")
    if record["Name"] in BUILTIN and aliases:
        raise InvalidArgument("network-scoped alias is supported only for containers in user defined networks")


def _plan(record, endpoint, cid, records, bindings, primary):
    """Choose the endpoint's address, interface names and published ports (nothing is made yet).

    On its ``primary`` network the container also gets its default route (unless the network is
    internal) and its published ports.
    """
    entry = record["IPAM"]["Config"][0]
    used = [e["IPAddress"] for e in record["Endpoints"].values()]
    address = ipam.allocate(entry, used, endpoint["RequestedIP"] or None)
    if address is None:
        raise PydockError(
            f"no available IPv4 addresses on this network's address pools: "
            f"{record['Name']} ({record['Id']})"
        )
    taken_names = {e["Interface"] for r in records for c, e in r["Endpoints"].items() if c == cid}
    host_end = veth.new_name()
    endpoint.update(
        IPAddress=address, IPPrefixLen=ipaddress.ip_network(entry["Subnet"]).prefixlen,
        Gateway=entry["Gateway"], MacAddress=ipam.mac_address(address), HostVeth=host_end,
        Interface=next(f"eth{n}" for n in range(len(taken_names) + 1) if f"eth{n}" not in taken_names),
    )
    if primary and not record["Internal"]:
        endpoint["Ports"] = ports.resolve(bindings, _published(records))


def _wire(record, endpoint, primary):
    """Give the container its planned address on ``record``'s bridge, a veth into it, and its ports."""
    entry = record["IPAM"]["Config"][0]
    outbound = primary and not record["Internal"]
    peer = veth.peer_name(endpoint["HostVeth"])
    _bring_up(record)
    veth.plug(endpoint["HostVeth"], peer, _bridge_of(record), endpoint["Pid"])
    netns.configure(endpoint["Pid"], peer, endpoint["Interface"], endpoint["MacAddress"], endpoint["IPAddress"],
                    endpoint["IPPrefixLen"], gateway=entry["Gateway"] if outbound else None)
    for mapping in endpoint["Ports"]:
        firewall.add_port(_bridge_of(record), endpoint["IPAddress"], mapping)


def _unwire(record, endpoint, delete_links=True):
    """Remove the endpoint's DNAT rules and its veth pair, whatever of them still exists."""
    for mapping in endpoint["Ports"]:
        firewall.remove_port(_bridge_of(record), endpoint["IPAddress"], mapping)
    if endpoint["HostVeth"] and delete_links:
        veth.delete(endpoint["HostVeth"])


def _bring_up(record):
    """Create the network's bridge, with its gateway address and firewall rules, if missing."""
    entry = record["IPAM"]["Config"][0]
    name = _bridge_of(record)
    if bridge.ensure(name, entry["Gateway"], ipaddress.ip_network(entry["Subnet"]).prefixlen):
        firewall.add_network(name, entry["Subnet"], record["Internal"])
        if not record["Internal"]:
            sysctl.write("net.ipv4.ip_forward", 1)  # let the host route between bridge and world


def _tear_down(record):
    if record["Driver"] == "bridge":
        name = _bridge_of(record)
        firewall.remove_network(name, record["IPAM"]["Config"][0]["Subnet"], record["Internal"])
        bridge.delete(name)


def _drop_chains_if_unused(records):
    if not any(r["Driver"] == "bridge" and netlink.link_exists(_bridge_of(r)) for r in records):
        firewall.teardown_all()


def _bridge_of(record):
    return record["Options"][BRIDGE_NAME]


# -- views and lookups -----------------------------------------------------------------------


def _new_record(name, driver, ipam_config, internal, labels):
    return {
        "Name": name, "Id": os.urandom(32).hex(), "Created": format_time(),
        "Scope": "local", "Driver": driver, "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": {}, "Config": ipam_config},
        "Internal": bool(internal), "Attachable": False, "Ingress": False,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
        "Options": {}, "Labels": dict(labels or {}), "Endpoints": {},
    }


def _lookup(records, ref):
    """Docker's order: full ID, then name, then a unique ID prefix."""
    for key in ("Id", "Name"):
        for record in records:
            if record[key] == ref:
                return record
    matches = [r for r in records if ref and r["Id"].startswith(ref)]
    if len(matches) > 1:
        raise InvalidArgument(f"network {ref} is ambiguous ({len(matches)} matches found based on ID prefix)")
    if not matches:
        raise NotFound(f"network {ref} not found")
    return matches[0]


def _docker_view(record):
    view = {k: v for k, v in record.items() if k != "Endpoints"}
    view["Containers"] = {
        cid: {
            "Name": e["Name"], "EndpointID": e["EndpointID"], "MacAddress": e["MacAddress"],
            "IPv4Address": f"{e['IPAddress']}/{e['IPPrefixLen']}" if e["IPAddress"] else "",
            "IPv6Address": "",
        }
        for cid, e in record["Endpoints"].items()
    }
    return view


def _endpoint_settings(record, endpoint):
    """Docker's ``EndpointSettings`` (API 1.43)."""
    return {
        "IPAMConfig": {"IPv4Address": endpoint["RequestedIP"]} if endpoint["RequestedIP"] else None,
        "Links": None, "Aliases": endpoint["Aliases"] or None,
        "NetworkID": record["Id"], "EndpointID": endpoint["EndpointID"],
        "Gateway": endpoint["Gateway"], "IPAddress": endpoint["IPAddress"],
        "IPPrefixLen": endpoint["IPPrefixLen"], "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "MacAddress": endpoint["MacAddress"], "DriverOpts": None,
    }


def _published(records):
    """``(proto, host ip, host port)`` of every port pydock publishes now."""
    return {
        (m["Proto"], m["HostIp"], m["HostPort"])
        for r in records for e in r["Endpoints"].values() for m in e["Ports"]
    }


def _neighbours(records, cid):
    """``cid`` and every container sharing a user-defined network with it: whose hosts file changes."""
    found = {cid}
    for record in records:
        if record["Name"] not in BUILTIN and cid in record["Endpoints"]:
            found.update(record["Endpoints"])
    return found


def _hosts_text(records, cid):
    """The container's hosts file: its own addresses, then its peers on user-defined networks."""
    own, peers = [], []
    for record in records:
        endpoint = record["Endpoints"].get(cid)
        if endpoint is None:
            continue
        if record["Driver"] == "host":
            return hosts.host_copy()
        if record["Name"] in BUILTIN:
            own.append((endpoint["IPAddress"], [endpoint["Hostname"]]))
            continue
        names = [endpoint["Hostname"], endpoint["Name"], *endpoint["Aliases"]]
        own.append((endpoint["IPAddress"], list(dict.fromkeys(names))))
        for other, peer in record["Endpoints"].items():
            if other != cid:
                peers.append((peer["IPAddress"], [peer["Name"], *peer["Aliases"]]))
    return hosts.render([(ip, names) for ip, names in own if ip] + peers)


def _describe(mapping):
    return f"{mapping['HostIp']}:{mapping['HostPort']}->{mapping['ContainerPort']}/{mapping['Proto']}"


def _emit(type_, action, actor, attributes):
    """Report an engine event, if the engine's event stream is available."""
    try:
        from ..events import emit
    except ImportError:
        return
    emit(type_, action, actor, attributes)
