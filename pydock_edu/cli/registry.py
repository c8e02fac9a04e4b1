"""Where command modules register their commands (one module per command group, as in podman)."""

from .flags import Command, flag

COMMANDS = {}
ALIASES = {}


def command(name, usage="", help="", flags=(), aliases=(), interspersed=True, min_args=0, max_args=None,
            runs_container=False):
    """Register ``function(ctx, options, args) -> exit code`` as ``pydock NAME``.

    ``runs_container`` marks ``run`` and ``create``, whose failures exit 125 (see errors.exit_status).
    """

    def register(function):
        every = list(flags) + [flag("--help", help="Print usage")]
        COMMANDS[name] = Command(name, function, usage, help, every, tuple(aliases), interspersed,
                                 min_args, max_args, runs_container)
        for alias in aliases:
            ALIASES[alias] = name
        return function

    return register
