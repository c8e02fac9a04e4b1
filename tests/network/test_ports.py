"""Parsing ``-p``/``-P`` as Docker does (no privileges needed)."""

import pytest

from pydock_edu.errors import InvalidArgument, exit_status
from pydock_edu.network.ports import docker_view, parse_publish, publish_all


@pytest.mark.parametrize("spec, exposed, bindings", [
    ("8080:80", ["80/tcp"], {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}),
    ("127.0.0.1:8080:80", ["80/tcp"], {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}),
    ("127.0.0.1::80", ["80/tcp"], {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}),
    ("80", ["80/tcp"], {"80/tcp": [{"HostIp": "", "HostPort": ""}]}),
    ("53:53/udp", ["53/udp"], {"53/udp": [{"HostIp": "", "HostPort": "53"}]}),
    ("8000-8001:80-81", ["80/tcp", "81/tcp"], {"80/tcp": [{"HostIp": "", "HostPort": "8000"}],
                                               "81/tcp": [{"HostIp": "", "HostPort": "8001"}]}),
    ("8000-8009:80", ["80/tcp"], {"80/tcp": [{"HostIp": "", "HostPort": "8000-8009"}]}),
])
def test_parse_publish(spec, exposed, bindings):
    assert parse_publish([spec]) == ({port: {} for port in exposed}, bindings)


def test_two_bindings_of_one_port():
    _, bindings = parse_publish(["8080:80", "127.0.0.1:9090:80"])
    assert bindings == {"80/tcp": [{"HostIp": "", "HostPort": "8080"},
                                   {"HostIp": "127.0.0.1", "HostPort": "9090"}]}


@pytest.mark.parametrize("spec, message", [
    ("abc", "invalid containerPort: abc"),
    ("x:80", "invalid hostPort: x"),
    ("8080:", "no port specified: 8080:<empty>"),
    ("80/sctpx", "invalid proto: sctpx"),
    ("1.2.3:80:80", "invalid IP address: 1.2.3"),
    ("8000-8001:80-82", "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"),
    ("8080:0", 'invalid port specification: "0"'),
    ("70000", "invalid containerPort: 70000"),
])
def test_parse_errors_are_dockers(spec, message):
    with pytest.raises(InvalidArgument, match="^" + message.replace(".", r"\.") + "$") as caught:
        parse_publish([spec])
    assert exit_status(caught.value, runs_container=True) == 125  # what run/create exit with for it


def test_publish_all_leaves_host_ports_to_choose():
    assert publish_all({"80/tcp": {}, "53/udp": {}}) == {
        "80/tcp": [{"HostIp": "", "HostPort": ""}], "53/udp": [{"HostIp": "", "HostPort": ""}]}


def test_docker_view():
    mappings = [{"Proto": "tcp", "ContainerPort": 80, "HostIp": "0.0.0.0", "HostPort": 8080}]
    assert docker_view(mappings) == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}
