"""Bridge networks for real: bridges, veth pairs, addresses, NAT rules, hosts files.

Runs inside the session's private network namespace; every "container" is a process in
namespaces of its own (see conftest.py).
"""

import os
import socket
import subprocess
import urllib.request

import pytest

from pydock_edu import explain
from pydock_edu.errors import Conflict, InvalidArgument, NotFound
from pydock_edu.network.ports import parse_publish

from .conftest import firewall_rules, links

pytestmark = pytest.mark.privileged


def ping(container, target):
    return container.run("busybox", "ping", "-c1", "-W1", target).returncode == 0


def http_get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def test_builtin_networks(networks):
    had_bridge = "pydock0" in links()  # earlier tests of the session may have made it
    by_name = {n["Name"]: n for n in networks.list()}
    assert sorted(by_name) == ["bridge", "host", "none"]
    bridge = by_name["bridge"]
    assert bridge["Driver"] == "bridge" and bridge["Scope"] == "local" and len(bridge["Id"]) == 64
    assert bridge["IPAM"]["Config"] == [{"Subnet": "172.29.0.0/16", "Gateway": "172.29.0.1"}]
    assert bridge["Options"]["com.docker.network.bridge.name"] == "pydock0"
    assert (by_name["host"]["Driver"], by_name["none"]["Driver"]) == ("host", "null")
    assert ("pydock0" in links()) == had_bridge  # listing makes no device: it comes with a container
    with pytest.raises(Conflict, match="^bridge is a pre-defined network and cannot be removed$"):
        networks.remove("bridge")


def test_peers_on_a_custom_network_reach_each_other_by_name(networks, make_container):
    networks.create("mynet")
    a, b = make_container("a"), make_container("b")
    inode = os.stat(a.hosts).st_ino
    ep_a = networks.connect(a.record, a.pid, "mynet", aliases=("web",))
    ep_b = networks.connect(b.record, b.pid, "mynet")

    assert f"{ep_b['IPAddress']}\tb\n" in open(a.hosts).read()
    assert f"{ep_a['IPAddress']}\ta web\n" in open(b.hosts).read()
    assert os.stat(a.hosts).st_ino == inode  # rewritten in place: the bind mount still shows it
    assert ping(a, "b") and ping(b, "a") and ping(b, "web")
    assert ping(a, ep_b["IPAddress"])

    networks.disconnect(b.id, "mynet")
    assert not _names_for(a.hosts, "b")
    assert not ping(a, ep_b["IPAddress"])


def _names_for(hosts, name):
    """The hosts-file lines that give ``name`` an address."""
    with open(hosts) as f:
        return [line for line in f if name in line.split()[1:]]


def test_default_bridge_gives_addresses_but_no_names(networks, make_container):
    a, b = make_container("a"), make_container("b")
    ep_a = networks.connect(a.record, a.pid, "bridge")
    ep_b = networks.connect(b.record, b.pid, "bridge")
    assert ep_a["IPAddress"] == "172.29.0.2" and ep_a["MacAddress"] == "02:42:ac:1d:00:02"
    assert ep_a["Gateway"] == "172.29.0.1" and ep_a["IPPrefixLen"] == 16
    assert not _names_for(a.hosts, "b")
    assert ping(a, ep_b["IPAddress"])
    route = a.run("ip", "route", check=True).stdout
    assert "default via 172.29.0.1 dev eth0" in route
    c = make_container("c")
    with pytest.raises(InvalidArgument, match="user defined networks only"):
        networks.connect(c.record, c.pid, "bridge", ip="172.29.0.9")


def test_explain_shows_the_steps(networks, make_container):
    a = make_container("a")
    steps = []
    with explain.tracing(lambda category, text: steps.append((category, text))):
        endpoint = networks.connect(a.record, a.pid, "bridge")
    texts = [text for _, text in steps]
    assert ("netlink", "ip link add pydock0 type bridge") in steps
    # One request makes the pair on the bridge with its peer already in the container's namespace.
    assert f"ip link add {endpoint['HostVeth']} master pydock0 type veth peer name vpeer{endpoint['HostVeth'][4:]} " \
           f"netns {a.pid}" in texts
    assert f"[netns of {a.pid}] ip route add default via 172.29.0.1 dev eth0" in texts
    assert any(c == "iptables" and "MASQUERADE" in t for c, t in steps)


