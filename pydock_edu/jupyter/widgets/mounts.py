"""A container's mounts: each volume, bind mount and tmpfs, from its source on the host to its target.

Read from the container's ``Mounts`` (the shape ``docker inspect`` shows: Type, Name, Source,
Destination, RW) and its ``HostConfig.Tmpfs``. A volume or a host directory that other containers mount too is drawn with
them: that is how the volume-container pattern (``--volumes-from``) shares data.
"""

from ... import state
from .picture import Graph, Picture


class Mounts(Picture):
    """Where every mount of a container comes from, read-only or read-write, and who shares it."""

    def __init__(self, ref, live=False):
        self.ref = ref
        self.container_id = None
        super().__init__(live)

    def concerns(self, event):
        return event["Type"] == "volume" or event["Type"] == "container" and event["Action"] in (
            "create", "destroy", "rename")

    def draw(self):
        record = self.engine.container(self.ref)
        self.container_id = record["Id"]
        name = _name(record)
        others = [r for r in self.engine.containers(all=True) if r["Id"] != record["Id"]]
        graph = Graph(rankdir="LR")
        graph.cluster("host", "host", style="rounded", color="gray40")
        graph.cluster("container", f"container {name}", style="rounded", color="gray60")
        mounts = sorted(_mounts(record), key=lambda m: m["Destination"])
        text = [f"container {name} ({record['Id'][:12]}): "
                + (f"{len(mounts)} mount{'s' if len(mounts) != 1 else ''}" if mounts else "no mounts")]
        for mount in mounts:
            source = _source_node(graph, mount)
            target = f"target:{name}:{mount['Destination']}"
            mode = "rw" if mount.get("RW", True) else "ro"
            graph.node(target, mount["Destination"], "container", shape="folder")
            graph.edge(source, target, f"{mount['Type']} {mode}", style="solid" if mode == "rw" else "dashed")
            sharing = sorted(_name(r) for r in others if any(_same(mount, m) for m in r.get("Mounts") or []))
            for other in (r for r in others if _name(r) in sharing):
                for theirs in (m for m in other.get("Mounts") or [] if _same(mount, m)):
                    _draw_sharer(graph, source, other, theirs)
            text.append(f"  {_describe_source(mount):<40} -> {mount['Destination']}  {mode}"
                        + (f", also used by: {', '.join(sharing)}" if sharing else ""))
        return graph, "\n".join(text)


def _name(record):
    return record["Name"].lstrip("/")


def _mounts(record):
    """The container's mounts: ``Mounts``, and the ``--tmpfs`` ones, which Docker keeps in ``HostConfig.Tmpfs``."""
    mounts = list(record.get("Mounts") or [])
    listed = {m["Destination"] for m in mounts}
    for target, options in ((record.get("HostConfig") or {}).get("Tmpfs") or {}).items():
        if target not in listed:
            mounts.append({"Type": "tmpfs", "Source": "", "Destination": target,
                           "RW": "ro" not in options.split(",")})
    return mounts


def _same(mine, theirs):
    """Whether two mounts show the same data: one volume, or one host path."""
    if mine["Type"] == "volume":
        return theirs["Type"] == "volume" and theirs.get("Name") == mine.get("Name")
    return mine["Type"] == "bind" and theirs["Type"] == "bind" and theirs["Source"] == mine["Source"]


def _shown_path(path):
    """A host path, with the state root written as $PYDOCK_ROOT (the same text on every machine)."""
    root = state.root().rstrip("/")
    return "$PYDOCK_ROOT" + path[len(root):] if path == root or path.startswith(root + "/") else path


def _describe_source(mount):
    if mount["Type"] == "tmpfs":
        return "tmpfs (memory)"
    if mount["Type"] == "volume":
        return f"volume {mount.get('Name', '')} {_shown_path(mount['Source'])}"
    return f"{mount['Type']} {_shown_path(mount['Source'])}"


def _source_node(graph, mount):
    if mount["Type"] == "tmpfs":
        node = f"tmpfs:{mount['Destination']}"
        graph.node(node, "tmpfs\n(memory)", "host", shape="box3d", style="filled", fillcolor="lavender")
    elif mount["Type"] == "volume":
        node = f"volume:{mount.get('Name', '')}"
        graph.node(node, f"volume {mount.get('Name', '')[:24]}\n{_shown_path(mount['Source'])}", "host",
                   shape="cylinder", style="filled", fillcolor="lightblue")
    else:
        node = f"path:{mount['Source']}"
        graph.node(node, _shown_path(mount["Source"]), "host", shape="folder", style="filled",
                   fillcolor="wheat")
    return node


def _draw_sharer(graph, source, record, mount):
    """Another container mounting the same data, drawn lighter."""
    cluster = "other:" + _name(record)
    if cluster not in graph.clusters:
        graph.cluster(cluster, f"container {_name(record)}", style="rounded,dashed", color="gray70")
    target = f"target:{_name(record)}:{mount['Destination']}"
    mode = "rw" if mount.get("RW", True) else "ro"
    graph.node(target, mount["Destination"], cluster, shape="folder", color="gray50", fontcolor="gray30")
    graph.edge(source, target, f"{mount['Type']} {mode}", color="gray60", fontcolor="gray40", style="dashed")
