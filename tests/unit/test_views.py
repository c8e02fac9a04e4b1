"""What users see of containers and images: ``ps`` rows and filters, ``inspect``, ``images`` names."""

import io
import tarfile
import time

import pytest

from pydock_edu.cli.container import PS_DEFAULT, PS_HEADERS, _matches
from pydock_edu.cli.table import render_table
from pydock_edu.cli.views import (
    command_text,
    container_row,
    inspect_container,
    ports_text,
)
from pydock_edu.errors import InvalidArgument
from pydock_edu.timefmt import ZERO, format_time

CID = "3f2a1b9c0d1e" + "ab" * 26


def record(status="created", exit_code=0, started=ZERO, finished=ZERO, path="sh", args=("-c", "sleep 1"),
           name="/web", ports=None, labels=None, image_name="busybox"):
    """A container record in the engine's shape (``config.v2.json``)."""
    running = status in ("running", "paused")
    return {
        "Id": CID, "Created": format_time(time.time() - 120), "Path": path, "Args": list(args), "Name": name,
        "Image": "sha256:" + "cd" * 32, "ImageName": image_name,
        "State": {"Status": status, "Running": running, "Paused": status == "paused", "Restarting": False,
                  "OOMKilled": False, "Dead": False, "Pid": 42 if running else 0, "ExitCode": exit_code,
                  "Error": "", "StartedAt": started, "FinishedAt": finished},
        "Config": {"Labels": labels or {}, "Env": [], "Hostname": CID[:12]},
        "HostConfig": {"AutoRemove": False},
        "NetworkSettings": {"Networks": {"bridge": {}}, "Ports": ports or {}},
        "Mounts": [], "Shim": {"Pid": 7}, "RuntimeMounts": [], "NetworkingConfig": {},
    }


def ago(seconds):
    return format_time(time.time() - seconds)


def test_command_column_is_quoted_and_cut_at_twenty_characters():
    assert command_text(record(path="true", args=())) == '"true"'
    assert command_text(record(path="sh", args=("-c", "x=$(head -c 100)"))) == '"sh -c x=$(head -c 1…"'
    assert command_text(record(path="sh", args=("-c", "x=$(head -c 100)")), no_trunc=True) == \
        '"sh -c x=$(head -c 100)"'
    assert len(command_text(record(path="a" * 40, args=()))) == 22  # 19 characters, "…" and two quotes


def test_row_of_a_created_container():
    row = container_row(record())
    assert row["ID"] == CID[:12] and row["Names"] == "web" and row["Image"] == "busybox"
    assert row["Status"] == "Created" and row["State"] == "created"
    assert row["RunningFor"] == "2 minutes ago"
    assert container_row(record(), no_trunc=True)["ID"] == CID


@pytest.mark.parametrize("status, exit_code, started, finished, text", [
    ("running", 0, 3, None, "Up 3 seconds"),
    ("paused", 0, 120, None, "Up 2 minutes (Paused)"),
    ("exited", 137, 100, 4, "Exited (137) 4 seconds ago"),
    ("exited", 0, 3600 * 5, 3600 * 3, "Exited (0) 3 hours ago"),
    ("dead", 0, 10, 5, "Dead"),
])
def test_status_of_each_state(status, exit_code, started, finished, text):
    rec = record(status, exit_code, ago(started), ago(finished) if finished else ZERO)
    assert container_row(rec)["Status"] == text


def test_image_column_falls_back_to_the_short_image_id():
    assert container_row(record(image_name=""))["Image"] == "cd" * 6


