"""Fixtures for the registry tests: real registries on 127.0.0.1, a token server, images made to order.

- ``registry``: Debian's ``docker-registry`` (the CNCF distribution registry), anonymous, one per
  session; ``new_registry(auth="", tls=None)`` starts a fresh one, for tests that tamper with its
  storage or need TLS (``tls=(certificate, key)``).
- ``basic_registry``: the same behind htpasswd (``htpasswd -Bbn``), user ``student``.
- ``token_registry``: the same configured for bearer tokens, with a token server: a small HTTP
  server in this process that checks basic credentials and issues RS256-signed JWTs (signed with
  ``openssl dgst``, the certificate made with ``openssl req``) which the registry verifies.
- ``make_image(name, layers)``: an image of the busybox layer plus layers given as
  ``{path: bytes}`` (``None`` for a whiteout), stored through the image store's API.
- ``client_config`` (automatic): a fresh ``PYDOCK_CONFIG`` directory for credentials and daemon.json.

Every process is stopped and every directory removed at teardown. All traffic stays on 127.0.0.1.
"""

import base64
import hashlib
import io
import json
import os
import pathlib
import shutil
import socket
import ssl
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

REGISTRY_BINARY = "/usr/bin/docker-registry"
USER, PASSWORD = "student", "s3cret-pass"
SERVICE, ISSUER = "pydock-test-registry", "pydock-test-token-server"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RegistryServer:
    """One ``docker-registry serve`` process with its own storage, config and log under ``workdir``."""

    def __init__(self, workdir, auth="", tls=None):
        if not os.access(REGISTRY_BINARY, os.X_OK):
            pytest.skip(f"{REGISTRY_BINARY} is not installed (setup.sh installs docker-registry)")
        self.workdir = workdir
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.storage = os.path.join(workdir, "storage")
        self.log_path = os.path.join(workdir, "registry.log")
        config = os.path.join(workdir, "config.yml")
        with open(config, "w") as f:
            f.write(f"""version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {self.storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{self.port}
  secret: pydock-test-secret
{f"  tls:{chr(10)}    certificate: {tls[0]}{chr(10)}    key: {tls[1]}{chr(10)}" if tls else ""}{auth}""")
        self.scheme = "https" if tls else "http"
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([REGISTRY_BINARY, "serve", config], stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.read_log()}")
            try:
                urllib.request.urlopen(f"{self.scheme}://{self.host}/v2/", timeout=2,
                                       context=ssl._create_unverified_context()).close()  # up is all we check
                return
            except urllib.error.HTTPError:
                return  # 401: up, and asking for credentials
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"docker-registry did not answer on {self.host}: {self.read_log()}")

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def log_mark(self):
        """A position in the access log; :meth:`requests_since` lists the requests after it."""
        return os.path.getsize(self.log_path)

    def requests_since(self, mark):
        """``["GET /v2/x/blobs/sha256:...", ...]``: the requests logged after ``mark``.

        A sentinel request is sent first and awaited in the log, so every request made before
        this call has had its line written.
        """
        sentinel = f"/v2/?sentinel={uuid.uuid4().hex}"
        try:
            urllib.request.urlopen(f"{self.scheme}://{self.host}{sentinel}", timeout=5,
                                   context=ssl._create_unverified_context()).close()
        except urllib.error.HTTPError:
            pass  # 401 from a registry that wants credentials: logged all the same
        deadline = time.monotonic() + 10
        while True:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                lines = f.read().decode(errors="replace").splitlines()
            requests = [line.split('"')[1].rsplit(" ", 1)[0] for line in lines
                        if line.count('"') >= 2 and "HTTP/1." in line]
            if f"GET {sentinel}" in requests:
                return requests[:requests.index(f"GET {sentinel}")]
            if time.monotonic() > deadline:
                raise RuntimeError(f"the registry did not log {sentinel}")
            time.sleep(0.02)

    def blob_file(self, digest):
        """Where the registry keeps a blob's bytes."""
        hexdigest = digest.split(":", 1)[1]
        return os.path.join(self.storage, "docker/registry/v2/blobs/sha256", hexdigest[:2], hexdigest, "data")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _start(auth="", tls=None):
    workdir = tempfile.mkdtemp(prefix="pydock-registry-")
    try:
        return RegistryServer(workdir, auth, tls)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _stop(server):
    server.stop()
    shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def registry():
    server = _start()
    yield server
    _stop(server)


@pytest.fixture
def new_registry():
    """``new_registry(auth="")`` starts a registry for this test alone."""
    servers = []

    def start(auth="", tls=None):
        servers.append(_start(auth, tls))
        return servers[-1]

    yield start
    for server in servers:
        _stop(server)


