"""``container diff`` and ``container commit``: the container's upper dir, as Docker shows and commits it."""

import io
import json
import tarfile
import time

import pytest
from image_tar_helpers import busybox_like_layer, image_tarball

from pydock_edu import events

pytestmark = pytest.mark.privileged


def diff(pydock, ref):
    res = pydock("diff", ref)
    assert res.returncode == 0, res.stderr
    return res.stdout.splitlines()


def inspect(pydock, ref):
    res = pydock("image", "inspect", ref)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)[0]


def test_diff_lists_added_changed_and_deleted_paths(pydock, containers, unique):
    containers.run("--name", unique, "busybox", "sh", "-c",
                   "echo hi > /etc/motd; echo more >> /etc/passwd; rm /bin/vi; mkdir -p /data/x; touch /data/x/f")
    assert diff(pydock, unique) == ["C /bin", "D /bin/vi", "A /data", "A /data/x", "A /data/x/f",
                                    "C /etc", "A /etc/motd", "C /etc/passwd"]


def test_a_container_that_changed_nothing_has_no_diff(pydock, containers, unique):
    """The engine's own files (/etc/hosts, /etc/hostname, /etc/resolv.conf) are not the container's changes."""
    containers.run("--name", unique, "busybox", "true")
    assert diff(pydock, unique) == []


def test_a_directory_made_anew_is_changed_and_all_it_holds_added(pydock, containers, unique):
    containers.run("--name", unique, "busybox", "sh", "-c", "rm -rf /var && mkdir /var && touch /var/new")
    assert diff(pydock, unique) == ["C /var", "A /var/new"]


def test_diff_of_a_running_container(pydock, containers, unique):
    containers.run("--name", unique, "busybox", "sh", "-c", "touch /tmp/started; sleep 60", detach=True)
    for _ in range(50):
        if "A /tmp/started" in diff(pydock, unique):
            break
        time.sleep(0.1)
    assert diff(pydock, unique) == ["C /tmp", "A /tmp/started"]


def test_diff_of_a_missing_container_is_dockers_error(pydock):
    res = pydock("diff", "no-such-container")
    assert (res.returncode, res.stderr) == (1, "Error: No such container: no-such-container\n")


def test_commit_makes_an_image_of_the_changes(pydock, containers, images, unique):
    base = inspect(pydock, "busybox")
    containers.run("--name", unique, "busybox", "sh", "-c",
                   "echo hello > /etc/motd; rm /bin/vi; rm -rf /var && mkdir /var && touch /var/new")
    res = pydock("commit", "-m", "add a motd", "-a", "Ada <ada@example.org>", "-c", 'CMD ["cat", "/etc/motd"]',
                 "-c", "ENV GREETING=hi", unique, images.track(f"{unique}:v1"))
    assert res.returncode == 0, res.stderr
    image_id = res.stdout.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    image = inspect(pydock, f"{unique}:v1")
    assert image["Id"] == image_id and image["Parent"] == base["Id"]
    assert (image["Comment"], image["Author"]) == ("add a motd", "Ada <ada@example.org>")
    assert image["Config"]["Cmd"] == ["cat", "/etc/motd"] and "GREETING=hi" in image["Config"]["Env"]
    assert image["RootFS"]["Layers"][:-1] == base["RootFS"]["Layers"] and len(image["RootFS"]["Layers"]) == 2
    out = pydock("run", "--rm", "--network", "none", f"{unique}:v1")
    assert out.stdout == "hello\n"
    out = pydock("run", "--rm", "--network", "none", f"{unique}:v1", "sh", "-c", "ls /var; ls /bin/vi || echo gone")
    assert out.stdout.split() == ["new", "gone"]
    history = pydock("history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Comment}}", f"{unique}:v1")
    top, below = history.stdout.splitlines()
    assert top.split("|") == [image_id, "sh -c echo hello > /etc/motd; rm /bin/vi; rm -rf /var && mkdir /var && "
                                        "touch /var/new", "add a motd"]
    assert below.split("|")[0] == base["Id"]


