"""A client of the Docker Registry HTTP API V2 (the OCI distribution spec): the requests behind pull and push.

Every path is under ``/v2/`` of the registry::

    GET   /v2/                                   a registry? which authentication does it want?
    GET   /v2/<name>/manifests/<tag|digest>      a manifest (``Accept``: the formats we read)
    PUT   /v2/<name>/manifests/<tag>             store a manifest under a tag
    HEAD  /v2/<name>/blobs/<digest>              does the repository have this blob?
    GET   /v2/<name>/blobs/<digest>              a blob (a layer or a config), named by its sha256
    POST  /v2/<name>/blobs/uploads/              start an upload: 202 and a Location to send to
    POST  /v2/<name>/blobs/uploads/?mount=<digest>&from=<other>
                                                 link a blob another repository has: 201, no upload
    PATCH <location>                             the bytes (chunked transfer encoding)
    PUT   <location>&digest=<digest>             finish; the registry checks the digest
    GET   /v2/<name>/tags/list                   the tags of a repository
    GET   /v2/_catalog                           the repositories of the registry

Transport: plain HTTP for registries on loopback (``localhost``, ``127.0.0.0/8``, ``[::1]``) and for
those listed as insecure; HTTPS, checked against the system's CA certificates, everywhere else.
Connections are kept alive, one per thread, since layers move in parallel threads.

Configuration, in the format of Docker's ``daemon.json``, is read from ``daemon.json`` in the
client's config directory (``$PYDOCK_CONFIG``, or ``~/.pydock``, beside ``config.json``): pydock has
no daemon, so its registry settings belong to the user who runs it::

    {"insecure-registries": ["myregistry:5000", "10.0.0.0/8"],
     "registry-mirrors": ["https://mirror.example.com"]}

Mirrors serve Docker Hub's images under the same names: pulls of ``docker.io`` images try each mirror
in turn and fall back to Docker Hub itself.
"""

import contextlib
import hashlib
import json
import os
import threading
from dataclasses import dataclass

from .. import explain
from ..errors import InvalidArgument, PydockError
from . import auth
from .reference import DEFAULT_DOMAIN

HUB_REGISTRY = "https://registry-1.docker.io"
HUB_INDEX = "https://index.docker.io"
LOOPBACK_NAMES = ("localhost", "::1")
MAX_MANIFEST = 4 << 20  # a manifest is small JSON; refuse anything bigger
TIMEOUT = 60


class RegistryError(PydockError):
    """A registry refused, failed, or sent something that does not verify (``docker pull`` exits 1)."""

    exit_code = 1

    def __init__(self, message, status=None, codes=(), detail=None):
        super().__init__(message)
        self.status, self.codes, self.detail = status, tuple(codes), detail or message


@dataclass(frozen=True)
class Endpoint:
    """Where to reach a registry: ``url`` (scheme and host), and whether it is a mirror."""

    url: str
    credentials_key: str
    mirror: bool = False


def daemon_config():
    """The settings of ``<config dir>/daemon.json``, or {} without that file."""
    path = os.path.join(auth.config_dir(), "daemon.json")
    try:
        with open(path, "rb") as f:
            return json.loads(f.read() or b"{}")
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise PydockError(f"{path}: invalid JSON: {e}") from None


def is_insecure(domain, config=None):
    """Whether to talk plain HTTP to ``domain``: loopback, or listed in ``insecure-registries``."""
    import ipaddress

    config = daemon_config() if config is None else config
    host = _host_of(domain)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host in LOOPBACK_NAMES or (address is not None and address.is_loopback):
        return True
    for entry in config.get("insecure-registries") or []:
        if entry in (domain, host):
            return True
        if address is not None and "/" in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False


def _host_of(domain):
    """``127.0.0.1:5000`` -> ``127.0.0.1``; ``[::1]:5000`` -> ``::1``."""
    if domain.startswith("["):
        return domain[1:].split("]", 1)[0]
    return domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain


def endpoint(domain, config=None):
    """The endpoint of the registry ``domain`` itself (Docker Hub's API lives at registry-1.docker.io)."""
    if domain == DEFAULT_DOMAIN:
        return Endpoint(HUB_REGISTRY, auth.HUB_SERVER)
    scheme = "http" if is_insecure(domain, config) else "https"
    return Endpoint(f"{scheme}://{domain}", auth.server_key(domain))


def pull_endpoints(domain):
    """Where to pull from, in order: for Docker Hub the configured mirrors first, then the registry."""
    config = daemon_config()
    mirrors = []
    if domain == DEFAULT_DOMAIN:
        for url in config.get("registry-mirrors") or []:
            if "://" not in url:
                raise InvalidArgument(f"invalid mirror: {url!r}: it needs a scheme (http:// or https://)")
            url = url.rstrip("/")
            mirrors.append(Endpoint(url, auth.server_key(url), mirror=True))
    return mirrors + [endpoint(domain, config)]


