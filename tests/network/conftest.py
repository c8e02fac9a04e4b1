"""Fixtures for the network tests: a private state root, stand-in containers, cleanup.

The whole session runs in network and mount namespaces of its own (``tests/conftest.py`` arranges
that, and checks afterwards that no link or firewall rule was left behind). A "container" here is
a ``sleep`` process in new network and mount namespaces, with its hosts file bind-mounted on
``/etc/hosts`` as the runtime does. All traffic stays inside these namespaces and 127.0.0.0/8.
"""

import os
import secrets
import subprocess

import pytest


def _default_routes():
    show = [["ip", "-4", "route", "show", "default"], ["ip", "-6", "route", "show", "default"]]
    return "".join(subprocess.run(argv, capture_output=True, text=True).stdout for argv in show)


def links():
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True)
    return sorted(line.split(":")[1].strip().split("@")[0] for line in out.stdout.splitlines())


def firewall_rules():
    """Rules and user chains in ``iptables-save`` (empty built-in tables may appear and stay)."""
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return sorted(
        line for line in out.splitlines()
        if line.startswith("-A") or (line.startswith(":") and line.split()[1] == "-")
    )


@pytest.fixture(scope="session")
def private_host():
    """Refuse to touch a real host's network: a namespace without a default route is a private one."""
    if os.geteuid() != 0 or _default_routes():
        pytest.skip("needs root inside a private network namespace (see tests/conftest.py)")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


@pytest.fixture
def networks(private_host, tmp_path, monkeypatch):
    """A ``Networks`` on a fresh ``PYDOCK_ROOT``; afterwards every container is released and every
    network removed, then pydock's host networking is torn down."""
    monkeypatch.setenv("PYDOCK_ROOT", str(tmp_path / "root"))
    from pydock_edu.network.manager import Networks

    nets = Networks()
    yield nets
    for net in nets.list():
        for cid in net["Containers"]:
            nets.release(cid)
    nets.prune()
    nets.teardown()


class Container:
    """A sleeping process in its own network and mount namespaces, posing as a container."""

    def __init__(self, name, port_bindings=None, exposed=None):
        from pydock_edu import state

        self.id = secrets.token_hex(32)
        self.name = name
        self.dir = state.path("containers", self.id)
        self.hosts = os.path.join(self.dir, "hosts")
        os.makedirs(self.dir)
        open(self.hosts, "w").close()
        self.record = {
            "Id": self.id, "Name": "/" + name,
            "Config": {"Hostname": self.id[:12], "ExposedPorts": exposed or {}},
            "HostConfig": {"PortBindings": port_bindings or {}},
        }
        self.proc = subprocess.Popen(
            ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c",
             f"mount --bind {self.hosts} /etc/hosts && echo ready && exec sleep 600"],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout.readline().strip() == "ready"
        self.pid = self.proc.pid

    def run(self, *argv, check=False):
        """Run a command inside the container's namespaces (``nsenter -n -m``)."""
        return subprocess.run(["nsenter", "-t", str(self.pid), "-n", "-m", *argv],
                              capture_output=True, text=True, check=check)

    def spawn(self, *argv):
        return subprocess.Popen(["nsenter", "-t", str(self.pid), "-n", "-m", *argv])

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def make_container(networks):
    made = []

    def make(name, **kwargs):
        container = Container(name, **kwargs)
        made.append(container)
        return container

    yield make
    for container in made:
        container.stop()
