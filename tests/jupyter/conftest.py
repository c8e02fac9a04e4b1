"""Fixtures for the Jupyter tests: the pydock kernelspec in a temporary prefix, and a running kernel.

The kernel is started by jupyter_client from the installed kernelspec, as a notebook server would
start it; it inherits the session's environment (``PYDOCK_ROOT``, ``PYDOCK_CGROUP_PARENT``) and
its namespaces, so its containers are the session's. ``Kernel.run(code)`` executes a cell and
returns what the cell showed, in order, with the time each message arrived.
"""

import os
import queue
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

OUTPUTS = ("stream", "display_data", "update_display_data", "execute_result", "error", "comm_open", "comm_msg")


class Cell:
    """What one execution showed: ``outputs`` as (seconds since the request, msg_type, content)."""

    def __init__(self, outputs, reply):
        self.outputs, self.reply = outputs, reply

    @property
    def status(self):
        return self.reply["status"]

    def streams(self, name=None):
        return [(c["name"], c["text"]) for _, kind, c in self.outputs if kind == "stream" and name in (None, c["name"])]

    def text(self, name="stdout"):
        return "".join(text for _, text in self.streams(name))

    def data(self, kind=("execute_result", "display_data")):
        """The mime bundles the cell displayed, in order."""
        return [c["data"] for _, k, c in self.outputs if k in kind]

    def result(self):
        """The text/plain of the cell's value (its last execute_result)."""
        results = self.data(("execute_result",))
        return results[-1]["text/plain"] if results else None

    def widget_values(self, model_id):
        """Each ``value`` widget ``model_id`` was given while the cell ran (an HTML widget's SVG), in order."""
        return [c["data"]["state"]["value"] for _, kind, c in self.outputs
                if kind in ("comm_open", "comm_msg") and c["comm_id"] == model_id and "value" in c["data"].get("state", {})]

    def error(self):
        errors = [c for _, kind, c in self.outputs if kind == "error"]
        return errors[-1] if errors else None


class Kernel:
    """A pydock kernel started from its kernelspec, with a client connected to it."""

    def __init__(self, kernels_dir, workdir):
        self.manager = KernelManager(kernel_name="pydock", kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels_dir]))
        env = dict(os.environ, IPYTHONDIR=str(workdir / "ipython"))
        self.manager.start_kernel(cwd=str(workdir), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def run(self, code, timeout=120, interrupt_after=None):
        """Execute ``code``; with ``interrupt_after`` seconds, interrupt it (the notebook's stop button)."""
        msg_id = self.client.execute(code)
        start = time.monotonic()
        outputs, interrupted = [], False
        while True:
            if interrupt_after is not None and not interrupted and time.monotonic() - start >= interrupt_after:
                self.manager.interrupt_kernel()
                interrupted = True
            try:
                msg = self.client.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                if time.monotonic() - start > timeout:
                    raise TimeoutError(f"cell did not finish in {timeout}s: {code}")
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] in OUTPUTS:
                outputs.append((time.monotonic() - start, msg["msg_type"], msg["content"]))
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        reply = self.client.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:  # a late reply to an earlier request
            reply = self.client.get_shell_msg(timeout=timeout)
        return Cell(outputs, reply["content"])

    def value(self, expression):
        """The text/plain of a Python expression evaluated in the kernel."""
        cell = self.run(expression)
        assert cell.status == "ok", cell.error()
        return cell.result()

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=False)


@pytest.fixture(scope="session")
def kernel_prefix(tmp_path_factory):
    """A prefix with the pydock kernelspec installed by ``python -m pydock_edu.kernel install --prefix``."""
    prefix = tmp_path_factory.mktemp("jupyter-prefix")
    subprocess.run([sys.executable, "-m", "pydock_edu.kernel", "install", "--prefix", str(prefix)], check=True,
                   capture_output=True)
    return prefix


@pytest.fixture(scope="session")
def kernel(kernel_prefix, busybox_image, tmp_path_factory):
    """A running pydock kernel (shared by the tests; each cleans up its own containers)."""
    started = Kernel(str(kernel_prefix / "share" / "jupyter" / "kernels"), tmp_path_factory.mktemp("kernel-cwd"))
    yield started
    started.close()


@pytest.fixture(autouse=True)
def _clean_up(request):
    """After each privileged test, force-remove every container and user-defined network it left, then
    take down ``pydock0`` and its firewall rules (the tutorial's runs use the default bridge): the next
    test, of this directory or another, starts with the session's namespace as it found it."""
    yield
    if request.node.get_closest_marker("privileged") is None:
        return
    from pydock_edu.engine import Engine
    from pydock_edu.network.manager import BUILTIN, Networks

    engine = Engine()
    for record in engine.containers(all=True):
        engine.remove(record["Id"], force=True)
    networks = Networks()
    for network in networks.list():
        if network["Name"] not in BUILTIN:
            networks.remove(network["Id"])
    networks.teardown()


@pytest.fixture
def registry(tmp_path):
    """An anonymous image registry (Debian's ``docker-registry``) on a free port of 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "registry.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: "
                      f"{tmp_path / 'blobs'}\nhttp:\n  addr: 127.0.0.1:{port}\n")
    process = subprocess.Popen(["/usr/bin/docker-registry", "serve", str(config)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, "the registry did not start"
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    process.kill()
    process.wait()


def sanitize(text):
    """Replace what differs between runs: IDs, digests, veth and bridge names."""
    text = re.sub(r"sha256:[0-9a-f]{12,64}", "sha256:<digest>", text)
    text = re.sub(r"\bveth[0-9a-f]{7}\b", "veth<id>", text)
    text = re.sub(r"\bpd-[0-9a-f]{12}\b", "pd-<id>", text)
    return re.sub(r"\b[0-9a-f]{12}(?:[0-9a-f]{52})?\b", "<id>", text)