def error_text(body):
    """The registry's JSON errors as Docker prints them: ``manifest unknown: manifest unknown``."""
    try:
        errors = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        return "", []
    codes = [e.get("code", "") for e in errors]
    texts = [f"{e.get('code', 'unknown').lower().replace('_', ' ')}: {e.get('message', '')}" for e in errors]
    return "; ".join(texts), codes


class Registry:
    """A session with one registry: kept-alive connections, and credentials or tokens for ``scopes``.

    ``scopes`` are what a bearer token must grant, such as ``repository:app:pull,push``; a challenge
    asking for more (``insufficient_scope``) adds to them.
    """

    def __init__(self, url, creds=None, scopes=()):
        from urllib.parse import urlsplit

        self.url = url.rstrip("/")
        self.netloc = urlsplit(self.url).netloc
        self.creds = creds
        self.scopes = set(scopes)
        self._authorization = None  # the Authorization header that the last challenge asked for
        self._granted = None  # the scopes of the current bearer token
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections = []
        self._tls = None

    def close(self):
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    # Requests

    def request(self, method, path, headers=None, body=None, expect=(200,), stream=False):
        """Send a request, answering authentication challenges; return (response, body bytes).

        With ``stream`` the body is left to read from the response (all of it, before the next
        request of this thread). A status outside ``expect`` raises :class:`RegistryError`.
        """
        from urllib.parse import urljoin, urlsplit

        url = urljoin(self.url + "/", path)
        replayable = body is None or isinstance(body, bytes)
        for attempt in range(3):
            used = self._authorization
            response = self._send(method, url, headers, body, replayable)
            if response.status == 401 and replayable and attempt < 2 and self._answer(response, used):
                response.read()
                continue
            break
        redirects = 0
        while response.status in (301, 302, 303, 307, 308) and method in ("GET", "HEAD") and redirects < 5:
            response.read()
            url = urljoin(url, response.getheader("Location"))
            response = self._send(method, url, headers, None, True, authorize=urlsplit(url).netloc == self.netloc)
            redirects += 1
        if response.status not in expect:
            raise self._failure(method, url, response)
        if stream:
            return response, None
        data = response.read()
        return response, data

    def _send(self, method, url, headers, body, replayable, authorize=True):
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = dict(headers or {})
        if authorize and self._authorization:
            headers["Authorization"] = self._authorization
        explain.step("http", f"{method} {url}")
        for retry in (True, False):
            connection = self._connection(parts.scheme, parts.netloc)
            try:
                connection.request(method, target, body=body, headers=headers)
                return connection.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                self._drop(parts.scheme, parts.netloc)
                if not (retry and replayable):  # a kept-alive connection the server had closed: once more
                    raise RegistryError(f'{method.title()} "{url}": {e}') from None
            except (OSError, http.client.HTTPException, ValueError) as e:  # ValueError: a malformed URL
                self._drop(parts.scheme, parts.netloc)
                raise RegistryError(f'{method.title()} "{url}": {_reason(e)}') from None

    def _connection(self, scheme, netloc):
        """This thread's kept-alive connection to ``scheme://netloc``."""
        import http.client

        pool = self._local.__dict__.setdefault("pool", {})
        connection = pool.get((scheme, netloc))
        if connection is None:
            if scheme == "https":
                if self._tls is None:
                    import ssl

                    self._tls = ssl.create_default_context()
                connection = http.client.HTTPSConnection(netloc, timeout=TIMEOUT, context=self._tls)
            else:
                connection = http.client.HTTPConnection(netloc, timeout=TIMEOUT)
            pool[(scheme, netloc)] = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _drop(self, scheme, netloc):
        connection = self._local.__dict__.get("pool", {}).pop((scheme, netloc), None)
        if connection is not None:
            connection.close()

    def _answer(self, response, used):
        """Take up a 401's challenge to a request sent with Authorization ``used``; False if there is
        nothing new to try."""
        scheme, params = auth.parse_challenge(response.getheader("WWW-Authenticate"))
        with self._lock:
            if self._authorization != used:
                return True  # another thread has answered a challenge meanwhile: try its answer
            if scheme == "basic" and self.creds:
                header = auth.basic_header(self.creds)
                if header == self._authorization:
                    return False
                self._authorization = header
                return True
            if scheme == "bearer" and params.get("realm"):
                wanted = auth.merge_scopes(self.scopes | set((params.get("scope") or "").split()))
                if self._granted is not None and wanted <= self._granted:
                    return False  # the token covers what was asked, and the registry still refuses
                self.scopes = wanted
                self._authorization = "Bearer " + auth.fetch_token(params, wanted, self.creds)
                self._granted = wanted
                return True
        return False

    def _failure(self, method, url, response):
        body = response.read() if method != "HEAD" else b""
        text, codes = error_text(body)
        if response.status == 401:
            scheme, _ = auth.parse_challenge(response.getheader("WWW-Authenticate"))
            if scheme == "basic" and not self.creds:
                text = "no basic auth credentials"
        if not text:  # no JSON errors (a HEAD has no body): say what Docker says
            text = {401: "unauthorized: authentication required",
                    403: "denied: requested access to the resource is denied"}.get(
                response.status, f"{response.status} {response.reason}")
        return RegistryError(f'{method.title()} "{url}": {text}', response.status, codes, text)

    # The API

    def get_manifest(self, name, reference, accept):
        """The manifest ``name:reference`` as (bytes, media type, Docker-Content-Digest header)."""
        with self._stream(f"/v2/{name}/manifests/{reference}", {"Accept": ", ".join(accept)}) as response:
            data = response.read(MAX_MANIFEST + 1)
            if len(data) > MAX_MANIFEST:
                raise RegistryError(f"manifest for {name}:{reference} is bigger than {MAX_MANIFEST} bytes")
        media_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return data, media_type, response.getheader("Docker-Content-Digest")

    def put_manifest(self, name, tag, data, media_type):
        """Store a manifest under ``tag``; return the digest the registry gives it."""
        response, _ = self.request("PUT", f"/v2/{name}/manifests/{tag}", body=data,
                                   headers={"Content-Type": media_type}, expect=(201,))
        return response.getheader("Docker-Content-Digest")

    def blob_exists(self, name, digest):
        response, _ = self.request("HEAD", f"/v2/{name}/blobs/{digest}", expect=(200, 404))
        return response.status == 200

    @contextlib.contextmanager
    def _stream(self, path, headers=None):
        """``GET path`` as a response to read inside the ``with`` block.

        If the block fails, this thread's connections are closed: the unread rest of the body
        would otherwise be taken for the next response.
        """
        response, _ = self.request("GET", path, headers=headers, stream=True)
        try:
            yield response
        except BaseException:
            response.close()
            for scheme, netloc in list(self._local.__dict__.get("pool", {})):
                self._drop(scheme, netloc)
            raise

    def blob_stream(self, name, digest):
        """The blob's bytes, as a response to read to its end in a ``with`` block."""
        return self._stream(f"/v2/{name}/blobs/{digest}")

    def get_blob(self, name, digest, limit):
        """A small blob (a config) in memory; more than ``limit`` bytes is an error."""
        with self.blob_stream(name, digest) as response:
            data = response.read(limit + 1)
            if len(data) > limit:
                raise RegistryError(f"blob {digest} of {name} is bigger than its {limit} bytes")
        return data

    def mount_blob(self, name, digest, source):
        """Ask the registry to link ``digest`` from repository ``source``: (True, None) if it did,
        else (False, location of the upload it opened instead)."""
        from urllib.parse import quote

        response, _ = self.request("POST", f"/v2/{name}/blobs/uploads/?mount={digest}&from={quote(source)}",
                                   headers={"Content-Length": "0"}, expect=(201, 202))
        return response.status == 201, response.getheader("Location")

    def upload_blob(self, name, chunks, location=None):
        """Upload the bytes ``chunks`` yields (streamed, chunked encoding); return (digest, size).

        The digest is computed while sending; the registry checks it when the upload is finished.
        """
        from urllib.parse import urljoin

        if location is None:
            response, _ = self.request("POST", f"/v2/{name}/blobs/uploads/", headers={"Content-Length": "0"},
                                       expect=(202,))
            location = response.getheader("Location")
        sha256, size = hashlib.sha256(), 0

        def hashed():
            nonlocal size
            for chunk in chunks:
                sha256.update(chunk)
                size += len(chunk)
                yield chunk

        location = urljoin(self.url + "/", location)
        response, _ = self.request("PATCH", location, body=hashed(), expect=(202,),
                                   headers={"Content-Type": "application/octet-stream"})
        location = urljoin(location, response.getheader("Location"))
        digest = "sha256:" + sha256.hexdigest()
        self.request("PUT", location + ("&" if "?" in location else "?") + f"digest={digest}",
                     headers={"Content-Length": "0"}, expect=(201,))
        return digest, size

    def _pages(self, path, key):
        """Follow a paginated list (``Link: </v2/...>; rel="next"``) and gather ``key`` of every page."""
        from urllib.parse import urljoin

        items, url = [], path
        while url:
            response, data = self.request("GET", url)
            try:
                page = json.loads(data).get(key) or []
            except (ValueError, AttributeError):
                raise RegistryError(f'GET "{url}": the registry sent something that is not a JSON list') from None
            if not isinstance(page, list):
                raise RegistryError(f'GET "{url}": {key!r} is not a list')
            items += page
            link = response.getheader("Link") or ""
            url = urljoin(self.url + "/", link.split(";")[0].strip(" <>")) if 'rel="next"' in link else None
        return items

    def tags(self, name):
        return self._pages(f"/v2/{name}/tags/list", "tags")

    def catalog(self):
        return self._pages("/v2/_catalog?n=1000", "repositories")


