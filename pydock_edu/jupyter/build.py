"""``%%dockerfile``: the cell is a Dockerfile; the engine builds it while the steps and layers show.

The options are those of ``pydock build`` (``-t``, ``--build-arg``, ``--no-cache``, ``--target``,
``-q``, ...) plus ``--context DIR``, the directory COPY and ADD read from (default: the kernel's
working directory). In a notebook a progress bar counts the steps and a layer view follows the
build: after each step (`` ---> <image id>``) it shows that step's image, so it grows a layer at
each RUN, COPY or ADD.
"""

import re
import sys

from ..build.errors import BuildError
from ..cli import flags
from ..cli.build import FLAGS, _build_arg, _label
from ..engine import Engine
from ..errors import PydockError
from .magics import in_notebook, noting_interrupts
from .progress import Progress
from .results import CommandFailed, CommandInterrupted, Text
from .streams import CellStream

STEP_IMAGE = re.compile(r" ---> ([0-9a-f]{12})$")
OPTIONS = flags.Command("%%dockerfile", None, "[OPTIONS]", "Build the cell as a Dockerfile",
                        [f for f in FLAGS if "--file" not in f.names]
                        + [flags.flag("--context", "str", default=".", help="The build context directory")],
                        max_args=0)


def build_cell(magics, words, dockerfile):
    """Build ``dockerfile`` (the cell's text) with the options in ``words``; return the image ID."""
    try:
        options, _ = flags.parse(OPTIONS, words)
    except PydockError as e:
        raise CommandFailed(["%%dockerfile", *words], e.exit_code, [f"Error: {e}"]) from None
    notebook = in_notebook(magics.shell)
    view = _BuildView(notebook and not options["quiet"])
    out = CellStream(sys.stdout, lines=view.line)
    held = []
    engine = Engine()
    with noting_interrupts():  # a second interrupt waits for the builder's clean-up
        try:
            image_id = engine.build(
                options["context"], output=held.append if options["quiet"] else out.write, dockerfile_text=dockerfile,
                tags=options["tag"], build_args=dict(_build_arg(item) for item in options["build_arg"]),
                target=options["target"], no_cache=options["no_cache"], rm=options["rm"],
                force_rm=options["force_rm"], labels=dict(_label(item) for item in options["label"]),
                network=options["network"])
        except KeyboardInterrupt:  # the builder has removed its intermediate container
            view.finish(False)
            magics.shell.user_ns["_exit_code"] = 130
            raise CommandInterrupted([]) from None
        except PydockError as e:
            out.close()
            view.finish(False)
            sys.stderr.write("".join(held))
            magics.shell.user_ns["_exit_code"] = e.exit_code
            message = str(e) if isinstance(e, BuildError) else f"Error: {e}"  # as `pydock build` prints it
            if magics.raise_on_error:
                raise CommandFailed(["%%dockerfile", *words], e.exit_code, [message]) from None
            sys.stderr.write(message + "\n")
            return None
    out.close()
    view.finish(True)
    magics.shell.user_ns["_exit_code"] = 0
    return Text(image_id)


class _BuildView:
    """The build's lines as they come, a step counter, and a layer view of the latest step's image."""

    def __init__(self, show):
        self.show = show
        self.progress = Progress("build", show=show)
        self.layers = None
        self.handle = None

    def line(self, line):
        self.progress.line(line)
        step = STEP_IMAGE.match(line)
        if step and self.show:
            self._show_layers(step.group(1))
        return True

    def _show_layers(self, image_id):
        from IPython.display import display

        from .widgets.layers import Layers

        if self.layers is None:
            self.layers = Layers(image_id, live=True)
            self.handle = display(self.layers, display_id=True)
        else:
            self.layers.show(image_id)

    def finish(self, ok):
        """Mark the bar, and leave the last image's layers as the view's static picture and text."""
        self.progress.finish(ok)
        if self.handle is not None:
            self.handle.update(self.layers)
