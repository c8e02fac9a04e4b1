"""Where tar-producing commands (``save``, ``export``) write: ``-o FILE`` or standard output."""

import contextlib
import os

from ..errors import PydockError
from .main import is_terminal


@contextlib.contextmanager
def output_file(ctx, path):
    """A binary file to write to: ``path`` (written under a temporary name, renamed when complete,
    as Docker does) or standard output, which must not be a terminal."""
    if not path:
        out = ctx.binary_stdout() or ctx.stdout
        if is_terminal(out):
            raise PydockError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
        ctx.stdout.flush()
        yield out
        out.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise PydockError(f"failed to save image: invalid output path: directory {directory!r} does not exist")
    if os.path.isdir(path):
        raise PydockError(f"invalid output path: {path!r} is a directory")
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            yield out
        os.rename(temporary, path)
    finally:
        with contextlib.suppress(OSError):  # also when the name was too long to make the file at all
            os.unlink(temporary)


def binary_stdin(ctx):
    return getattr(ctx.stdin, "buffer", ctx.stdin)


