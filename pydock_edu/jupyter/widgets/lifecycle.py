"""The container lifecycle of the tutorial: its states, the commands between them, the current one lit.

A container is *created* (its record, writable layer and cgroup settings exist, no process), then
*running* (its PID 1 lives in its namespaces), *paused* (the cgroup freezer holds every process),
*exited* (PID 1 has ended: ``stop`` sends SIGTERM then SIGKILL, ``kill`` a signal of your choice,
or the program just returned), and finally *removed* (record and writable layer deleted).
"""

from ...errors import NotFound
from .picture import Graph, Picture

STATES = ("created", "running", "paused", "exited", "removed")
EXPLAINED = {
    "created": "created\nrecord and writable layer, no process",
    "running": "running\nPID 1 alive in its namespaces",
    "paused": "paused\ncgroup freezer holds the processes",
    "exited": "exited (stopped)\nPID 1 has ended",
    "removed": "removed\nrecord and writable layer deleted",
}
TRANSITIONS = (  # (from, to, command)
    ("image", "created", "create"),
    ("image", "running", "run"),
    ("created", "running", "start"),
    ("running", "paused", "pause"),
    ("paused", "running", "unpause"),
    ("running", "exited", "stop / kill / exit"),
    ("paused", "exited", "stop"),
    ("running", "running", "restart"),
    ("exited", "running", "start / restart"),
    ("created", "removed", "rm"),
    ("exited", "removed", "rm"),
    ("running", "removed", "rm -f"),
    ("paused", "removed", "rm -f"),
)


class Lifecycle(Picture):
    """The state diagram with one container's state lit; once the container is gone, *removed* is."""

    def __init__(self, ref, live=False):
        self.ref = ref
        self.container_id = None
        self.name = ref
        super().__init__(live)

    def concerns(self, event):
        return event["Type"] == "container" and event["Actor"]["ID"] == self.container_id

    def current(self):
        """The container's state, as the diagram names it."""
        try:
            record = self.engine.container(self.container_id or self.ref)
        except NotFound:
            if self.container_id is None:
                raise
            return "removed"
        self.container_id, self.name = record["Id"], record["Name"].lstrip("/")
        status = record["State"]["Status"]
        return {"restarting": "running", "dead": "exited", "removing": "exited"}.get(status, status)

    def draw(self):
        state = self.current()
        graph = Graph(rankdir="TB")
        graph.node("image", "image", shape="cylinder", style="filled", fillcolor="lightgray")
        for name in STATES:
            lit = name == state
            graph.node(name, EXPLAINED[name], shape="box", style="rounded,filled" + (",bold" if lit else ""),
                       fillcolor="gold" if lit else "white", penwidth="2.5" if lit else "1")
        for tail, head, command in TRANSITIONS:
            graph.edge(tail, head, command, color="black" if state in (tail, head) else "gray55",
                       fontcolor="black" if state in (tail, head) else "gray40")
        text = [f"container {self.name} ({(self.container_id or '')[:12]}): {state}"]
        text += [f"  [{'*' if name == state else ' '}] {name}" for name in STATES]
        text += ["  transitions:"] + [f"    {tail} --{command}--> {head}" for tail, head, command in TRANSITIONS]
        return graph, "\n".join(text)
