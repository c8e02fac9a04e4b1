"""Helpers the lab notebooks share: a private image registry to push to, and exercise checks.

Everything here is ordinary Python and Linux: the registry is Debian's ``docker-registry`` program
(the reference implementation of the registry HTTP API) listening on a free port of 127.0.0.1.
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

REGISTRY_PROGRAM = "/usr/bin/docker-registry"

CONFIG = """\
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {data}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
auth:
  htpasswd:
    realm: pydock-lab
    path: {htpasswd}
"""


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on right now (the kernel picks it for port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalRegistry:
    """A registry on ``127.0.0.1:<free port>`` that asks for a user name and password (HTTP basic auth).

    Its blobs, its configuration and its password file live in a temporary directory that
    :meth:`stop` removes, together with the process.
    """

    def __init__(self, user="student", password="lab-password"):
        self.user, self.password = user, password
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.dir = tempfile.mkdtemp(prefix="pydock-lab-registry-")
        self.process = None

    def start(self):
        """Write the configuration and the bcrypt password file, start the program, wait until it answers."""
        htpasswd = os.path.join(self.dir, "htpasswd")
        entry = subprocess.run(["htpasswd", "-Bbn", self.user, self.password], check=True,
                               capture_output=True, text=True).stdout
        with open(htpasswd, "w") as f:
            f.write(entry)
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as f:
            f.write(CONFIG.format(data=os.path.join(self.dir, "data"), port=self.port, htpasswd=htpasswd))
        log_path = os.path.join(self.dir, "registry.log")
        with open(log_path, "w") as log:
            self.process = subprocess.Popen([REGISTRY_PROGRAM, "serve", config], stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while self.status("/v2/") is None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                with open(log_path) as log:
                    said = log.read().strip()[-500:]
                self.stop()
                raise RuntimeError(f"{REGISTRY_PROGRAM} serve did not answer on {self.address}: {said}")
            time.sleep(0.05)
        return self

    def _get(self, path, auth):
        """Open ``GET path`` on the registry, with the lab's credentials (HTTP basic auth) if ``auth``."""
        request = urllib.request.Request(f"http://{self.address}{path}")
        if auth:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        return urllib.request.urlopen(request, timeout=5)

    def status(self, path, auth=False):
        """The HTTP status of ``GET path``, or None if nothing answers."""
        try:
            with self._get(path, auth) as response:
                return response.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    def get_json(self, path):
        """``GET path`` with the lab's credentials, parsed as JSON."""
        with self._get(path, auth=True) as response:
            return json.load(response)

    def stop(self):
        """Stop the program (SIGTERM, then wait for it) and delete everything it stored."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def check(*items):
    """Print one line per exercise item, ``PASS`` or ``MISSING``, and a verdict.

    Each item is ``(ok, what)``: ``what`` says what the exercise asks for, so a student whose item
    fails reads exactly what is still missing.
    """
    missing = 0
    for ok, what in items:
        print(("PASS     " if ok else "MISSING  ") + what)
        missing += not ok
    print("All exercises pass." if not missing else f"{missing} item(s) missing: see the lines above.")
