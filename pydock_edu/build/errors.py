"""The error of a build that fails while it runs, as opposed to a Dockerfile that cannot be read."""

from ..errors import PydockError


class BuildError(PydockError):
    """A failed step: ``COPY failed: ...``, a RUN that exits non-zero (then its code is ours).

    Docker's builder exits with 1 for these, and prints the message as it is.
    """

    exit_code = 1
