"""Errors a user sees: one line of text and the exit code Docker would use."""


class PydockError(Exception):
    """An engine error: printed as one line, exits with ``exit_code`` (125 like Docker)."""

    exit_code = 125

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


class CannotInvoke(PydockError):
    """The container's command exists but cannot be executed (Docker's 126)."""

    exit_code = 126


class CommandNotFound(PydockError):
    """The container's command does not exist in its filesystem (Docker's 127)."""

    exit_code = 127
