"""The pictures on real engine state: network topology, layers, mounts, lifecycle; static and live."""

import subprocess
import time

import pytest
from conftest import sanitize

from pydock_edu.jupyter.progress import Progress
from pydock_edu.jupyter.widgets.layers import Layers, instruction
from pydock_edu.jupyter.widgets.lifecycle import Lifecycle
from pydock_edu.jupyter.widgets.mounts import Mounts
from pydock_edu.jupyter.widgets.network import Topology
from pydock_edu.network.manager import Networks


def _links(master):
    """Names of the links plugged into bridge ``master``, as the kernel reports them."""
    out = subprocess.run(["ip", "-o", "link", "show", "master", master], capture_output=True, text=True).stdout
    return sorted(line.split(":")[1].strip().split("@")[0] for line in out.splitlines())


def _two_networks_three_containers(pydock):
    """front and back networks; web (front, port 8080), db (back), app (front, then back too)."""
    pydock("network", "create", "front", check=True)
    pydock("network", "create", "back", check=True)
    pydock("run", "-d", "--name", "web", "--network", "front", "-p", "127.0.0.1:8080:80", "busybox", "sleep", "300",
           check=True)
    pydock("run", "-d", "--name", "db", "--network", "back", "busybox", "sleep", "300", check=True)
    pydock("run", "-d", "--name", "app", "--network", "front", "busybox", "sleep", "300", check=True)
    pydock("network", "connect", "back", "app", check=True)


def _tear_down(pydock, *names):
    pydock("rm", "-f", "web", "db", "app", *names)
    pydock("network", "rm", "front", "back")


@pytest.mark.privileged
def test_topology_of_two_networks_and_three_containers(pydock, busybox_image):
    _two_networks_three_containers(pydock)
    graph = Topology().graph
    bridges = {n["Name"]: n["Options"]["com.docker.network.bridge.name"] for n in Networks().list()
               if n["Name"] in ("front", "back")}
    for name, device in bridges.items():
        assert graph.nodes[f"br:{device}"]["cluster"] == "host"
        assert f"network {name}" in graph.nodes[f"br:{device}"]["label"]
    plugged = {(tail[3:], head[5:]) for tail, head, _ in graph.edges if tail.startswith("br:")}
    assert plugged == {(device, veth) for device in bridges.values() for veth in _links(device)}
    assert len(plugged) == 4  # web, app on front; db, app on back
    cables = {tail[5:]: head for tail, head, attrs in graph.edges if attrs["label"] == "veth pair"}
    assert sorted(cables.values()) == ["if:app:eth0", "if:app:eth1", "if:db:eth0", "if:web:eth0"]
    for interface in cables.values():
        container = interface.split(":")[1]
        assert graph.nodes[interface]["cluster"] == f"ns:{container}"
        assert graph.nodes[f"ctr:{container}"]["cluster"] == f"ns:{container}"
    web = graph.nodes["if:web:eth0"]["label"]
    gateway = Networks().get("front")["IPAM"]["Config"][0]["Gateway"]
    assert f"gateway {gateway}" in web
    address = web.split("\n")[1].split("/")[0]
    published = [(tail, head, attrs["label"]) for tail, head, attrs in graph.edges if tail.startswith("port:")]
    assert published == [("port:127.0.0.1:8080/tcp", "if:web:eth0", f"DNAT to {address}:80")]
    _tear_down(pydock)


@pytest.mark.privileged
def test_host_none_and_container_modes_are_drawn_as_what_they_are(pydock, busybox_image):
    pydock("run", "-d", "--name", "lonely", "--network", "none", "busybox", "sleep", "300", check=True)
    pydock("run", "-d", "--name", "hosted", "--network", "host", "busybox", "sleep", "300", check=True)
    pydock("run", "-d", "--name", "sidecar", "--network", "container:lonely", "busybox", "sleep", "300", check=True)
    picture = Topology()
    graph = picture.graph
    assert graph.nodes["ctr:hosted"]["cluster"] == "host"
    assert graph.nodes["ctr:lonely"]["cluster"] == "ns:lonely"
    assert graph.nodes["ctr:sidecar"]["cluster"] == "ns:lonely"  # one namespace, two containers
    assert graph.nodes["lo:lonely"]["cluster"] == "ns:lonely"
    assert not [edge for edge in graph.edges if "lonely" in edge[1]]  # no veth: loopback only
    assert "network namespace of lonely: --network none (loopback only)" in picture.text
    assert "container sidecar: --network container:lonely" in picture.text
    assert picture.svg.startswith("<svg") and "sidecar" in picture.svg
    pydock("rm", "-f", "lonely", "hosted", "sidecar")


