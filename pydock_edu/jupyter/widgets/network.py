"""The network topology: bridges, veth pairs, container addresses, published ports, and the modes.

What the kernel has, drawn as it is:

- the host's network namespace holds the bridges (``pydock0`` for the ``bridge`` network,
  ``pd-<id>`` for user-defined ones), each with its gateway address, and the host end of every veth
  pair, plugged into a bridge;
- each container with ``bridge`` or a user-defined network has a network namespace of its own with
  ``lo`` and, per network, the other end of a veth pair (``eth0``, ``eth1``...) with its address;
- a published port is a DNAT rule from a host address and port to the container's address;
- ``--network host`` puts the container in the host's namespace; ``--network none`` gives it a
  namespace with only ``lo``; ``--network container:web`` puts it in ``web``'s namespace.

Networks come from :class:`pydock_edu.network.manager.Networks`, containers from their records.
"""

import os

from .picture import Graph, Picture

HOST = "host"


class Topology(Picture):
    """Every running container's place in the network, with the host's bridges and veth pairs."""

    def concerns(self, event):
        return event["Type"] == "network" or event["Type"] == "container" and event["Action"] in (
            "start", "die", "destroy", "pause", "unpause", "rename", "publish")

    def draw(self):
        from ...network.manager import Networks

        networks = sorted(Networks().list(), key=lambda n: n["Name"])
        cables = _cables(Networks().dir)
        running = sorted((r for r in self.engine.containers() if r["State"]["Running"]), key=_name)
        by_id = {r["Id"]: r for r in running}
        graph = Graph(rankdir="LR")
        graph.cluster(HOST, "host network namespace", style="rounded", color="gray40")
        text = ["host network namespace"]
        for network in networks:
            if network["Driver"] == "bridge":
                text += _bridge(graph, network, cables, by_id)
        namespaces, text_after = _namespaces(graph, running, cables)
        for record in running:
            for key, bindings in sorted((record["NetworkSettings"].get("Ports") or {}).items()):
                text += _published(graph, record, key, bindings or [], namespaces, cables)
        for record in running:
            if record["HostConfig"]["NetworkMode"] == "host":
                graph.node("ctr:" + _name(record), f"{_name(record)}\n--network host", HOST, style="rounded,filled",
                           fillcolor="lightyellow")
                text.append(f"  container {_name(record)}: --network host (the host's own interfaces)")
        return graph, "\n".join(text + text_after)


def _name(record):
    return record["Name"].lstrip("/")


def _cables(directory):
    """(container ID, network ID) -> the endpoint's veth names and interface, from the network records.

    ``Networks().list()`` has Docker's shape, without veth names; the records in ``directory``
    (``<root>/networks``) keep them per endpoint (``HostVeth``, ``Interface``).
    """
    from ...network.manager import load_record

    found = {}
    for filename in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        record = load_record(os.path.join(directory, filename)) if filename.endswith(".json") else None
        for cid, endpoint in ((record or {}).get("Endpoints") or {}).items():
            found[cid, record["Id"]] = endpoint
    return found


def _bridge(graph, network, cables, by_id):
    """A bridge in the host's namespace, with the host end of each veth pair plugged into it."""
    device = network["Options"].get("com.docker.network.bridge.name", network["Name"])
    config = (network["IPAM"]["Config"] or [{}])[0]
    subnet, gateway = config.get("Subnet", ""), config.get("Gateway", "")
    graph.node("br:" + device, f"{device}\nnetwork {network['Name']}\n{subnet}\ngateway {gateway}", HOST,
               style="filled", fillcolor="lightblue")
    text = [f"  bridge {device}: network {network['Name']}, {subnet}, gateway {gateway}"]
    plugged = [(by_id[cid], cables.get((cid, network["Id"]), {})) for cid in network["Containers"] if cid in by_id]
    for record, cable in sorted(plugged, key=lambda pair: _name(pair[0])):
        veth = cable.get("HostVeth") or "?"
        interface = cable.get("Interface") or "eth0"
        address = network["Containers"][record["Id"]]["IPv4Address"]
        graph.node("veth:" + veth, veth, HOST, shape="ellipse")
        graph.edge("br:" + device, "veth:" + veth, "", arrowhead="none")
        graph.edge("veth:" + veth, f"if:{_name(record)}:{interface}", "veth pair", dir="both", color="gray30")
        text.append(f"    {veth} <-> {_name(record)} {interface} {address}")
    return text