def test_ports_column():
    ports = {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": None}
    running = record("running", started=ago(5), ports=ports)
    assert ports_text(running) == "443/tcp, 0.0.0.0:8080->80/tcp"
    stopped = record("exited", started=ago(9), finished=ago(5), ports=ports)
    assert ports_text(stopped) == "443/tcp, 80/tcp"


def test_ps_table_and_templates():
    rows = [container_row(record("running", started=ago(3), labels={"tier": "web"}))]
    table = render_table(rows, [], PS_DEFAULT, PS_HEADERS)
    header, line = table.splitlines()
    assert header.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert line.startswith(CID[:12] + "   busybox   ") and line.endswith("   web")
    assert render_table(rows, [], "{{.ID}} {{.Names}} {{.Status}}", PS_HEADERS) == f"{CID[:12]} web Up 3 seconds\n"
    assert render_table(rows, [], "{{.Labels}}|{{.Networks}}", PS_HEADERS) == "tier=web|bridge\n"


def test_inspect_hides_the_engines_private_keys():
    shown = inspect_container(record("running", started=ago(1)))
    for key in ("Shim", "ImageName", "RuntimeMounts", "NetworkingConfig"):
        assert key not in shown
    for key in ("Id", "Created", "Path", "Args", "State", "Image", "Name", "Config", "HostConfig",
                "NetworkSettings", "Mounts"):
        assert key in shown
    assert set(shown["State"]) >= {"Status", "Running", "Paused", "Pid", "ExitCode", "StartedAt", "FinishedAt",
                                   "OOMKilled"}


@pytest.mark.parametrize("filters, shown", [
    (["status=running"], True), (["status=exited"], False), (["name=we"], True), (["name=^web$"], True),
    (["name=db"], False), (["id=3f2a"], True), (["id=ffff"], False), (["label=tier"], True),
    (["label=tier=web"], True), (["label=tier=db"], False), (["ancestor=busybox"], True),
    (["status=running", "name=db"], False), (["exited=0"], False),
])
def test_ps_filters(filters, shown):
    assert _matches(record("running", started=ago(1), labels={"tier": "web"}), filters) is shown


def test_ps_exited_filter():
    rec = record("exited", exit_code=3, started=ago(9), finished=ago(2))
    assert _matches(rec, ["exited=3"]) and not _matches(rec, ["exited=0"])


@pytest.mark.parametrize("bad, message", [("status=sleeping", "invalid filter"), ("colour=blue", "invalid filter"),
                                          ("name=a(", "error parsing regexp")])
def test_ps_bad_filters(bad, message):
    with pytest.raises(InvalidArgument, match=message):
        _matches(record(), [bad])


# ``images``: names are stored in full (docker.io/library/busybox:latest) and shown as Docker shows them


def _tiny_rootfs_tar():
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        payload = b"hello\n"
        info.size, info.uid, info.gid = len(payload), 0, 0
        tar.addfile(info, io.BytesIO(payload))
    data.seek(0)
    return data


@pytest.fixture
def engine(tmp_path, monkeypatch):
    """An engine on an empty state root of its own, with one imported image."""
    monkeypatch.setenv("PYDOCK_ROOT", str(tmp_path))
    from pydock_edu.engine import Engine
    from pydock_edu.image import importer

    engine = Engine()
    engine.image_id = importer.import_tar(engine, _tiny_rootfs_tar(), "busybox")
    return engine


def test_images_shows_familiar_names(engine):
    for name in ("busybox:1.36", "docker.io/library/busybox:v2", "index.docker.io/library/busybox:v3",
                 "user/app", "localhost:5000/team/app:1.0", "registry.example.com/x/y:z"):
        engine.tag_image("busybox", name)
    repos = sorted(engine.images.repositories())
    assert "docker.io/library/busybox:latest" in repos and "docker.io/user/app:latest" in repos
    names = sorted((row["Repository"], row["Tag"]) for row in engine.image_rows())
    assert names == [("busybox", "1.36"), ("busybox", "latest"), ("busybox", "v2"), ("busybox", "v3"),
                     ("localhost:5000/team/app", "1.0"), ("registry.example.com/x/y", "z"),
                     ("user/app", "latest")]
    assert {row["ID"] for row in engine.image_rows()} == {engine.image_id[7:19]}


def test_images_filtered_by_repository_and_reference(engine):
    engine.tag_image("busybox", "localhost:5000/app:1.0")
    assert [(r["Repository"], r["Tag"]) for r in engine.image_rows(repository="busybox")] == [("busybox", "latest")]
    assert [r["Tag"] for r in engine.image_rows(repository="localhost:5000/app:1.0")] == ["1.0"]
    assert [r["Repository"] for r in engine.image_rows(filters=["reference=local*/*"])] == ["localhost:5000/app"]
    with pytest.raises(InvalidArgument, match="invalid filter 'colour'"):
        engine.image_rows(filters=["colour=blue"])


def test_an_image_is_found_by_any_spelling_of_its_name(engine):
    for name in ("busybox", "busybox:latest", "library/busybox", "docker.io/library/busybox:latest",
                 engine.image_id, engine.image_id[7:19]):
        assert engine.images.resolve(name) == engine.image_id