@pytest.mark.privileged
def test_topology_text_is_the_same_on_every_run(pydock, busybox_image):
    texts = []
    for _ in range(2):
        _two_networks_three_containers(pydock)
        texts.append(sanitize(Topology().text))
        _tear_down(pydock)
    assert texts[0] == texts[1]
    assert "    veth<id> <-> web eth0 " in texts[0] and "  published 127.0.0.1:8080/tcp -> web " in texts[0]


@pytest.mark.privileged
def test_live_topology_follows_containers_starting_and_stopping(pydock, busybox_image):
    picture = Topology(live=True)
    try:
        assert "arrival" not in picture.widget.value
        pydock("run", "-d", "--name", "arrival", "busybox", "sleep", "300", check=True)
        _wait_for(lambda: "arrival" in picture.widget.value and "container arrival" in picture.text)
        pydock("rm", "-f", "arrival", check=True)
        _wait_for(lambda: "arrival" not in picture.widget.value)
        assert "application/vnd.jupyter.widget-view+json" in picture._repr_mimebundle_()
    finally:
        picture.close()
    assert sorted(picture._repr_mimebundle_()) == ["image/svg+xml", "text/plain"]  # static once closed


def _wait_for(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the live picture did not change"
        time.sleep(0.05)


@pytest.mark.privileged
def test_layers_of_a_built_image_in_order(pydock, busybox_image, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo one > /one\nENV STAGE=two\n"
                                         "RUN echo two > /two\nCMD [\"cat\", \"/two\"]\n")
    pydock("build", "--network", "none", "-t", "stacked", str(tmp_path), check=True)
    picture = Layers("stacked")
    lines = picture.text.splitlines()
    assert lines[0].startswith("image stacked:latest (sha256:") and "3 layers" in lines[0]
    made_by = [line.split(None, 3)[-1] if line.split()[0].isdigit() else line.split("config only")[1].strip()
               for line in lines[1:]]
    assert made_by == ["pydock image bootstrap busybox", "RUN echo one > /one", "ENV STAGE=two",
                       "RUN echo two > /two", 'CMD ["cat" "/two"]']
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "-", "3", "-"]
    inspect = pydock("image", "inspect", "-f", "{{json .RootFS.Layers}}", "stacked").stdout
    assert [line.split()[1][:19] for line in lines[1:] if line.split()[0].isdigit()] == [
        d[:19] for d in __import__("json").loads(inspect)]
    below = [(tail, head) for tail, head, _ in picture.graph.edges]
    assert below == [("entry:0", "entry:1"), ("entry:1", "entry:2"), ("entry:2", "entry:3"), ("entry:3", "entry:4")]
    assert sanitize(picture.text) == sanitize(Layers("stacked").text)
    pydock("rmi", "stacked")


@pytest.mark.privileged
def test_container_layers_show_the_writable_layer_and_its_diff(pydock, busybox_image):
    pydock("run", "--name", "changer", "--network", "none", "busybox", "sh", "-c",
           "echo new > /tmp/new && rm /bin/ls && echo more >> /etc/passwd", check=True)
    picture = Layers("changer")
    text = picture.text.splitlines()
    assert text[0].startswith("container changer (")
    assert text[1].split()[0] == "1" and text[2].split()[:3] == ["W", "writable", "layer"]
    changes = [line.split() for line in text[3:-1]]
    diff = [line.split() for line in pydock("diff", "changer").stdout.splitlines()]
    assert changes == diff
    assert ["D", "/bin/ls"] in changes and ["A", "/tmp/new"] in changes and ["C", "/etc/passwd"] in changes
    assert text[-1].startswith("  merged view")
    assert [tail for tail, head, _ in picture.graph.edges] == ["entry:0", "writable"]
    assert 'COLOR="red3">D /bin/ls' in picture.graph.nodes["writable"]["label"]
    pydock("rm", "changer")


