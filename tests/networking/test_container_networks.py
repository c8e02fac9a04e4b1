"""The network chapter with real containers: the five modes, custom networks, published ports."""

import json
import time
import urllib.request

import pytest

pytestmark = pytest.mark.privileged


def _inspect(pydock, ref):
    return json.loads(pydock("inspect", ref, check=True).stdout)[0]


def _links(pydock, *args):
    """Interface names as ``ip -o link`` lists them inside a container."""
    out = pydock("run", "--rm", *args, "busybox", "ip", "-o", "link", check=True).stdout
    return sorted(line.split(":")[1].strip().split("@")[0] for line in out.splitlines())


def _get(url, attempts=50):
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


def test_none_has_only_loopback(pydock, busybox_image):
    assert _links(pydock, "--network", "none") == ["lo"]


def test_bridge_is_the_default_with_eth0_and_a_gateway(pydock, busybox_image):
    cid = pydock("run", "-d", busybox_image, "sleep", "30", check=True).stdout.strip()
    try:
        settings = _inspect(pydock, cid)["NetworkSettings"]
        assert list(settings["Networks"]) == ["bridge"]
        address, gateway = settings["IPAddress"], settings["Gateway"]
        assert address.startswith("172.29.") and gateway == "172.29.0.1"
        routes = pydock("exec", cid, "ip", "route", check=True).stdout
        assert f"default via {gateway} dev eth0" in routes
        assert pydock("exec", cid, "ping", "-c1", "-W2", gateway).returncode == 0
    finally:
        pydock("rm", "-f", cid, check=True)


def test_host_mode_sees_the_hosts_interfaces(pydock, busybox_image):
    import socket

    host_links = sorted(name for _, name in socket.if_nameindex())
    assert _links(pydock, "--network", "host") == host_links


def test_container_mode_shares_the_address(pydock, busybox_image):
    first = pydock("run", "-d", "--name", "first", busybox_image, "sleep", "30", check=True).stdout.strip()
    try:
        address = _inspect(pydock, first)["NetworkSettings"]["IPAddress"]
        out = pydock("run", "--rm", "--network", "container:first", busybox_image, "ip", "-o", "-4", "addr",
                     check=True).stdout
        assert f"inet {address}/" in out
    finally:
        pydock("rm", "-f", first, check=True)


def test_custom_network_resolves_names_and_aliases_the_default_bridge_does_not(pydock, busybox_image):
    pydock("network", "create", "-d", "bridge", "my-net", check=True)
    try:
        pydock("run", "-d", "--name", "other", "--network", "my-net", "--network-alias", "db", busybox_image,
               "sleep", "30", check=True)
        ping = pydock("run", "--rm", "--network", "my-net", busybox_image, "sh", "-c",
                      "ping -c1 -W2 other && ping -c1 -W2 db")
        assert ping.returncode == 0, ping.stdout + ping.stderr
        on_bridge = pydock("run", "--rm", busybox_image, "ping", "-c1", "-W1", "other")
        assert on_bridge.returncode != 0 and "bad address" in on_bridge.stderr
        listed = pydock("network", "inspect", "my-net", "-f", "{{range .Containers}}{{.Name}} {{end}}").stdout
        assert "other" in listed
    finally:
        pydock("rm", "-f", "other")
        pydock("network", "rm", "my-net", check=True)


def test_internal_network_has_no_way_out(pydock, busybox_image):
    pydock("network", "create", "--internal", "closed", check=True)
    try:
        routes = pydock("run", "--rm", "--network", "closed", busybox_image, "ip", "route", check=True).stdout
        assert "default" not in routes
    finally:
        pydock("network", "rm", "closed", check=True)


def test_overlapping_subnet_is_refused(pydock):
    pydock("network", "create", "--subnet", "10.77.0.0/16", "first-net", check=True)
    try:
        res = pydock("network", "create", "--subnet", "10.77.1.0/24", "second-net")
        assert res.returncode == 1 and "overlaps" in res.stderr  # a failed request, as any but run/create
    finally:
        pydock("network", "rm", "first-net", check=True)


def test_published_port_answers_on_loopback_and_the_gateway_address(pydock, busybox_image, tmp_path):
    (tmp_path / "index.html").write_text("hello from httpd\n")
    cid = pydock("run", "-d", "-p", "8080:80", "-p", "127.0.0.1::80", busybox_image, "sh", "-c",
                 "mkdir /www && echo 'hello from httpd' > /www/index.html && httpd -f -p 80 -h /www",
                 check=True).stdout.strip()
    try:
        assert _get("http://127.0.0.1:8080/") == "hello from httpd\n"
        ports = pydock("port", cid, check=True).stdout
        assert "80/tcp -> 0.0.0.0:8080" in ports
        random_port = [line.rsplit(":", 1)[1] for line in ports.splitlines() if "127.0.0.1" in line][0]
        assert _get(f"http://127.0.0.1:{random_port}/") == "hello from httpd\n"
        gateway = _inspect(pydock, cid)["NetworkSettings"]["Gateway"]  # an address of this host
        assert _get(f"http://{gateway}:8080/") == "hello from httpd\n"
        taken = pydock("run", "--rm", "-p", "8080:80", busybox_image, "true")
        assert taken.returncode == 125 and "8080" in taken.stderr
    finally:
        pydock("rm", "-f", cid, check=True)


def test_nothing_remains_after_containers_go(pydock, busybox_image):
    import socket

    before = {name for _, name in socket.if_nameindex()}
    pydock("run", "--rm", busybox_image, "true", check=True)
    cid = pydock("run", "-d", "-p", "9090:80", busybox_image, "sleep", "30", check=True).stdout.strip()
    pydock("stop", "-t", "0", cid, check=True)
    pydock("rm", cid, check=True)
    for _ in range(50):  # the kernel dismantles a dead network namespace asynchronously
        if {name for _, name in socket.if_nameindex()} - before == set():
            break
        time.sleep(0.05)
    assert not {n for _, n in socket.if_nameindex()} - before - {"pydock0"}
    import subprocess

    nat = subprocess.run(["iptables", "-w", "-t", "nat", "-S"], capture_output=True, text=True).stdout
    assert "9090" not in nat