def test_inspect_and_network_settings(networks, make_container):
    networks.create("front", subnet="10.77.0.0/24", gateway="10.77.0.254", ip_range="10.77.0.128/25",
                    labels={"tier": "web"})
    a = make_container("a", exposed={"80/tcp": {}, "443/tcp": {}})
    a.record["HostConfig"]["PortBindings"] = parse_publish(["8088:80"])[1]
    endpoint = networks.connect(a.record, a.pid, "front", ip="10.77.0.200")
    assert endpoint["IPAddress"] == "10.77.0.200"
    assert endpoint["IPAMConfig"] == {"IPv4Address": "10.77.0.200"}

    net = networks.get("front")
    assert net == networks.get(net["Id"][:6])
    assert net["Labels"] == {"tier": "web"}
    assert net["IPAM"]["Config"] == [{"Subnet": "10.77.0.0/24", "Gateway": "10.77.0.254",
                                      "IPRange": "10.77.0.128/25"}]
    assert net["Containers"] == {a.id: {
        "Name": "a", "EndpointID": endpoint["EndpointID"], "MacAddress": "02:42:0a:4d:00:c8",
        "IPv4Address": "10.77.0.200/24", "IPv6Address": ""}}

    settings = networks.network_settings(a.id)
    assert settings["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8088"}], "443/tcp": None}
    assert settings["SandboxKey"] == f"/proc/{a.pid}/ns/net"
    assert settings["IPAddress"] == ""  # top-level fields describe the default bridge only
    assert settings["Networks"]["front"]["IPAddress"] == "10.77.0.200"

    b = make_container("b")
    assert networks.connect(b.record, b.pid, "front")["IPAddress"] == "10.77.0.128"  # from --ip-range
    with pytest.raises(Conflict, match="^Address already in use$"):
        networks.connect(make_container("c").record, b.pid, "front", ip="10.77.0.200")
    with pytest.raises(NotFound, match="^network nope not found$"):
        networks.get("nope")


def test_second_network_is_eth1(networks, make_container):
    networks.create("one")
    networks.create("two")
    a = make_container("a")
    networks.connect(a.record, a.pid, "one")
    networks.connect(a.record, a.pid, "two", primary=False)
    shown = a.run("ip", "-o", "link", "show", check=True).stdout
    assert " eth0@" in shown and " eth1@" in shown
    assert a.run("ip", "route", check=True).stdout.count("default") == 1


@pytest.fixture
def outside(make_container):
    """Another machine: a namespace joined to ours by a veth "uplink", 198.51.100.1 <-> .2/24.

    It has no route to any container subnet, so what reaches it from a container was masqueraded.
    """
    client = make_container("outside")
    subprocess.run(["ip", "link", "add", "uplink", "type", "veth", "peer", "name", "eth0",
                    "netns", str(client.pid)], check=True)
    subprocess.run(["ip", "addr", "add", "198.51.100.1/24", "dev", "uplink"], check=True)
    subprocess.run(["ip", "link", "set", "uplink", "up"], check=True)
    client.run("ip", "addr", "add", "198.51.100.2/24", "dev", "eth0", check=True)
    client.run("ip", "link", "set", "eth0", "up", check=True)
    yield client
    subprocess.run(["ip", "link", "del", "uplink"], check=False)


@pytest.fixture
def docker_like_firewall():
    """Docker's stance: FORWARD policy DROP and its DOCKER-USER chain jumped to first."""
    rules = [["-N", "DOCKER-USER"], ["-A", "DOCKER-USER", "-j", "RETURN"],
             ["-I", "FORWARD", "1", "-j", "DOCKER-USER"], ["-P", "FORWARD", "DROP"]]
    for rule in rules:
        subprocess.run(["iptables", "-w", *rule], check=True)
    yield
    for rule in (["-P", "FORWARD", "ACCEPT"], ["-D", "FORWARD", "-j", "DOCKER-USER"],
                 ["-F", "DOCKER-USER"], ["-X", "DOCKER-USER"]):
        subprocess.run(["iptables", "-w", *rule], check=True)


