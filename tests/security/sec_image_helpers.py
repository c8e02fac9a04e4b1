"""Crafted images for the image-door attacks: tarballs with hostile configs, a registry that lies, canaries.

- :func:`image_tarball` writes a ``docker save`` style tarball around any config the test makes up;
- :class:`CraftedRegistry` is a tiny HTTP server on 127.0.0.1 that answers the registry API with
  whatever documents the test gives it (a real registry would refuse to store some of them);
- fixtures: ``canary`` (a directory under /var/tmp shaped like a stored layer, ``diff/hostfile``
  inside), ``own_root`` (a private ``PYDOCK_ROOT`` for tests that damage state on purpose) and
  ``crafted_registry``. Import the fixtures into a test module to use them.
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sysconfig
import tarfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRET = "host-secret-of-the-canary"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_tar(files):
    """A tar of ``files``: {name: bytes} (regular files) or {name: None} (directories)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o755 if name.startswith("bin/") else 0o644
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def busybox_layer():
    """A layer with the host's static busybox as /bin/busybox, enough for ``busybox cat``."""
    with open("/bin/busybox", "rb") as f:
        return make_tar({"bin": None, "bin/busybox": f.read(), "etc": None, "etc/motd": b"crafted\n"})


def config(diff_ids, **fields):
    """An image config (dict) with ``diff_ids``; ``fields`` replace or add top-level keys (None: drop)."""
    document = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                "config": {"Cmd": ["/bin/busybox", "cat", "/etc/motd"], "Env": ["PATH=/bin"]},
                "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
                "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "crafted"} for _ in diff_ids]}
    for key, value in fields.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    return document


def image_tarball(path, config_document, layers, tags=("crafted:latest",)):
    """Write a ``docker save`` tarball to ``path``: manifest.json, the config and ``layers`` (tar bytes)
    as blobs. The config is written as given (a dict, or bytes for raw garbage)."""
    config_bytes = config_document if isinstance(config_document, bytes) else json.dumps(config_document).encode()
    files = {"blobs": None, "blobs/sha256": None, f"blobs/sha256/{sha256(config_bytes)[7:]}": config_bytes}
    for layer in layers:
        files[f"blobs/sha256/{sha256(layer)[7:]}"] = layer
    manifest = [{"Config": f"blobs/sha256/{sha256(config_bytes)[7:]}", "RepoTags": list(tags),
                 "Layers": [f"blobs/sha256/{sha256(layer)[7:]}" for layer in layers]}]
    files["manifest.json"] = json.dumps(manifest).encode()
    with open(path, "wb") as f:
        f.write(make_tar(files))
    return sha256(config_bytes)


def store_listing(root):
    """What the image store under ``root`` holds: (config files, layer directories, tags, tmp files)."""
    image = os.path.join(root, "image")

    def listing(sub):
        path = os.path.join(image, sub)
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    tags_file = os.path.join(image, "repositories.json")
    with open(tags_file) if os.path.exists(tags_file) else io.StringIO("{}") as f:
        tags = json.load(f)
    return listing("configs"), listing("layers"), tags, listing("tmp")


def one_line_error(res):
    """The command failed with exit 1 and said why in one line, without a Python traceback."""
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip() and not line.startswith("WARNING")]
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    return lines[0]


def no_traceback(res):
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr
    return res


# Fixtures


@pytest.fixture
def canary():
    """A directory under /var/tmp made by the test, shaped like a layer (``diff/hostfile``): what a
    hostile digest aims at. Yields its path; removed at teardown (if it survived)."""
    path = f"/var/tmp/pydock-canary-{uuid.uuid4().hex[:10]}"
    os.makedirs(os.path.join(path, "diff"))
    with open(os.path.join(path, "diff", "hostfile"), "w") as f:
        f.write(SECRET + "\n")
    yield path
    shutil.rmtree(path, ignore_errors=True)


