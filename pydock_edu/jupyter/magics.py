"""IPython magics: ``%docker`` runs any pydock command line in the kernel, ``%%dockerfile`` builds a cell.

``%docker`` calls the same code as the ``pydock`` command (:func:`pydock_edu.cli.main.main`) in
the kernel's own process, with streams that write into the cell as the output comes. Containers
still start through their shim (a separate process): nothing here forks the kernel.

What comes back to Python:

- ``run -d``, ``create``, ``commit``, ``import``, ``build -q``, ``-q`` lists and ``--format``
  templates: the printed text, as a ``str`` (``cid = %docker run -d busybox sleep 60``);
- ``ps``, ``images``, ``history``, ``top``, ``network ls``, ``volume ls``: a :class:`Table`;
- ``inspect``: the parsed JSON, a list of dicts;
- anything else streams its output and returns None; ``pull``, ``push``, ``build``, ``save`` and
  ``load`` also show a progress bar.

A nonzero exit raises :class:`CommandFailed`, shown as the command's one-line message;
``%docker --no-raise ...`` (or ``%config DockerMagics.raise_on_error = False``) only sets
``_exit_code``. ``%docker --show ...`` displays the value at once instead of returning it, as a
terminal would print it (the pydock kernel runs ``docker ...`` lines that way). Interrupting the
cell stops the containers the command had started: SIGINT, as Ctrl-C in a terminal would send,
then SIGKILL after two seconds (``docker stop -s INT -t 2``).
"""

import contextlib
import json
import os
import shlex
import signal
import sys
import threading

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.utils.text import DollarFormatter
from traitlets import Bool

from ..cli import flags
from ..cli.main import Context, find_command, main
from ..engine import Engine
from ..errors import NotFound, PydockError
from .progress import Progress
from .results import CommandFailed, CommandInterrupted, Table, Text
from .streams import Capture, CellStream, LastLine

TABLES = {"container ls", "image ls", "image history", "container top", "network ls", "volume ls"}
INSPECTS = {"inspect", "container inspect", "image inspect", "network inspect", "volume inspect"}
PRINTS_ID = {"container create", "container commit", "image import"}
LONG_WORK = {"pull", "push", "build", "save", "load"}  # last word of the command's name
EXPANDER = DollarFormatter()  # IPython's own: $name, {expression}, nothing inside single quotes
INTERRUPT_STOP_TIMEOUT = 2  # seconds between SIGINT and SIGKILL for containers stopped on interrupt


@magics_class
class DockerMagics(Magics):
    """``%docker``, ``%%dockerfile`` and the picture magics (``%docker_network``, ...)."""

    raise_on_error = Bool(True, help="Raise an error when a %docker command exits with a nonzero code; "
                                     "%docker --no-raise ... does not for one command.").tag(config=True)

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.devnull = open(os.devnull)  # the commands' stdin: `run -i` reads end of file at once

    @line_magic
    @no_var_expand
    def docker(self, line):
        """Run a pydock command line: ``%docker [--no-raise] [--show] run --rm busybox echo $name``.

        ``$name`` and ``{expression}`` are Python values, as in any line magic; a ``$NAME`` that is
        no Python name is the environment variable, as in a shell (see :meth:`_words`).
        """
        words = self._words(line)
        raise_errors, show = self.raise_on_error, False
        while words[:1] in (["--no-raise"], ["--show"]):
            option = words.pop(0)
            raise_errors = raise_errors and option != "--no-raise"
            show = show or option == "--show"
        result = self.run(words, raise_errors)
        if show:
            if result is not None:
                from IPython.display import display

                display(result)
            return None
        return result

    def _words(self, line):
        """The line with values put in, split as a shell would.

        As in any line magic, ``$name`` and ``{expression}`` take Python values from the code that
        ran the magic. A ``$NAME`` that is no Python name takes the environment variable's value,
        as a shell would give it (``$PWD`` is the kernel's working directory), so the tutorial's
        ``-v $PWD:/backup`` works as written. Text in single quotes and Go templates such as
        ``--format '{{.ID}}'`` are left as they are.
        """
        namespace = dict(os.environ, PWD=os.getcwd())
        namespace.update(self.shell.user_ns)
        namespace.update(sys._getframe(3).f_locals)  # past this method, the magic, and IPython's call
        protected = line.replace("{{", "{{{{").replace("}}", "}}}}")
        try:
            expanded = EXPANDER.vformat(protected, args=[], kwargs=namespace)
        except Exception:  # an expression that fails: IPython then takes the line as it is
            expanded = line
        try:
            return shlex.split(expanded)
        except ValueError as e:
            raise UsageError(f"%docker: {e}") from None

    def run(self, argv, raise_errors=True):
        """Run one command line (a list of words) with the cell's streams; return its result."""
        command, options = _parse(argv)
        kind = _result_kind(command, options)
        progress = None
        if command is not None and command.name.split()[-1] in LONG_WORK:
            progress = Progress(command.name.split()[-1], show=in_notebook(self.shell))
            progress.start()
        out = _output_stream(kind, progress)
        err = CellStream(sys.stderr, hold_errors=True)
        ctx = CellContext(out, err, self.devnull)
        with noting_interrupts() as interrupted:
            try:
                code = main(argv, ctx)
            except KeyboardInterrupt:  # arrived before or after main's own handler
                code = 130
            stopped = ctx.stop_what_started() if interrupted else []
        out.close()
        if progress is not None:
            progress.finish(code == 0)
        self.shell.user_ns["_exit_code"] = code
        if interrupted:
            err.release()
            raise CommandInterrupted(stopped)
        if code != 0 and raise_errors:
            raise CommandFailed(argv, code, err.take_held())
        err.release()
        return _result(kind, out.getvalue()) if kind else None

    @cell_magic
    @no_var_expand
    def dockerfile(self, line, cell):
        """Build the cell as a Dockerfile: ``%%dockerfile [-t TAG] [--context DIR] [build options]``.

        The steps stream as they run, a layer view grows as each layer is committed, and the
        result is the built image's ID.
        """
        from .build import build_cell

        return build_cell(self, self._words(line), cell)

    @line_magic
    def docker_layers(self, line):
        """``%docker_layers IMAGE|CONTAINER``: the layer stack (for a container: its writable layer too)."""
        from .widgets.layers import Layers

        return _picture(Layers, self.shell, _one_argument(line, "%docker_layers IMAGE|CONTAINER"))

    @line_magic
    def docker_network(self, line):
        """``%docker_network``: bridges, veth pairs, addresses and published ports, updated live."""
        from .widgets.network import Topology

        if line.strip():
            raise UsageError("usage: %docker_network")
        return _picture(Topology, self.shell)

    @line_magic
    def docker_mounts(self, line):
        """``%docker_mounts CONTAINER``: each mount from its host source to its target in the container."""
        from .widgets.mounts import Mounts

        return _picture(Mounts, self.shell, _one_argument(line, "%docker_mounts CONTAINER"))

    @line_magic
    def docker_states(self, line):
        """``%docker_states CONTAINER``: the lifecycle diagram with the container's state lit, updated live."""
        from .widgets.lifecycle import Lifecycle

        return _picture(Lifecycle, self.shell, _one_argument(line, "%docker_states CONTAINER"))