def _reason(error):
    """An OS or HTTP error as a short text: ``connection refused``."""
    import socket

    if isinstance(error, ConnectionRefusedError):
        return "connect: connection refused"
    if isinstance(error, socket.gaierror):
        return f"lookup failed: {error.strerror}"
    if isinstance(error, TimeoutError):
        return "i/o timeout"
    return str(error) or type(error).__name__


def session(endpoint, scopes=()):
    """A :class:`Registry` for ``endpoint`` with the credentials stored for it."""
    return Registry(endpoint.url, auth.credentials(endpoint.credentials_key), scopes)


def login(server, username, password):
    """Check the credentials against the registry (``GET /v2/`` through its challenge), then store them.

    Returns the ``auths`` key they were stored under.
    """
    key = auth.server_key(server)
    domain = DEFAULT_DOMAIN if key == auth.HUB_SERVER else key
    client = Registry(endpoint(domain).url, (username, password))
    try:
        response, _ = client.request("GET", "/v2/", expect=(200, 401))
        if response.status == 401:
            raise auth.AuthError(f"login attempt to {client.url}/v2/ failed with status: 401 Unauthorized")
    finally:
        client.close()
    auth.store_credentials(key, username, password)
    return key


def search(term, limit=25, filters=()):
    """Repositories matching ``term`` as rows (Name, Description, StarCount, IsOfficial, IsAutomated).

    A term that starts with a registry (``127.0.0.1:5000/app``) searches that registry's catalog for
    repository names containing the rest; any other term asks Docker Hub's search API. ``filters``
    are ``stars=N``, ``is-official=true|false`` and ``is-automated=true|false``.
    """
    if not 1 <= limit <= 100:
        raise InvalidArgument(f"limit {limit} is outside the range of [1, 100]")
    keep = _search_filter(filters)
    first, slash, rest = term.partition("/")
    if not (slash and ("." in first or ":" in first or first == "localhost")) or first in auth.HUB_ALIASES:
        rows = _search_hub(rest if first in auth.HUB_ALIASES else term, limit)
    else:
        client = session(endpoint(first), scopes=["registry:catalog:*"])
        try:
            names = client.catalog()
        finally:
            client.close()
        rows = [{"Name": f"{first}/{name}", "Description": "", "StarCount": 0, "IsOfficial": False,
                 "IsAutomated": False} for name in sorted(names) if rest in name][:limit]
    return [row for row in rows if keep(row)]


