"""``run``/``create`` flags turned into a Docker Engine API create body (no container is made)."""

import pytest

import pydock_edu.cli.container as cli
from pydock_edu.cli import flags
from pydock_edu.cli.registry import COMMANDS
from pydock_edu.engine import _merge_config
from pydock_edu.errors import InvalidArgument

MiB = 1024 * 1024


def body_of(*argv):
    options, args = flags.parse(COMMANDS["container run"], list(argv))
    return cli.create_body(options, args)


def test_image_and_command():
    body = body_of("busybox", "ls", "-l")
    assert body["Image"] == "busybox" and body["Cmd"] == ["ls", "-l"]
    assert "Entrypoint" not in body  # the image's entrypoint stays


def test_no_command_leaves_the_image_default():
    assert body_of("busybox")["Cmd"] is None


def test_defaults():
    body = body_of("busybox")
    host = body["HostConfig"]
    assert host["AutoRemove"] is False and host["Memory"] == 0 and host["NanoCpus"] == 0
    assert host["PidsLimit"] == 0 and host["NetworkMode"] == "default"
    assert body["Env"] == [] and body["Tty"] is False and body["OpenStdin"] is False


def test_terminal_and_stdin():
    body = body_of("-it", "--rm", "busybox", "sh")
    assert body["Tty"] is True and body["OpenStdin"] is True and body["StdinOnce"] is True
    assert body["HostConfig"]["AutoRemove"] is True


def test_user_workdir_hostname_name_network():
    body = body_of("-u", "nobody", "-w", "/data", "-h", "box", "--network", "none", "busybox")
    assert (body["User"], body["WorkingDir"], body["Hostname"]) == ("nobody", "/data", "box")
    assert body["HostConfig"]["NetworkMode"] == "none"


def test_env_values(monkeypatch):
    monkeypatch.setenv("FROM_HOST", "hostvalue")
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    body = body_of("-e", "A=1", "-e", "B=", "-e", "C=x=y", "-e", "FROM_HOST", "-e", "NOT_SET_ANYWHERE", "busybox")
    assert body["Env"] == ["A=1", "B=", "C=x=y", "FROM_HOST=hostvalue"]


@pytest.mark.parametrize("bad", ["=x", "="])
def test_malformed_env(bad):
    with pytest.raises(InvalidArgument, match="invalid environment variable"):
        body_of("-e", bad, "busybox")


def test_env_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PASSED_THROUGH", "yes")
    env_file = tmp_path / "app.env"
    env_file.write_text("# a comment\n\nA=1\n  B=two words\nPASSED_THROUGH\nC=from-file\n")
    body = body_of("--env-file", str(env_file), "-e", "C=from-flag", "busybox")
    # the file's variables come first, then -e, so -e wins when the engine merges by name
    assert body["Env"] == ["A=1", "B=two words", "PASSED_THROUGH=yes", "C=from-file", "C=from-flag"]
    merged = _merge_config(body, {"Env": ["PATH=/bin", "C=from-image"]})
    assert merged["Env"] == ["PATH=/bin", "C=from-flag", "A=1", "B=two words", "PASSED_THROUGH=yes"]


def test_missing_env_file(tmp_path):
    with pytest.raises(InvalidArgument, match="no such file or directory"):
        body_of("--env-file", str(tmp_path / "absent.env"), "busybox")


@pytest.mark.parametrize("text, expected", [
    ("100", 100), ("100b", 100), ("512k", 512 * 1024), ("20m", 20 * MiB), ("20M", 20 * MiB), ("20mb", 20 * MiB),
    ("1.5g", 1536 * MiB), ("1g", 1024 * MiB),
])
def test_memory_sizes(text, expected):
    assert body_of("-m", text, "busybox")["HostConfig"]["Memory"] == expected


@pytest.mark.parametrize("text", ["10zz", "abc", "-5m", "1..5m"])
def test_bad_memory_sizes(text):
    with pytest.raises(InvalidArgument, match="invalid size"):
        body_of("-m", text, "busybox")


@pytest.mark.parametrize("text, nano", [("0.2", 200_000_000), ("1", 1_000_000_000), ("1.5", 1_500_000_000),
                                        ("1.001", 1_001_000_000), ("0.57", 570_000_000)])
def test_cpus(text, nano, monkeypatch):
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 2)
    assert body_of("--cpus", text, "busybox")["HostConfig"]["NanoCpus"] == nano


@pytest.mark.parametrize("text, message", [("abc", "failed to parse abc as a rational number"),
                                           ("0", "range of CPUs is from 0.01 to 2.00"),
                                           ("3", "range of CPUs is from 0.01 to 2.00"),
                                           ("nan", "range of CPUs"), ("inf", "range of CPUs")])
def test_bad_cpus(text, message, monkeypatch):
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 2)
    with pytest.raises(InvalidArgument, match=message):
        body_of("--cpus", text, "busybox")


def test_pids_limit():
    assert body_of("--pids-limit", "20", "busybox")["HostConfig"]["PidsLimit"] == 20


def test_entrypoint_override_and_reset():
    image = {"Entrypoint": ["/docker-entrypoint.sh"], "Cmd": ["serve"]}
    body = body_of("--entrypoint", "echo", "busybox", "hi")
    assert body["Entrypoint"] == ["echo"]
    config = _merge_config(body, image)
    assert (config["Path"], config["Args"]) == ("echo", ["hi"])
    # --entrypoint "" drops the image's entrypoint *and* its CMD, as in Docker
    body = body_of("--entrypoint", "", "busybox")
    assert body["Entrypoint"] == []
    config = _merge_config(body, image)
    assert config["Path"] == "" and config["Entrypoint"] is None and config["Cmd"] is None
    body = body_of("--entrypoint", "", "busybox", "ls", "/")
    assert _merge_config(body, image)["Path"] == "ls"


def test_image_defaults_apply_when_nothing_is_given():
    image = {"Entrypoint": ["/init"], "Cmd": ["serve"], "WorkingDir": "/srv", "User": "app", "Env": ["A=1"]}
    config = _merge_config(body_of("busybox"), image)
    assert (config["Path"], config["Args"]) == ("/init", ["serve"])
    assert (config["WorkingDir"], config["User"], config["Env"]) == ("/srv", "app", ["A=1"])
    config = _merge_config(body_of("-w", "/x", "-u", "root", "busybox", "other"), image)
    assert (config["Path"], config["Args"]) == ("/init", ["other"])
    assert (config["WorkingDir"], config["User"]) == ("/x", "root")


def test_labels_and_stop_settings():
    body = body_of("-l", "a=1", "--label", "b", "--stop-signal", "SIGINT", "--stop-timeout", "3", "busybox")
    assert body["Labels"] == {"a": "1", "b": ""}
    assert (body["StopSignal"], body["StopTimeout"]) == ("SIGINT", 3)