@pytest.mark.privileged
def test_mounts_show_sources_targets_modes_and_sharers(pydock, busybox_image, tmp_path):
    pydock("volume", "create", "shared", check=True)
    pydock("create", "--name", "keeper", "--network", "none", "-v", "shared:/data", "busybox", "true", check=True)
    pydock("create", "--name", "reader", "--network", "none", "--volumes-from", "keeper:ro",
           "-v", f"{tmp_path}:/host:ro", "--tmpfs", "/scratch", "busybox", "true", check=True)
    text = Mounts("reader").text.splitlines()
    assert text[0].startswith("container reader (") and text[0].endswith("3 mounts")
    assert text[1].split() == ["volume", "shared", "$PYDOCK_ROOT/volumes/shared/_data", "->", "/data", "ro,",
                               "also", "used", "by:", "keeper"]
    assert text[2].split() == ["bind", str(tmp_path), "->", "/host", "ro"]
    assert text[3].split() == ["tmpfs", "(memory)", "->", "/scratch", "rw"]
    graph = Mounts("keeper").graph
    assert ("volume:shared", "target:keeper:/data", "volume rw") in [(t, h, a["label"]) for t, h, a in graph.edges]
    assert ("volume:shared", "target:reader:/data", "volume ro") in [(t, h, a["label"]) for t, h, a in graph.edges]
    assert graph.nodes["target:reader:/data"]["cluster"] == "other:reader"
    pydock("rm", "keeper", "reader")
    pydock("volume", "rm", "shared")


@pytest.mark.privileged
def test_lifecycle_lights_each_state_as_the_container_moves(pydock, busybox_image):
    cid = pydock("create", "--name", "mover", "--network", "none", "busybox", "sleep", "300", check=True).stdout.strip()
    picture = Lifecycle("mover", live=True)
    try:
        seen = [picture.current()]
        for command, state in (("start", "running"), ("pause", "paused"), ("unpause", "running"),
                               ("stop", "exited"), ("rm", "removed")):
            pydock(command, *(["-t", "1"] if command == "stop" else []), "mover", check=True)
            _wait_for(lambda state=state: f": {state}\n" in picture.text)
            lit = [name for name, attrs in picture.graph.nodes.items() if attrs.get("fillcolor") == "gold"]
            assert lit == [state]
            seen.append(state)
        assert seen == ["created", "running", "paused", "running", "exited", "removed"]
        assert sanitize(picture.text).startswith("container mover (<id>): removed\n")
        assert cid.startswith(picture.container_id[:12])
    finally:
        picture.close()


@pytest.mark.parametrize("created_by, expected", [
    ('/bin/sh -c #(nop)  CMD ["sh"]', 'CMD ["sh"]'),
    ("/bin/sh -c echo hi", "RUN echo hi"),
    ("|1 VERSION=2 /bin/sh -c make", "RUN make"),
    ("COPY file:abc in /app", "COPY file:abc in /app"),
])
def test_instruction_of_a_history_entry(created_by, expected):
    assert instruction({"created_by": created_by}) == expected


def test_progress_reads_build_and_pull_lines():
    build = Progress("build", show=False)
    assert build.line("Step 2/4 : RUN make") and build.summary() == "build: step 1/4 done"
    assert build.line("Successfully built 0123456789ab") and build.fraction == 1.0
    pull = Progress("pull", show=False)
    assert pull.line("0123456789ab: Pulling fs layer")
    assert not pull.line("0123456789ab: Downloading [=====>      ]  1.5MB/3MB")  # a bar: drawn, not printed
    assert pull.fraction == 0.5
    assert pull.line("fedcba987654: Already exists") and pull.summary() == "pull: 1/2 layers done"
    assert pull.line("0123456789ab: Pull complete") and pull.fraction == 1.0