@pytest.fixture(scope="session")
def basic_registry():
    workdir = tempfile.mkdtemp(prefix="pydock-htpasswd-")
    try:
        htpasswd = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, text=True, check=True)
        path = os.path.join(workdir, "htpasswd")
        with open(path, "w") as f:
            f.write(htpasswd.stdout)
        server = _start(f"auth:\n  htpasswd:\n    realm: pydock-test\n    path: {path}\n")
    except FileNotFoundError:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.skip("htpasswd is not installed (setup.sh installs apache2-utils)")
    yield server
    _stop(server)
    shutil.rmtree(workdir, ignore_errors=True)


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """A token server for the registry's bearer flow: ``GET /token?service=...&scope=...``.

    With the right basic credentials it grants every scope asked; anonymously it grants nothing
    (so the registry refuses). Tokens are JWTs signed RS256 with a key made by ``openssl``; the
    header carries the certificate (``x5c``), which the registry checks against its rootcertbundle.
    """

    def __init__(self, workdir):
        self.key = os.path.join(workdir, "token.key")
        self.cert = os.path.join(workdir, "token.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key,
                        "-out", self.cert, "-days", "2", "-subj", "/CN=pydock test token server"],
                       check=True, capture_output=True)
        with open(self.cert) as f:
            self.cert_der_b64 = "".join(line for line in f.read().splitlines() if "-----" not in line)
        self.issued = []  # (account or None, scopes asked)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = parse_qs(urlsplit(self.path).query)
                account = server.check(self.headers.get("Authorization"))
                if account is False:
                    self.send_response(401)
                    self.end_headers()
                    return
                scopes = query.get("scope", [])
                server.issued.append((account, scopes))
                body = json.dumps({"token": server.token(account, scopes), "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def check(header):
        """The account named by valid basic credentials, None when anonymous, False when wrong."""
        if not header:
            return None
        user, _, password = base64.b64decode(header.split(" ", 1)[1]).decode().partition(":")
        return user if (user, password) == (USER, PASSWORD) else False

    def token(self, account, scopes):
        access = []
        if account:
            for scope in scopes:
                kind, name_actions = scope.split(":", 1)
                name, _, actions = name_actions.rpartition(":")
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.cert_der_b64]}
        claims = {"iss": ISSUER, "sub": account or "", "aud": SERVICE, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key], input=signing_input.encode(),
                                   capture_output=True, check=True).stdout
        return f"{signing_input}.{_b64url(signature)}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="session")
def token_registry():
    """(registry, token server): a registry that accepts only the token server's JWTs."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed (setup.sh installs it)")
    workdir = tempfile.mkdtemp(prefix="pydock-token-")
    tokens = TokenServer(workdir)
    try:
        server = _start(f"auth:\n  token:\n    realm: {tokens.realm}\n    service: {SERVICE}\n"
                        f"    issuer: {ISSUER}\n    rootcertbundle: {tokens.cert}\n")
    except BaseException:
        tokens.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    yield server, tokens
    _stop(server)
    tokens.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(autouse=True)
def client_config(monkeypatch):
    """A fresh, private ``PYDOCK_CONFIG`` directory (credentials, daemon.json) for every test here, so
    the user's own ``~/.pydock`` never takes part."""
    directory = tempfile.mkdtemp(prefix="pydock-config-")
    monkeypatch.setenv("PYDOCK_CONFIG", directory)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def layer_tar(files):
    """A layer tar of ``{path: bytes}``; a value of None makes a whiteout (``.wh.<name>``)."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w", format=tarfile.PAX_FORMAT) as archive:
        directories = sorted({os.path.dirname(p) for p in files if os.path.dirname(p)})
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
            archive.addfile(info)
        for path, content in sorted(files.items()):
            if content is None:
                path = os.path.join(os.path.dirname(path), ".wh." + os.path.basename(path))
                content = b""
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(content), 0o644, 1_700_000_000
            archive.addfile(info, io.BytesIO(content))
    return data.getvalue()


@pytest.fixture
def make_image(busybox_image):
    """``make_image(name, [{path: bytes}, ...])``: busybox's layer plus these layers, tagged ``name``."""
    from pydock_edu.image import store

    images = store.ImageStore()

    def make(name, layers):
        base = images.layers(images.resolve(busybox_image))
        diff_ids = base + [images.add_layer(io.BytesIO(layer_tar(files))) for files in layers]
        history = [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {i}"} for i in range(len(diff_ids))]
        config = store.new_config(diff_ids, {"Cmd": ["sh"]}, history, created=1_700_000_000 + len(name))
        image_id = images.put_config(config)
        images.tag(image_id, name)
        return image_id

    return make


@pytest.fixture
def unique():
    """A fresh repository-name suffix, so tests sharing one registry and one store never collide."""
    return uuid.uuid4().hex[:10]


class RawRegistryAPI:
    """Direct Registry API V2 calls (urllib), to put exactly the blobs and manifests a test needs."""

    layer_tar = staticmethod(layer_tar)

    @staticmethod
    def digest(data):
        return "sha256:" + hashlib.sha256(data).hexdigest()

    def upload(self, host, repo, data):
        """A monolithic blob upload: ``POST`` an upload, then ``PUT`` the bytes with their digest."""
        digest = self.digest(data)
        start = urllib.request.Request(f"http://{host}/v2/{repo}/blobs/uploads/", method="POST", data=b"")
        with urllib.request.urlopen(start) as response:
            location = response.headers["Location"]
        separator = "&" if "?" in location else "?"
        put = urllib.request.Request(f"{location}{separator}digest={digest}", method="PUT", data=data,
                                     headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(put).close()
        return {"digest": digest, "size": len(data)}

    def put_manifest(self, host, repo, reference, document, media_type):
        data = json.dumps(document).encode()
        put = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{reference}", method="PUT", data=data,
                                     headers={"Content-Type": media_type})
        urllib.request.urlopen(put).close()
        return self.digest(data), len(data)


@pytest.fixture
def registry_api():
    return RawRegistryAPI()


@pytest.fixture
def forget_image():
    """``forget_image(name)``: delete a local image (all its tags) through the store, as ``rmi -f`` would."""
    from pydock_edu.image import store

    def forget(name):
        images = store.ImageStore()
        image_id = images.resolve(name)
        for tag in images.tags_of(image_id):
            images.untag(tag)
        images.delete(image_id)

    return forget


@pytest.fixture
def closed_port():
    """A 127.0.0.1 port nobody listens on."""
    return free_port()


@pytest.fixture
def workdir():
    """A temporary directory, removed after the test (pytest's tmp_path would be kept)."""
    directory = tempfile.mkdtemp(prefix="pydock-registry-test-")
    yield pathlib.Path(directory)
    shutil.rmtree(directory, ignore_errors=True)