def _namespaces(graph, running, cables):
    """One cluster per container network namespace; return {container ID: namespace owner} and text."""
    owners = {}
    by_name = {_name(r): r for r in running}
    for record in running:
        mode = record["HostConfig"]["NetworkMode"]
        if mode == "host":
            continue
        owner = record
        while owner["HostConfig"]["NetworkMode"].startswith("container:"):
            target = owner["HostConfig"]["NetworkMode"].split(":", 1)[1]
            owner = by_name.get(target) or next((r for r in running if r["Id"].startswith(target)), None)
            if owner is None:
                break
        if owner is not None:
            owners[record["Id"]] = owner
    text = []
    for owner in sorted({o["Id"]: o for o in owners.values()}.values(), key=_name):
        members = sorted((r for r in running if owners.get(r["Id"]) is owner), key=_name)
        cluster = "ns:" + _name(owner)
        graph.cluster(cluster, f"network namespace of {_name(owner)}", style="rounded", color="gray60")
        graph.node(f"lo:{_name(owner)}", "lo\n127.0.0.1/8", cluster, shape="ellipse")
        none = owner["HostConfig"]["NetworkMode"] == "none"
        text.append(f"network namespace of {_name(owner)}" + (": --network none (loopback only)" if none else ""))
        text.append("  lo 127.0.0.1/8")
        for name, settings in sorted((owner["NetworkSettings"].get("Networks") or {}).items()):
            cable = cables.get((owner["Id"], settings.get("NetworkID")), {})
            if not settings.get("IPAddress"):
                continue
            interface = cable.get("Interface") or "eth0"
            address = f"{settings['IPAddress']}/{settings['IPPrefixLen']}"
            graph.node(f"if:{_name(owner)}:{interface}", f"{interface}\n{address}\ngateway {settings['Gateway']}",
                       cluster, shape="ellipse", style="filled", fillcolor="honeydew")
            text.append(f"  {interface} {address} on network {name}, gateway {settings['Gateway']}, "
                        f"peer {cable.get('HostVeth') or '?'}")
        for member in members:
            mode = member["HostConfig"]["NetworkMode"]
            graph.node("ctr:" + _name(member), f"{_name(member)}\n--network {mode}", cluster,
                       style="rounded,filled", fillcolor="lightyellow")
            text.append(f"  container {_name(member)}: --network {mode}")
    return owners, text


def _published(graph, record, key, bindings, namespaces, cables):
    """A published port: a DNAT rule from a host address and port to the container's address."""
    owner = namespaces.get(record["Id"], record)
    settings = (owner["NetworkSettings"].get("Networks") or {}).get(owner["HostConfig"]["NetworkMode"]) or {}
    interface = cables.get((owner["Id"], settings.get("NetworkID")), {}).get("Interface") or "eth0"
    port, proto = key.split("/")
    text = []
    for binding in bindings:
        host = f"{binding['HostIp'] or '0.0.0.0'}:{binding['HostPort']}/{proto}"
        target = f"{settings.get('IPAddress', '')}:{port}"
        graph.node("port:" + host, host, HOST, shape="cds", style="filled", fillcolor="mistyrose")
        graph.edge("port:" + host, f"if:{_name(owner)}:{interface}", f"DNAT to {target}", color="firebrick",
                   style="dashed")
        text.append(f"  published {host} -> {_name(record)} {target}")
    return text
