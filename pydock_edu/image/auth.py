"""Registry credentials and the two ways a registry asks for them: HTTP basic and bearer tokens.

Credentials live where ``docker login`` keeps them, in Docker's format, in the client's config
directory (``$PYDOCK_CONFIG``, or ``~/.pydock``)::

    config.json   {"auths": {"127.0.0.1:5000": {"auth": "<base64 of user:password>"}}}

The file is created with mode 0600 (only its owner may read it): the password is merely base64
encoded, not encrypted. Docker Hub's entry is keyed ``https://index.docker.io/v1/``, every other
registry by its ``host[:port]``.

A registry that wants credentials answers ``401 Unauthorized`` with a challenge:

- ``WWW-Authenticate: Basic realm="..."``: send ``Authorization: Basic base64(user:password)``
  with every request (a registry behind htpasswd);
- ``WWW-Authenticate: Bearer realm="https://auth/token",service="registry",scope="repository:app:pull"``:
  ask the token server at *realm* for a token for *service* and the *scopes* needed (with the
  credentials, if any, as basic auth), then send ``Authorization: Bearer <token>``. The token is a
  JWT the registry verifies with the token server's certificate; it names exactly what it grants,
  such as ``repository:app:pull,push``. Docker Hub works this way, anonymous pulls included.
"""

import base64
import json
import os

from .. import explain
from ..errors import PydockError
from .reference import DEFAULT_DOMAIN, DOMAIN, LEGACY_DOMAIN

HUB_SERVER = "https://index.docker.io/v1/"
HUB_ALIASES = (DEFAULT_DOMAIN, LEGACY_DOMAIN, "registry-1.docker.io", "index.docker.io/v1")


class AuthError(PydockError):
    """The registry or its token server refused the credentials (``docker pull`` exits 1)."""

    exit_code = 1


class InvalidAddress(PydockError):
    """A registry address that is not ``[scheme://]host[:port][/path]`` (the request fails: exit 1)."""

    exit_code = 1


def config_dir():
    """The client's config directory: ``$PYDOCK_CONFIG`` or ``~/.pydock``."""
    return os.environ.get("PYDOCK_CONFIG") or os.path.join(os.path.expanduser("~"), ".pydock")


def config_file():
    return os.path.join(config_dir(), "config.json")


def server_key(server=None):
    """The ``auths`` key of a registry: ``https://index.docker.io/v1/`` for Docker Hub, else host[:port]."""
    if not server:
        return HUB_SERVER
    scheme, separator, rest = server.partition("://")
    if separator and scheme not in ("http", "https"):
        raise InvalidAddress(f"invalid registry address {server!r}: only http:// and https:// are known")
    host = (rest if separator else server).rstrip("/")
    if host in HUB_ALIASES or server == HUB_SERVER:
        return HUB_SERVER
    address = host.split("/", 1)[0]
    port = address.rpartition("]")[2].partition(":")[2]
    if not DOMAIN.fullmatch(address) or port and not 0 < int(port) < 65536:
        raise InvalidAddress(f"invalid registry address {server!r}: a registry is HOST[:PORT], such as "
                             "localhost:5000 or [::1]:5000")
    return address


def load_config():
    try:
        with open(config_file(), "rb") as f:
            config = json.loads(f.read() or b"{}")
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise PydockError(f"{config_file()}: invalid JSON: {e}", 1) from None
    if not isinstance(config, dict) or not isinstance(config.get("auths", {}), dict):
        raise PydockError(f"{config_file()}: not a client configuration (an object with \"auths\")", 1)
    return config


def save_config(config):
    """Replace config.json atomically; the new file is created with mode 0600, its directory 0700."""
    path = config_file()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    explain.step("file", f"write {path} (mode 0600: it holds base64-encoded passwords)")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as f:
        json.dump(config, f, indent="\t")
        f.write("\n")
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


def credentials(server):
    """(username, password) stored for ``server``, or None."""
    entry = load_config().get("auths", {}).get(server_key(server))
    if not isinstance(entry, dict) or not entry.get("auth"):
        return None
    try:
        user, _, password = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
    except (ValueError, TypeError):  # binascii.Error and UnicodeDecodeError are ValueErrors
        from .store import report_damaged

        report_damaged(f"{config_file()}: damaged credentials for {server_key(server)} ignored (log in again)")
        return None
    return user, password


def store_credentials(server, username, password):
    config = load_config()
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    config.setdefault("auths", {})[server_key(server)] = {"auth": token}
    save_config(config)


def erase_credentials(server):
    """Forget the credentials of ``server``; False if there were none."""
    config = load_config()
    if server_key(server) not in config.get("auths", {}):
        return False
    del config["auths"][server_key(server)]
    save_config(config)
    return True


def basic_header(creds):
    return "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()


def parse_challenge(header):
    """``Bearer realm="x",service="y"`` -> ("bearer", {"realm": "x", "service": "y"})."""
    import re

    scheme, _, rest = (header or "").strip().partition(" ")
    params = {key.lower(): value for key, value in re.findall(r'(\w+)="([^"]*)"', rest)}
    return scheme.lower(), params


def merge_scopes(scopes):
    """One scope per resource: ``repository:app:pull`` and ``repository:app:push`` -> ``repository:app:pull,push``."""
    actions = {}
    for scope in scopes:
        resource, _, wanted = scope.rpartition(":")
        actions.setdefault(resource, set()).update(wanted.split(","))
    return {f"{resource}:{','.join(sorted(wanted))}" for resource, wanted in actions.items()}


def fetch_token(params, scopes, creds):
    """Ask the token server named by a bearer challenge for a token covering ``scopes``.

    ``GET <realm>?service=<service>&account=<user>&scope=<scope>...`` with the credentials as basic
    auth (none for an anonymous token). No scope at all (``login``) just checks the password.
    """
    import urllib.error
    import urllib.parse
    import urllib.request

    if not params["realm"].startswith(("https://", "http://")):  # urllib would also open file:// and ftp://
        raise AuthError(f"the registry's token server {params['realm']!r} is not an http(s) address")
    query = [("service", params["service"])] if params.get("service") else []
    if creds:
        query.append(("account", creds[0]))
    query += [("scope", scope) for scope in sorted(scopes)]
    url = params["realm"] + ("&" if "?" in params["realm"] else "?") + urllib.parse.urlencode(query)
    request = urllib.request.Request(url)
    if creds:
        request.add_header("Authorization", basic_header(creds))
    explain.step("http", f"GET {url} (a bearer token for {', '.join(sorted(scopes)) or 'login'})")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as e:
        if e.code == 401:
            raise AuthError(f'Get "{params["realm"]}": unauthorized: incorrect username or password') from None
        raise AuthError(f'Get "{params["realm"]}": token server answered {e.code} {e.reason}') from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise AuthError(f'Get "{params["realm"]}": {getattr(e, "reason", e)}') from None
    token = answer.get("token") or answer.get("access_token")
    if not token:
        raise AuthError(f'Get "{params["realm"]}": the token server sent no token')
    return token