def _search_filter(filters):
    """A test for search rows from ``--filter`` values."""
    tests = []
    for text in filters:
        key, _, value = text.partition("=")
        if key == "stars" and value.isdigit():
            tests.append(lambda row, least=int(value): row["StarCount"] >= least)
        elif key in ("is-official", "is-automated") and value in ("true", "false"):
            field = "IsOfficial" if key == "is-official" else "IsAutomated"
            tests.append(lambda row, field=field, want=value == "true": row[field] == want)
        elif key in ("stars", "is-official", "is-automated"):
            raise InvalidArgument(f"invalid filter '{text}'")
        else:
            raise InvalidArgument(f"invalid filter '{key}'")
    return lambda row: all(test(row) for test in tests)


def _search_hub(term, limit):
    """Docker Hub's search: ``GET https://index.docker.io/v1/search?q=<term>&n=<limit>``."""
    from urllib.parse import urlencode

    client = Registry(HUB_INDEX, auth.credentials(auth.HUB_SERVER))
    try:
        _, data = client.request("GET", "/v1/search?" + urlencode({"q": term, "n": limit}))
    finally:
        client.close()
    return [{"Name": r.get("name", ""), "Description": r.get("description") or "",
             "StarCount": r.get("star_count", 0), "IsOfficial": bool(r.get("is_official")),
             "IsAutomated": bool(r.get("is_automated"))} for r in json.loads(data).get("results") or []][:limit]