def test_published_port_answers_on_loopback_and_on_host_addresses(networks, make_container, outside,
                                                                   docker_like_firewall, tmp_path):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("hello from the container\n")
    web = make_container("web", exposed={"80/tcp": {}})
    web.record["HostConfig"]["PortBindings"] = parse_publish(["8080:80", "127.0.0.1::80"])[1]
    networks.check_ports_free(web.record["HostConfig"]["PortBindings"])
    networks.connect(web.record, web.pid, "bridge")
    httpd = web.spawn("busybox", "httpd", "-f", "-p", "80", "-h", str(tmp_path / "www"))
    try:
        _wait_for(lambda: web.run("busybox", "wget", "-q", "-O", "-", "http://127.0.0.1/").returncode == 0)
        ports = networks.network_settings(web.id)["Ports"]["80/tcp"]
        assert ports[0] == {"HostIp": "0.0.0.0", "HostPort": "8080"}
        random_port = ports[1]["HostPort"]
        assert ports[1]["HostIp"] == "127.0.0.1" and int(random_port) > 0

        hello = "hello from the container\n"
        assert http_get("http://127.0.0.1:8080/") == hello
        assert http_get(f"http://127.0.0.1:{random_port}/") == hello
        assert http_get("http://172.29.0.1:8080/") == hello  # the host's address on the bridge
        assert http_get("http://198.51.100.1:8080/") == hello  # the host's address on its uplink
        assert outside.run("busybox", "wget", "-q", "-O", "-", "http://198.51.100.1:8080/").stdout == hello
        # bound to 127.0.0.1 only: not published on the other addresses
        assert outside.run("busybox", "wget", "-q", "-T", "2", "-O", "-",
                           f"http://198.51.100.1:{random_port}/").returncode != 0
    finally:
        httpd.kill()
        httpd.wait()


def test_containers_go_out_masqueraded_despite_a_docker_firewall(networks, make_container, outside,
                                                                  docker_like_firewall):
    a = make_container("a")
    address_a = networks.connect(a.record, a.pid, "bridge")["IPAddress"]
    assert ping(a, "198.51.100.2")  # the outside has no route back to 172.29.0.0/16: NAT did it
    networks.create("other")
    b = make_container("b")
    networks.connect(b.record, b.pid, "other")
    assert ping(b, "198.51.100.2")
    assert not ping(b, address_a)  # networks are isolated from each other


def test_taken_ports_are_refused_before_start(networks, make_container):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        with pytest.raises(Conflict, match=f"failed to bind port 127.0.0.1:{busy}/tcp"):
            networks.check_ports_free(parse_publish([f"127.0.0.1:{busy}:80"])[1])

    a = make_container("a")
    a.record["HostConfig"]["PortBindings"] = parse_publish(["9090:80"])[1]
    networks.connect(a.record, a.pid, "bridge")
    with pytest.raises(Conflict, match="^Bind for 0.0.0.0:9090 failed: port is already allocated$"):
        networks.check_ports_free(parse_publish(["9090:81"])[1])
    networks.check_ports_free(parse_publish(["9090:80/udp"])[1])  # another protocol is free


def test_overlapping_subnets_and_duplicate_names_are_refused(networks):
    networks.create("a", subnet="10.99.0.0/16")
    overlap = "^invalid pool request: Pool overlaps with other one on this address space$"
    with pytest.raises(Conflict, match=overlap):
        networks.create("b", subnet="10.99.1.0/24")
    with pytest.raises(Conflict, match="^invalid pool request: Pool overlaps"):
        networks.create("c", subnet="172.29.5.0/24")  # inside the default bridge's subnet
    with pytest.raises(Conflict, match="^network with name a already exists$"):
        networks.create("a")
    with pytest.raises(InvalidArgument, match="^no matching subnet for gateway 10.1.0.1$"):
        networks.create("d", subnet="10.98.0.0/16", gateway="10.1.0.1")