class OwnRoot:
    """A private PYDOCK_ROOT: ``root.pydock(*args)`` runs the CLI against it, as the ``pydock`` fixture does.

    Its client configuration (credentials, daemon.json) is private too: ``client_dir``.
    """

    def __init__(self, path):
        self.path = path
        self.client_dir = os.path.join(path, "client")

    def pydock(self, *args, timeout=120, check=False):
        script = os.path.join(sysconfig.get_path("scripts"), "pydock")
        env = dict(os.environ, PYDOCK_ROOT=self.path, PYDOCK_CONFIG=self.client_dir)
        res = subprocess.run([script, *map(str, args)], check=False, capture_output=True, text=True, errors="replace",
                             timeout=timeout, env=env)
        if check and res.returncode != 0:
            pytest.fail(f"pydock {args} exited {res.returncode}: {res.stderr}", pytrace=False)
        return res

    def file(self, *parts):
        return os.path.join(self.path, "image", *parts)


def _own_root(parent):
    root = OwnRoot(os.path.join(parent, "sec-image-" + uuid.uuid4().hex[:8]))
    root.pydock("image", "bootstrap", "busybox", check=True, timeout=300)
    return root


def _remove_root(root):
    ids = root.pydock("ps", "-aq").stdout.split()
    if ids:
        root.pydock("rm", "-f", *ids)
    shutil.rmtree(root.path, ignore_errors=True)


@pytest.fixture
def own_root(pydock_root):
    """A fresh state root with busybox bootstrapped in it, for tests that damage state."""
    root = _own_root(pydock_root)
    yield root
    _remove_root(root)


@pytest.fixture(scope="module")
def module_root(pydock_root):
    """One such root for a whole module, whose tests leave its state as they found it."""
    root = _own_root(pydock_root)
    yield root
    _remove_root(root)


class CraftedRegistry:
    """Answers ``GET``/``HEAD /v2/...`` from ``routes`` ({path: bytes}); ``/v2/`` is 200, anything else 404.

    Manifests are sent with the media type of their ``mediaType`` field; everything else as a blob.
    With ``challenge`` set, a request without credentials gets ``401`` and that ``WWW-Authenticate``;
    the ``Authorization`` headers received are kept in ``authorizations``.
    """

    def __init__(self):
        self.routes, self.challenge, self.authorizations = {}, None, []
        crafted, routes = self, self.routes

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body):
                path = self.path.split("?", 1)[0]
                data = b"{}" if path == "/v2/" else routes.get(path)
                if self.headers.get("Authorization"):
                    crafted.authorizations.append(self.headers["Authorization"])
                if crafted.challenge and not self.headers.get("Authorization"):
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", crafted.challenge)
                    data = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
                elif data is None:
                    self.send_response(404)
                    data = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"not here"}]}'
                    self.send_header("Content-Type", "application/json")
                else:
                    self.send_response(200)
                    kind = "application/octet-stream"
                    if "/manifests/" in path:
                        kind = json.loads(data).get("mediaType", kind)
                    self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_GET(self):
                self._answer(True)

            def do_HEAD(self):
                self._answer(False)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def serve_image(self, repository, tag, config_document, layers):
        """Serve an image: its config (dict or bytes) and layers (uncompressed tars) under ``repository:tag``."""
        config_bytes = config_document if isinstance(config_document, bytes) else json.dumps(config_document).encode()
        blobs = [config_bytes, *layers]
        for blob in blobs:
            self.routes[f"/v2/{repository}/blobs/{sha256(blob)}"] = blob
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(config_bytes),
                       "digest": sha256(config_bytes)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": len(layer),
                        "digest": sha256(layer)} for layer in layers]}).encode()
        self.routes[f"/v2/{repository}/manifests/{tag}"] = manifest
        self.routes[f"/v2/{repository}/manifests/{sha256(manifest)}"] = manifest
        return f"{self.address}/{repository}:{tag}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def crafted_registry():
    server = CraftedRegistry()
    yield server
    server.stop()

