"""What every picture shares: a graph drawn by graphviz's ``dot``, the same facts as text, live updates.

A picture reads the engine's state and describes it twice: as a :class:`Graph` (nodes, edges and
clusters, rendered to SVG by ``dot``) and as plain text that is the same on every run once IDs
are replaced, so a notebook reads well when it is only looked at and nbval can compare it.

Shown live in a notebook, a picture is also an ipywidget: a background thread follows the
engine's event stream (:func:`pydock_edu.events.read`) and, when an event concerns the picture,
reads the state again and replaces the widget's SVG. The thread only updates widget state.
"""

import threading
import time

from ... import events
from ...engine import Engine
from ...errors import PydockError

FONT = "Helvetica"


class Graph:
    """Nodes, edges and nested clusters, kept as data (tests read them) and rendered by ``dot``."""

    def __init__(self, rankdir="TB"):
        self.rankdir = rankdir
        self.nodes = {}  # name -> attributes, with "label" and "cluster"
        self.edges = []  # (tail, head, attributes)
        self.clusters = {}  # name -> attributes, with "label" and "parent"

    def cluster(self, name, label, parent=None, **attributes):
        self.clusters[name] = dict(attributes, label=label, parent=parent)

    def node(self, name, label, cluster=None, **attributes):
        self.nodes[name] = dict(attributes, label=label, cluster=cluster)

    def edge(self, tail, head, label="", **attributes):
        self.edges.append((tail, head, dict(attributes, label=label)))

    def labels(self):
        """Node name -> label, for reading the picture in a test."""
        return {name: attributes["label"] for name, attributes in self.nodes.items()}

    def source(self):
        """The graph in the DOT language (nodes numbered in order: names may hold ``:``, DOT's port mark)."""
        import graphviz

        ids = {name: f"n{number}" for number, name in enumerate(self.nodes)}

        def attrs(attributes, skip=("cluster", "parent")):
            return {k: str(v) for k, v in attributes.items() if k not in skip and v is not None}

        root = graphviz.Digraph(graph_attr={"rankdir": self.rankdir, "fontname": FONT, "fontsize": "11"},
                                node_attr={"fontname": FONT, "fontsize": "10", "shape": "box"},
                                edge_attr={"fontname": FONT, "fontsize": "9"})
        bodies = {None: root}
        for number, (name, attributes) in enumerate(self.clusters.items()):
            bodies[name] = graphviz.Digraph(name=f"cluster_{number}", graph_attr=attrs(attributes))
        for name, attributes in self.nodes.items():
            bodies[attributes["cluster"]].node(ids[name], **attrs(attributes))
        for tail, head, attributes in self.edges:
            root.edge(ids[tail], ids[head], **attrs(attributes))
        for name in reversed(list(self.clusters)):  # innermost first: a cluster is complete when nested
            bodies[self.clusters[name]["parent"]].subgraph(bodies[name])
        return root.source

    def svg(self):
        """The graph drawn by ``dot``, as an ``<svg>`` element."""
        import graphviz

        text = graphviz.Source(self.source()).pipe(format="svg", encoding="utf-8")
        return text[text.index("<svg"):]


class Picture:
    """A picture of engine state: ``draw()`` gives (Graph, text); ``concerns(event)`` says what redraws it.

    ``live``: also an ipywidget that redraws itself as the engine reports events.
    """

    def __init__(self, live=False):
        self.engine = Engine()
        self.graph, self.text, self._svg, self.widget = None, "", None, None
        self.stopped = threading.Event()
        since = time.time()
        self.refresh()
        if live:
            import ipywidgets

            self.widget = ipywidgets.HTML(self.svg)
            threading.Thread(target=self._follow, args=(since,), daemon=True,
                             name=f"pydock {type(self).__name__}").start()

    def draw(self):
        raise NotImplementedError

    def concerns(self, event):
        raise NotImplementedError

    def refresh(self):
        """Read the engine's state again; redraw the widget if the picture changed."""
        graph, text = self.draw()
        if self.graph is not None and graph.source() == self.graph.source():
            self.text = text
            return
        self.graph, self.text, self._svg = graph, text, None
        widget = self.widget  # close() may take it away meanwhile
        if widget is not None:
            widget.value = self.svg

    @property
    def svg(self):
        if self._svg is None:
            self._svg = self.graph.svg()
        return self._svg

    def _follow(self, since):
        for event in events.read(since=since, follow=True, stop=self.stopped.is_set):
            if self.stopped.is_set():
                return
            if self.concerns(event):
                try:
                    self.refresh()
                except (PydockError, OSError):
                    pass  # the state changed while it was read: the next event redraws

    def close(self):
        """Stop following the engine and remove the widget; the picture stays, static."""
        self.stopped.set()
        widget, self.widget = self.widget, None
        if widget is not None:
            widget.close()

    def __str__(self):
        return self.text

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": self.text, "image/svg+xml": self.svg}
        if self.widget is not None:
            view = self.widget._repr_mimebundle_()
            if view:
                bundle["application/vnd.jupyter.widget-view+json"] = view["application/vnd.jupyter.widget-view+json"]
        return bundle
