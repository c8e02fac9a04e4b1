"""Errors a user sees: one line of text, typed by what went wrong.

Where an error is raised does not choose the exit code; the command that met it does, by the rule
of Docker's client (:func:`exit_status`). The engine's errors stay typed (not found, conflict, bad
argument) for the notebook magics; their ``exit_code`` is what a command exits with when its request
fails (1), except for a container's command that cannot be invoked (126) or found (127).
"""

REQUEST_FAILED = 1  # any command but run/create whose request fails (docker/cli cmd/docker/docker.go)
ENGINE_FAILED = 125  # run/create that could not make or start the container (cli/command/container/run.go)


class PydockError(Exception):
    """An engine error: printed as one line; ``exit_code`` says what kind of failure it is."""

    exit_code = REQUEST_FAILED

    def __init__(self, message, exit_code=None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self):
        return str(self)


class NotFound(PydockError):
    """No such container, image, network or volume."""


class Conflict(PydockError):
    """The object is in a state that forbids the operation (name in use, container running...)."""


class InvalidArgument(PydockError):
    """A flag or value the user gave cannot be understood."""


class FlagError(InvalidArgument):
    """The command line's flags cannot be parsed: an unknown flag, a missing or malformed value."""

    exit_code = ENGINE_FAILED


class UsageError(InvalidArgument):
    """The command was given too few or too many arguments."""


class CannotInvoke(PydockError):
    """The container's command exists but cannot be executed (Docker's 126)."""

    exit_code = 126


class CommandNotFound(PydockError):
    """The container's command does not exist in its filesystem (Docker's 127)."""

    exit_code = 127


def exit_status(error, runs_container=False):
    """The exit code of a command that failed with ``error`` (or an OSError), as Docker's client chooses it.

    - Flags that cannot be parsed: 125 on every command (docker/cli ``cli/cobra.go``, FlagErrorFunc).
    - Too few or too many arguments: 1 on every command (``cli/required.go`` returns plain errors).
    - ``run`` and ``create`` (``runs_container``): 126 when the container's command cannot be invoked,
      127 when it is not found, 125 for anything else (``runStartContainerErr`` in ``run.go``).
    - Every other command: 1.
    """
    if isinstance(error, FlagError):
        return ENGINE_FAILED
    if runs_container and not isinstance(error, UsageError):
        code = getattr(error, "exit_code", None)  # an OSError has none
        return code if code in (126, 127) else ENGINE_FAILED
    return REQUEST_FAILED
