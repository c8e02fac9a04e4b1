"""Image references: the names users type, like ``busybox`` or ``localhost:5000/app:1.0``.

A reference has up to four parts, ``[domain/]path[:tag][@digest]``:

- the *domain* is the registry (``docker.io`` when none is given). The first
  ``/``-separated component is a domain only if it looks like a host name: it has
  a ``.`` or a ``:port``, is ``localhost``, or has capital letters (which a
  repository path may not have);
- the *path* is the repository inside the registry. Official images on Docker Hub
  live under ``library/``, so ``busybox`` means ``docker.io/library/busybox``;
- the *tag* names one version (``latest`` when neither tag nor digest is given);
- the *digest* pins the exact content: ``sha256:`` and 64 hex digits.

Docker shows the *familiar* form (``busybox:latest``) and stores the full one
(``docker.io/library/busybox:latest``). The rules and error texts follow Docker's
``distribution/reference`` package.
"""
import re
from collections import namedtuple

from ..errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_NAMESPACE = "library"
DEFAULT_TAG = "latest"
NAME_MAX_LENGTH = 255

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
DOMAIN = re.compile(rf"(?:{_HOST_PART}(?:\.{_HOST_PART})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?")
_REMAINDER = re.compile(
    rf"(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>\w[\w.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?",
    re.ASCII,
)
TAG = re.compile(r"\w[\w.-]{0,127}", re.ASCII)
_FULL_ID = re.compile(r"[0-9a-f]{64}")
_ID_PREFIX = re.compile(r"(?:sha256:)?[0-9a-f]{1,64}")


class Reference(namedtuple("Reference", "domain path tag digest", defaults=(None, None))):
    """A parsed image reference, always in full form (domain and path both set)."""

    __slots__ = ()

    @property
    def full_repository(self):
        """The repository with its registry: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def repository(self):
        """The repository as Docker shows it: ``busybox``, ``user/repo``, ``localhost:5000/x``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.full_repository
        namespace, _, rest = self.path.partition("/")
        if namespace == OFFICIAL_NAMESPACE and "/" not in rest:
            return rest
        return self.path

    def familiar(self):
        """The reference as Docker prints it: ``busybox:latest``, ``x:1@sha256:...``."""
        text = self.repository
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text

    def __str__(self):
        return self.familiar()


def parse(text, default_tag=DEFAULT_TAG):
    """Parse and normalise an image reference as ``docker pull``/``run`` read it.

    ``default_tag`` is added when the text has neither a tag nor a digest;
    pass None to leave such a reference untagged (as ``docker images busybox`` does).
    """
    if _FULL_ID.fullmatch(text):
        raise InvalidArgument(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = _split_domain(text)
    name = re.split("[:@]", remainder, maxsplit=1)[0]
    if name.lower() != name:
        raise InvalidArgument(
            f"invalid reference format: repository name ({name}) must be lowercase")
    match = _REMAINDER.fullmatch(remainder)
    if not match or not DOMAIN.fullmatch(domain):
        raise InvalidArgument("invalid reference format")
    path, tag, digest = match.group("path", "tag", "digest")
    if len(domain) + 1 + len(path) > NAME_MAX_LENGTH:
        raise InvalidArgument(f"repository name must not be more than {NAME_MAX_LENGTH} characters")
    if tag is None and digest is None:
        tag = default_tag
    return Reference(domain, path, tag, digest)


def _split_domain(text):
    """Split off the registry domain, adding Docker Hub's defaults when there is none."""
    first, slash, rest = text.partition("/")
    is_domain = slash and ("." in first or ":" in first or first == "localhost"
                           or first.lower() != first)
    domain, remainder = (first, rest) if is_domain else (DEFAULT_DOMAIN, text)
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = f"{OFFICIAL_NAMESPACE}/{remainder}"
    return domain, remainder


def looks_like_id(text):
    """True when ``text`` could be an image ID or a prefix of one (``sha256:`` optional)."""
    return bool(_ID_PREFIX.fullmatch(text))
