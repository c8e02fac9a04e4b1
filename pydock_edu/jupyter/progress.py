"""Progress of long work (pull, push, build, save, load) drawn as a bar while the lines stream.

The CLI prints what Docker's prints: ``Step 3/8 : RUN ...`` for a build, ``<layer>: Downloading
[==>   ] 1.2MB/3.4MB`` and ``<layer>: Pull complete`` for a pull or push, ``Loading layer [=>  ]``
for a load. :class:`Progress` reads those lines as they come and moves an ipywidgets bar; bar lines
themselves are not printed (in a notebook they would only pile up), status lines are.
"""

import re

STEP = re.compile(r"Step (\d+)/(\d+) : ")
BAR = re.compile(r"\s*\[=*> *\]\s*(?:([\d.]+)\s*([kMGT]?B)/([\d.]+)\s*([kMGT]?B))?\s*$")
LAYER = re.compile(r"([0-9a-f]{12}): (.*)")
FINISHED = ("Pull complete", "Already exists", "Pushed", "Layer already exists", "Mounted from")
UNITS = {"B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def _fraction(match):
    """done/total of a bar's ``1.2MB/3.4MB``, or None when the bar has no numbers."""
    if not match.group(1):
        return None
    done = float(match.group(1)) * UNITS[match.group(2)]
    total = float(match.group(3)) * UNITS[match.group(4)]
    return min(done / total, 1.0) if total else None


class Progress:
    """Follows the output lines of one command and shows how far it has got.

    ``show`` is False outside a notebook (a terminal IPython): the lines are then only filtered.
    """

    def __init__(self, title, show=True):
        self.title, self.show = title, show
        self.steps = None  # (current, total) of a build
        self.layers = {}  # layer ID -> fraction done, for pull and push
        self.unnamed = []  # fractions done of the layers of a load, in order
        self.status = ""
        self.ok = None  # None while the command runs, then whether it succeeded
        self.widget = None
        self.handle = None

    def line(self, line):
        """Take one output line; return False if it is a bar that must not be printed."""
        step = STEP.match(line)
        layer, bar = (None, None) if step else (LAYER.match(line), BAR.search(line))
        text = line[:bar.start()].rstrip() if bar else line
        if step:
            current, total = int(step.group(1)), int(step.group(2))
            self.steps = (current - 1, total)
            self.status = f"Step {current}/{total}"
        elif line.startswith("Successfully built") and self.steps:
            self.steps = (self.steps[1], self.steps[1])
            self.status = line
        elif layer:
            key, status = layer.group(1), LAYER.match(text).group(2)
            if bar:
                self.layers[key] = _fraction(bar) or self.layers.get(key, 0.0)
            else:
                self.layers[key] = 1.0 if status.startswith(FINISHED) else self.layers.get(key, 0.0)
            self.status = text
        elif bar:  # a bar without a layer ID ("Loading layer"): one layer after the other
            fraction = _fraction(bar) or 0.0
            if not self.unnamed or fraction < self.unnamed[-1] or self.unnamed[-1] >= 1.0:
                self.unnamed.append(fraction)
            self.unnamed[-1] = fraction
            self.status = text
        else:
            return True
        self._draw()
        return not bar

    @property
    def fraction(self):
        if self.steps:
            return self.steps[0] / self.steps[1]
        fractions = [*self.layers.values(), *self.unnamed]
        return sum(fractions) / len(fractions) if fractions else 0.0

    def summary(self):
        """One stable line for text/plain: what was being done and how far it got."""
        fractions = [*self.layers.values(), *self.unnamed]
        if self.steps:
            return f"{self.title}: step {self.steps[0]}/{self.steps[1]} done"
        if fractions:
            return f"{self.title}: {sum(1 for f in fractions if f >= 1.0)}/{len(fractions)} layers done"
        return f"{self.title}: " + {None: "working", True: "done", False: "failed"}[self.ok]

    def start(self):
        """Show the bar now, before the command says anything (``save`` and ``load`` say little)."""
        self._draw()

    def _draw(self):
        if not self.show:
            return
        if self.widget is None:
            from IPython.display import display

            self.widget = _bar(self)
            self.handle = display(self.widget, display_id=True)
        self.widget.children[0].value = self.fraction
        self.widget.children[1].value = self.status

    def finish(self, ok):
        """The command ended: fill or mark the bar, and leave the final summary as its text."""
        self.ok = ok
        if self.widget is None:
            return
        if ok:
            self.widget.children[0].value = 1.0
        self.widget.children[0].bar_style = "success" if ok else "danger"
        self.handle.update(self.widget)


def _bar(progress):
    """An ipywidgets bar and status label whose text/plain is the progress summary."""
    import ipywidgets

    class Bar(ipywidgets.HBox):
        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            bundle["text/plain"] = progress.summary()
            return bundle

    bar = ipywidgets.FloatProgress(min=0.0, max=1.0, description=progress.title)
    return Bar([bar, ipywidgets.Label()])