def test_the_committed_layer_has_whiteouts_and_no_engine_files(pydock, containers, images, unique):
    containers.run("--name", unique, "busybox", "sh", "-c", "rm /bin/vi; rm -rf /var && mkdir /var && touch /var/new")
    pydock("commit", unique, images.track(unique), check=True)
    from pydock_edu.engine import Engine

    engine = Engine()
    top = engine.images.layers(engine.images.resolve(unique))[-1]
    with tarfile.open(f"{engine.images.layer_path(top)}/layer.tar") as tar:
        names = [m.name.rstrip("/") for m in tar.getmembers()]
    assert names == ["bin", "bin/.wh.vi", "var", "var/.wh..wh..opq", "var/new"]


def test_an_unchanged_container_commits_an_empty_layer(pydock, containers, images, unique):
    containers.run("--name", unique, "busybox", "true")
    pydock("commit", unique, images.track(unique), check=True)
    image, base = inspect(pydock, unique), inspect(pydock, "busybox")
    assert image["RootFS"]["Layers"] == base["RootFS"]["Layers"]
    from pydock_edu.engine import Engine

    engine = Engine()
    assert engine.images.config(image["Id"])["history"][-1]["empty_layer"] is True


def test_mount_points_the_runtime_made_are_left_out(pydock, containers, images, unique):
    """An image without /proc, /sys, /dev, /etc or /tmp: the runtime makes them; they are not changes."""
    from pydock_edu.engine import Engine

    data, _ = image_tarball([busybox_like_layer()], tags=[images.track(f"bare{unique}:1")], cmd=["sh"])
    Engine().load_images(io.BytesIO(data))
    containers.run("--name", unique, f"bare{unique}:1", "cat", "/etc/motd")
    assert diff(pydock, unique) == []
    pydock("commit", unique, images.track(f"bare{unique}:2"), check=True)
    assert inspect(pydock, f"bare{unique}:2")["RootFS"]["Layers"] == inspect(pydock, f"bare{unique}:1")["RootFS"]["Layers"]


def test_volume_mount_points_are_left_out(pydock, containers, images, unique):
    containers.run("--name", unique, "-v", "/vol/data", "busybox", "sh", "-c", "echo in-volume > /vol/data/f")
    assert diff(pydock, unique) == []
    pydock("commit", unique, images.track(unique), check=True)
    image = inspect(pydock, unique)
    assert image["RootFS"]["Layers"] == inspect(pydock, "busybox")["RootFS"]["Layers"]  # nothing of /vol
    assert image["Config"]["Volumes"] == {"/vol/data": {}}  # the volume itself stays declared, as in Docker


def _actions(since, actor=None):
    return [(e["Type"], e["Action"]) for e in events.read(since=since)
            if actor is None or e["Actor"]["ID"] == actor]


def test_a_running_container_is_paused_while_it_is_committed(pydock, containers, images, unique):
    cid = containers.run("--name", unique, "busybox", "sh", "-c", "echo x > /tmp/x; sleep 60", detach=True)
    since = time.time()
    image_id = pydock("commit", unique, images.track(unique), check=True).stdout.strip()
    assert _actions(since, cid) == [("container", "pause"), ("container", "unpause"), ("container", "commit")]
    assert [e["Actor"]["Attributes"]["imageID"] for e in events.read(since=since)
            if e["Action"] == "commit"] == [image_id]
    since = time.time()
    pydock("commit", "--pause=false", unique, check=True)
    assert _actions(since, cid) == [("container", "commit")]
    state = pydock("inspect", "-f", "{{.State.Status}}", unique).stdout.strip()
    assert state == "running"


def test_commit_of_a_missing_container(pydock):
    res = pydock("commit", "no-such-container")
    assert (res.returncode, res.stderr) == (1, "Error: No such container: no-such-container\n")
