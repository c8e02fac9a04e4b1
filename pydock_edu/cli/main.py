"""``pydock``: the command line, with Docker's grammar (``pydock run ...``, ``pydock container run ...``).

Only the module of the command asked for is imported, which keeps start-up fast.
"""

import os
import sys

from .. import explain
from ..errors import ENGINE_FAILED, PydockError, exit_status
from . import flags
from .registry import ALIASES, COMMANDS

# First word of a command line -> the module that defines it.
MODULES = {
    "container": "container", "image": "image", "network": "network", "volume": "volume", "system": "system",
    "builder": "build", "build": "build", "events": "system", "info": "system", "version": "system",
    "inspect": "system", "pull": "remote", "push": "remote", "login": "remote", "logout": "remote",
    "search": "remote", "images": "image", "rmi": "image", "tag": "image", "history": "image",
    "save": "image", "load": "image", "import": "image",
}
for _verb in ("run create start stop restart kill rm pause unpause exec ps top attach logs export commit "
              "cp diff wait rename port").split():
    MODULES[_verb] = "container"
GROUPS = ("container", "image", "network", "volume", "system", "builder")

USAGE = """Usage:  pydock [OPTIONS] COMMAND

A readable container engine for learning Docker

Options:
      --explain   Print the low-level steps (syscalls, mounts, cgroup writes, links, rules) as they happen
  -v, --version   Print version information and quit

Management Commands:
  container   Manage containers
  image       Manage images
  network     Manage networks
  volume      Manage volumes
  system      Manage pydock

Common Commands:
  run         Create and run a new container from an image
  exec        Execute a command in a running container
  ps          List containers
  build       Build an image from a Dockerfile
  pull        Download an image from a registry
  push        Upload an image to a registry
  images      List images
  login       Log in to a registry
  logout      Log out from a registry
  search      Search Docker Hub for images
  version     Show the pydock version information
  info        Display system-wide information

Run 'pydock COMMAND --help' for more information on a command.
"""


class Context:
    """Where a command reads and writes: the process's streams, or a notebook's."""

    def __init__(self, stdout=None, stderr=None, stdin=None):
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.stdin = stdin or sys.stdin
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from ..engine import Engine

            self._engine = Engine()
        return self._engine

    def out(self, text=""):
        self.stdout.write(text if text.endswith("\n") or not text else text + "\n")

    def err(self, text):
        self.stderr.write(text if text.endswith("\n") else text + "\n")

    def write_stream(self, stream, data):
        """Container output: bytes to the real file descriptor when there is one."""
        target = self.stdout if stream == 1 else self.stderr
        target.flush()
        buffer = getattr(target, "buffer", None)
        if buffer is not None:
            buffer.write(data)
            buffer.flush()
        else:
            target.write(data.decode(errors="replace"))

    def binary_stdout(self):
        return getattr(self.stdout, "buffer", None)


def is_terminal(stream):
    """Whether ``stream`` is a terminal (a notebook's output stream is not, nor is a pipe)."""
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def find_command(argv):
    """Return (Command, remaining argv) for a command line, importing only the module needed."""
    if not argv:
        return None, argv
    first = argv[0]
    module = MODULES.get(first)
    if module is None:
        raise PydockError(f"'{first}' is not a pydock command. See 'pydock --help'")
    __import__(f"pydock_edu.cli.{module}")
    if first in GROUPS:
        if len(argv) < 2 or argv[1] in ("--help", "-h"):
            return _group_help(first), []
        name = f"{first} {argv[1]}"
        if name not in COMMANDS and name not in ALIASES and argv[1] in MODULES:
            __import__(f"pydock_edu.cli.{MODULES[argv[1]]}")  # e.g. "image pull" lives with "pull"
        name = ALIASES.get(name, name)
        if name not in COMMANDS:
            raise PydockError(f"unknown command \"{argv[1]}\" for \"pydock {first}\"")
        return COMMANDS[name], argv[2:]
    name = ALIASES.get(first, first)
    if name not in COMMANDS:
        raise PydockError(f"'{first}' is not a pydock command. See 'pydock --help'")
    return COMMANDS[name], argv[1:]


def _group_help(group):
    names = sorted(n for n in COMMANDS if n.startswith(group + " "))
    text = f"Usage:  pydock {group} COMMAND\n\nCommands:\n" + "".join(
        f"  {n.split(' ', 1)[1]:<10}  {COMMANDS[n].help}\n" for n in names)
    return flags.Command(group, lambda ctx, o, a: ctx.out(text) or 0, "", "")


def _record_only_without_privileges(ctx):
    """Without root, ``--explain`` still shows every step: the runtime reports them and makes none."""
    if os.geteuid() == 0:
        return
    from ..runtime import linux
    from ..system import missing_privileges

    linux.record_only()
    ctx.err("[explain] recording mode: " + "; ".join(missing_privileges()) + ". Steps are shown, not made.")


def main(argv=None, ctx=None):
    """Run one pydock command line; return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    ctx = ctx or Context()
    show_steps = False
    while argv and argv[0].startswith("-"):
        option = argv.pop(0)
        if option == "--explain":
            show_steps = True
        elif option in ("-v", "--version"):
            from .. import __version__

            ctx.out(f"pydock version {__version__}")
            return 0
        elif option in ("-h", "--help"):
            ctx.out(USAGE)
            return 0
        else:
            ctx.err(f"unknown flag: {option}. See 'pydock --help'.")
            return ENGINE_FAILED
    command = None
    try:
        command, rest = find_command(argv)
        if command is None:
            ctx.out(USAGE)
            return 0
        if "--help" in rest[:1] or (command.interspersed and "--help" in rest):
            ctx.out(flags.help_text(command))
            return 0
        options, args = flags.parse(command, rest)
        if show_steps:
            with explain.tracing(lambda category, text: ctx.err(f"[explain] {category:<10} {text}")):
                _record_only_without_privileges(ctx)
                return command.function(ctx, options, args) or 0
        return command.function(ctx, options, args) or 0
    except PydockError as e:  # the command, not the place that raised, decides the exit code
        ctx.err(f"Error: {e}")
        return exit_status(e, command is not None and command.runs_container)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as e:  # the kernel refused a step (a name too long, a full disk): one line, no traceback
        from .. import state

        text = state.write_failed(e) if e.errno in state.WRITE_FAILURES else _os_error_text(e)
        ctx.err(f"Error: {text}")
        return exit_status(e, command is not None and command.runs_container)


def _os_error_text(error):
    """``open NAME: file name too long``, as Go's errors read (the name cut if it is long)."""
    reason = (error.strerror or str(error)).lower()
    name = error.filename
    if name is None:
        return reason
    name = str(name if not isinstance(name, bytes) else name.decode(errors="replace"))
    return f"{name if len(name) <= 200 else name[:200] + '...'}: {reason}"


if __name__ == "__main__":
    sys.exit(main())