class CellContext(Context):
    """The CLI's context in a cell: the cell's streams, and an engine that notes what a command starts."""

    def __init__(self, stdout, stderr, stdin):
        super().__init__(stdout, stderr, stdin)
        self.cell_engine = None

    @property
    def engine(self):
        if self.cell_engine is None:
            self.cell_engine = NotingEngine()
        return self.cell_engine

    def stop_what_started(self):
        """After an interrupt: stop the containers this command created or started attached."""
        if self.cell_engine is None:
            return []
        stopped = []
        for cid in dict.fromkeys(self.cell_engine.started):
            try:
                if self.cell_engine.container(cid)["State"]["Running"]:
                    self.cell_engine.stop(cid, timeout=INTERRUPT_STOP_TIMEOUT, sig="SIGINT")
                    stopped.append(cid)
            except NotFound:
                pass  # it ended and was removed (--rm) meanwhile
        return stopped


class NotingEngine(Engine):
    """The engine, remembering the containers one command creates or starts attached."""

    def __init__(self):
        super().__init__()
        self.started = []

    def create(self, body, name=None):
        cid = super().create(body, name)
        self.started.append(cid)
        return cid

    def start(self, ref, attach=None, console_size=None):
        if attach is not None:
            self.started.append(self.resolve_container(ref))
        return super().start(ref, attach=attach, console_size=console_size)


@contextlib.contextmanager
def noting_interrupts():
    """While a command runs, note SIGINT (the notebook's interrupt): the first raises KeyboardInterrupt,
    later ones only wait for the clean-up that follows."""
    interrupted = []
    if threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
        yield interrupted
        return

    def on_interrupt(signum, frame):
        interrupted.append(signum)
        if len(interrupted) == 1:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def _parse(argv):
    """(Command, options) of a command line, or (None, None) when the CLI itself will refuse it."""
    words = list(argv)
    while words and words[0].startswith("-"):  # pydock's own options, such as --explain
        words.pop(0)
    try:
        command, rest = find_command(words)
        if command is None:
            return None, None
        options, _ = flags.parse(command, rest)
    except (PydockError, ImportError):
        return None, None
    return command, options


def _result_kind(command, options):
    """How a command's output comes back: "table", "json", "id", "text", or None (streamed)."""
    if command is None or options.get("help"):
        return None
    name, template = command.name, options.get("format")
    if name in INSPECTS:
        return "text" if template else "json"
    if name in TABLES:
        return "text" if options.get("quiet") or template and not template.startswith("table") else "table"
    if name in PRINTS_ID or name == "container run" and options.get("detach") or (
            name == "builder build" and options.get("quiet")):
        return "id"
    return None


def _output_stream(kind, progress):
    """Where the command's stdout goes: kept for its value, or into the cell as it comes."""
    if kind == "id":
        return LastLine(sys.stdout)
    if kind:
        return Capture()
    return CellStream(sys.stdout, lines=progress.line if progress else None)


def _result(kind, text):
    if kind == "table":
        return Table(text) if text else None
    if kind == "json":
        return json.loads(text) if text.strip() else None
    return Text(text.rstrip("\n"))


def in_notebook(shell):
    """True in a kernel, where widgets can be shown (not in a terminal IPython)."""
    return getattr(shell, "kernel", None) is not None


def _one_argument(line, usage):
    words = shlex.split(line)
    if len(words) != 1:
        raise UsageError(f"usage: {usage}")
    return words[0]


def _picture(kind, shell, *args):
    """A picture of engine state; live (following the engine's events) when shown in a notebook."""
    try:
        return kind(*args, live=in_notebook(shell))
    except PydockError as e:
        raise CommandFailed([kind.__name__, *args], e.exit_code, [f"Error: {e}"]) from None


def load_ipython_extension(ipython):
    """``%load_ext pydock_edu``: register the magics."""
    ipython.register_magics(DockerMagics)
