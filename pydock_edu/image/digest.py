"""Digests: the content addresses that name layers, configs, manifests and images.

A digest is ``<algorithm>:<hex>``; pydock knows one algorithm, so every digest is ``sha256:``
and 64 lower-case hex digits. Digests arrive from places nobody checked (an archive's config, a
registry's manifest, a state file), and the store turns them into file names
(``layers/<hex>/``, ``configs/<hex>.json``), so ``sha256:../../../etc`` would name a host
directory. Every digest is therefore matched against the one pattern below before it names
anything: at the door it came in by, and again by the store when it builds a path.
"""

import re

from ..errors import PydockError

PATTERN = re.compile(r"sha256:[0-9a-f]{64}")


class InvalidDigest(PydockError):
    """Something that should be a digest is not one (the request fails: exit 1)."""

    exit_code = 1


def is_digest(value):
    """True for ``sha256:`` and 64 lower-case hex digits, and nothing else."""
    return isinstance(value, str) and PATTERN.fullmatch(value) is not None


def check(value, what="digest"):
    """Return ``value`` if it is a well-formed digest; otherwise refuse it, naming ``what`` it was."""
    if not is_digest(value):
        raise InvalidDigest(f"invalid {what} {_shown(value)}: a digest is sha256: and 64 hex digits")
    return value


def hex_of(value, what="digest"):
    """The 64 hex digits of a checked digest: the only part of it that ever names a file."""
    return check(value, what)[7:]


def _shown(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