def test_automatic_subnets_avoid_the_hosts_routes(networks, make_container):
    other = make_container("other")
    subprocess.run(["ip", "link", "add", "hostlan", "type", "veth", "peer", "name", "eth0",
                    "netns", str(other.pid)], check=True)
    try:
        subprocess.run(["ip", "addr", "add", "172.30.9.1/24", "dev", "hostlan"], check=True)
        first = networks.create("first")
        second = networks.create("second")
    finally:
        subprocess.run(["ip", "link", "del", "hostlan"], check=False)
    assert first["IPAM"]["Config"][0]["Subnet"] == "172.31.0.0/16"
    assert second["IPAM"]["Config"][0]["Subnet"] == "10.210.0.0/24"


def test_internal_network_has_no_way_out(networks, make_container):
    net = networks.create("secret", internal=True)
    a, b = make_container("a"), make_container("b")
    networks.connect(a.record, a.pid, "secret")
    networks.connect(b.record, b.pid, "secret")
    assert net["Internal"] is True
    assert "default" not in a.run("ip", "route", check=True).stdout
    unreachable = a.run("ip", "route", "get", "203.0.113.1")
    assert unreachable.returncode != 0 and "unreachable" in unreachable.stderr
    assert ping(a, "b")
    bridge = net["Options"]["com.docker.network.bridge.name"]
    rules = firewall_rules()
    assert f"-A PYDOCK-FORWARD -i {bridge} -j DROP" in rules
    assert not any("MASQUERADE" in r and bridge in r for r in rules)


def test_none_network_has_only_loopback(networks, make_container):
    a = make_container("a")
    endpoint = networks.connect(a.record, a.pid, "none")
    assert endpoint["IPAddress"] == ""
    shown = a.run("ip", "-o", "link", "show", check=True).stdout.splitlines()
    assert len(shown) == 1 and "lo:" in shown[0] and "UP" in shown[0]


def test_host_network_keeps_the_hosts_view(networks, make_container):
    a = make_container("a")
    assert networks.connect(a.record, a.pid, "host")["IPAddress"] == ""
    assert open(a.hosts).read() == open("/etc/hosts").read()
    assert a.name in networks.get("host")["Containers"][a.id]["Name"]


def test_release_undoes_everything_even_after_the_container_died(networks, make_container):
    networks.create("mynet")
    a, b = make_container("a"), make_container("b")
    a.record["HostConfig"]["PortBindings"] = parse_publish(["7070:80"])[1]
    ep_a = networks.connect(a.record, a.pid, "mynet")
    ep_b = networks.connect(b.record, b.pid, "mynet")
    assert ep_a["HostVeth"] in links()
    assert any("--dport 7070" in r for r in firewall_rules())
    with pytest.raises(Conflict, match="has active endpoints$"):
        networks.remove("mynet")

    a.stop()  # the namespace dies, and the kernel deletes the veth pair with it
    networks.release(a.id)
    networks.release(a.id)  # idempotent
    assert ep_a["HostVeth"] not in links()
    assert not any("--dport 7070" in r for r in firewall_rules())
    assert not _names_for(b.hosts, "a")
    assert a.id not in networks.get("mynet")["Containers"]

    networks.release(b.id)  # while b still runs: its veth is deleted
    assert ep_b["HostVeth"] not in links()
    assert "eth0" not in b.run("ip", "-o", "link", "show", check=True).stdout
    networks.remove("mynet")
    with pytest.raises(NotFound):
        networks.get("mynet")


def test_prune_removes_unused_custom_networks(networks, make_container):
    networks.create("used")
    networks.create("unused")
    a = make_container("a")
    networks.connect(a.record, a.pid, "used")
    assert networks.prune() == ["unused"]
    assert sorted(n["Name"] for n in networks.list()) == ["bridge", "host", "none", "used"]


def _wait_for(condition, attempts=50):
    import time

    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")
