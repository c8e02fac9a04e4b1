"""The layer stack of an image, or of a container: read-only layers, the writable layer, the merged view.

An image is a stack of read-only layers, bottom first (its config's ``rootfs.diff_ids``); each
was made by one instruction, found in the config's ``history`` (instructions such as ``ENV`` or
``CMD`` change only the config and make no layer). A container adds one writable layer on top
(overlayfs's ``upperdir``) and sees the union of all of them at its ``merged`` mount point. What
the container changed is what its writable layer holds: files added (A) or changed (C), and
whiteouts (character devices 0/0) for files deleted (D), as ``pydock diff`` lists them
(:meth:`pydock_edu.engine.Engine.diff`).
"""

import html
import os

from ...cli.table import human_size
from ...errors import NotFound
from ...image import reference
from .picture import Graph, Picture

SHOWN_CHANGES = 12  # changes written inside the writable layer's box; the text lists them all
CHANGE_COLORS = {"A": "darkgreen", "C": "darkorange3", "D": "red3"}


class Layers(Picture):
    """The layer stack of ``ref``: a container (ID, name, prefix) or else an image."""

    def __init__(self, ref, live=False):
        self.ref = ref
        self.container_id = self.image_id = None
        super().__init__(live)

    def show(self, ref):
        """Show another image or container (the build magic moves on to each new step's image)."""
        self.ref = ref
        self.refresh()

    def concerns(self, event):
        return event["Actor"]["ID"] in (self.container_id, self.image_id)

    def _resolve(self):
        """Docker's order: a container first, then an image."""
        try:
            return self.engine.resolve_container(self.ref), None
        except NotFound:
            try:
                return None, self.engine.images.resolve(self.ref)
            except NotFound:
                raise NotFound(f"No such image or container: {self.ref}", 1) from None

    def draw(self):
        self.container_id, self.image_id = self._resolve()
        graph = Graph(rankdir="BT")
        if self.container_id is None:
            return graph, "\n".join(_image_stack(self.engine, self.image_id, graph))
        record = self.engine.container(self.container_id)
        image = record.get("ImageName") or record["Image"][7:19]
        text = [f"container {record['Name'].lstrip('/')} ({record['Id'][:12]}), image {image}"]
        text += _image_stack(self.engine, record["Image"], graph, record.get("ImageName"), indent="  ",
                             cluster="read-only image layers (overlay lowerdir)")[1:]
        top = _top_layer(graph)
        text += _writable_layer(self.engine, record, graph, top)
        graph.node("merged", "merged view\nthe union of all layers,\nmounted as the container's /",
                   style="filled", fillcolor="lightblue")
        graph.edge("writable", "merged", "overlay mount", arrowhead="none")
        text.append("  merged view: the union of the layers above, mounted as the container's /")
        return graph, "\n".join(text)


def instruction(entry):
    """The Dockerfile instruction of a history entry, from its ``created_by`` (or its comment).

    The legacy builder records ``/bin/sh -c #(nop) ENV A=b`` for a config-only instruction and
    ``/bin/sh -c <command>`` (after ``|N ARG=value`` when build arguments are set) for a RUN.
    """
    created_by = entry.get("created_by", "")
    prefix, marker, command = created_by.partition("/bin/sh -c ")
    if marker and (not prefix or prefix.startswith("|")):
        command = command.strip()
        return command[len("#(nop)"):].strip() if command.startswith("#(nop)") else "RUN " + command
    return created_by or entry.get("comment", "")


def _image_stack(engine, image_id, graph, name=None, indent="  ", cluster="image layers"):
    """Draw the image's layers bottom first; return its text lines (a title, then one line per entry)."""
    images = engine.images
    config = images.config(image_id)
    diff_ids = list(images.layers(image_id))
    tags = [reference.parse(t).familiar() for t in images.tags_of(image_id)]
    title = name or (tags[0] if tags else image_id[7:19])
    graph.cluster("image", f"{cluster}: {title}", style="rounded", color="gray50")
    layers = list(diff_ids)
    rows = []
    for entry in config.get("history") or []:
        if entry.get("empty_layer"):
            rows.append((None, instruction(entry)))
        elif layers:
            rows.append((layers.pop(0), instruction(entry)))
    rows += [(diff_id, "") for diff_id in layers]  # layers without history (an imported tar)
    total = sum(images.layer_size(d) for d in diff_ids)
    plural = "s" if len(diff_ids) != 1 else ""
    text = [f"image {title} ({image_id[:19]}): {len(diff_ids)} layer{plural}, {human_size(total)}"]
    below, number = None, 0
    for index, (diff_id, made_by) in enumerate(rows):
        node = f"entry:{index}"
        if diff_id is None:
            graph.node(node, f"{_short(made_by)}\n(config only, no layer)", "image", style="dashed",
                       fontcolor="gray30")
            text.append(f"{indent}-  config only        {made_by}")
        else:
            number += 1
            size = human_size(images.layer_size(diff_id))
            graph.node(node, f"layer {number}: {_short(made_by) or '(no history)'}\n{size} · {diff_id[:19]}",
                       "image", style="filled", fillcolor="lightgray")
            text.append(f"{indent}{number}  {diff_id[:19]}  {size:>8}  {made_by}")
        if below is not None:
            graph.edge(below, node, arrowhead="none")
        below = node
    return text


def _top_layer(graph):
    entries = [n for n in graph.nodes if n.startswith("entry:")]
    return entries[-1] if entries else None


def _writable_layer(engine, record, graph, below):
    """The container's upper directory: its size and its changes, colored by kind."""
    found = engine.diff(record["Id"])
    size = human_size(_tree_size(record["GraphDriver"]["Data"]["UpperDir"]))
    rows = "".join(f'<TR><TD ALIGN="LEFT"><FONT COLOR="{CHANGE_COLORS[kind]}">{kind} {html.escape(path)}</FONT>'
                   f"</TD></TR>" for kind, path in found[:SHOWN_CHANGES])
    if len(found) > SHOWN_CHANGES:
        rows += f'<TR><TD ALIGN="LEFT">... and {len(found) - SHOWN_CHANGES} more</TD></TR>'
    label = (f'<<TABLE BORDER="0" CELLSPACING="0"><TR><TD><B>writable layer (upperdir)</B></TD></TR>'
             f"<TR><TD>{size} · {len(found)} change{'s' if len(found) != 1 else ''}</TD></TR>{rows}</TABLE>>")
    graph.node("writable", label, style="filled", fillcolor="lightyellow")
    if below is not None:
        graph.edge(below, "writable", arrowhead="none")
    text = [f"  W  writable layer (upperdir)  {size}, {len(found)} change{'s' if len(found) != 1 else ''}"]
    text += [f"       {kind} {path}" for kind, path in found]
    return text


def _tree_size(directory):
    total = 0
    for path, _, files in os.walk(directory):
        total += sum(os.lstat(os.path.join(path, name)).st_size for name in files)
    return total


def _short(made_by, width=48):
    return made_by if len(made_by) <= width else made_by[:width - 1] + "…"
