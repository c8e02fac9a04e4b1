"""``pydock volume create|ls|inspect|rm|prune``, the local driver's options, and safe removal."""

import json
import os
import subprocess

import pytest

from pydock_edu.volume.local import mounts_below

pytestmark = pytest.mark.privileged


def volume_inspect(pydock, name):
    return json.loads(pydock("volume", "inspect", name, check=True).stdout)[0]


def test_create_inspect_ls(pydock):
    assert pydock("volume", "create", "db", check=True).stdout == "db\n"
    assert pydock("volume", "create", "--name", "web", "-l", "tier=front", "--label", "team",
                  check=True).stdout == "web\n"
    assert pydock("volume", "create", "db", check=True).stdout == "db\n"  # an existing volume is kept
    generated = pydock("volume", "create", check=True).stdout.strip()
    assert len(generated) == 64
    web = volume_inspect(pydock, "web")
    assert list(web) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]
    assert web["Mountpoint"] == os.path.join(os.environ["PYDOCK_ROOT"], "volumes", "web", "_data")
    assert (web["Driver"], web["Labels"], web["Options"], web["Scope"]) == (
        "local", {"tier": "front", "team": ""}, {}, "local")
    assert os.path.isdir(web["Mountpoint"])
    assert pydock("volume", "inspect", "-f", "{{.Name}} {{.Scope}}", "db", check=True).stdout == "db local\n"
    assert pydock("inspect", "-f", "{{.Mountpoint}}", "db", check=True).stdout.strip().endswith("/db/_data")

    table = pydock("volume", "ls", check=True).stdout.splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert [line.split()[1] for line in table[1:]] == sorted([generated, "db", "web"])
    assert pydock("volume", "ls", "-q", "-f", "label=tier=front").stdout == "web\n"
    assert pydock("volume", "ls", "--format", "{{.Name}}:{{.Driver}}:{{.Labels}}", "-f", "name=we").stdout == \
        "web:local:tier=front,team=\n"


def test_ls_sorts_names_naturally(pydock):
    for name in ("vol10", "vol2", "vol1"):
        pydock("volume", "create", name, check=True)
    assert pydock("volume", "ls", "-q").stdout.split() == ["vol1", "vol2", "vol10"]


@pytest.mark.parametrize("args, message", [
    (["a/b"], 'create a/b: "a/b" includes invalid characters for a local volume name, only '
              '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'),
    (["x"], "create x: volume name is too short, names should be at least two alphanumeric characters"),
    (["-d", "nfs", "vv"], 'create vv: error looking up volume plugin nfs: plugin "nfs" not found'),
    (["-o", "bad=1", "vv"], 'create vv: invalid option: "bad"'),
    (["-o", "type=tmpfs", "vv"], 'create vv: missing required option: "device"'),
    (["--name", "one", "two"], "conflicting options: either specify --name or provide positional arg, not both"),
])
def test_create_errors(pydock, args, message):
    res = pydock("volume", "create", *args)
    assert res.stderr == f"Error: {message}\n" and res.returncode in (1, 125)
    assert pydock("volume", "ls", "-q").stdout == ""


def test_rm_is_refused_while_a_container_uses_the_volume(pydock, run, create):
    pydock("volume", "create", "busy", check=True)
    stopped = create("-v", "busy:/data", "busybox")
    res = pydock("volume", "rm", "busy")
    assert (res.returncode, res.stderr) == (1, f"Error: remove busy: volume is in use - [{stopped}]\n")
    running = run("-d", "-v", "busy:/data", "busybox", "sleep", "60", check=True).stdout.strip()
    res = pydock("volume", "rm", "-f", "busy")  # -f forgives a missing volume, not one in use
    prefix = "Error: remove busy: volume is in use - ["
    assert res.returncode == 1 and res.stderr.startswith(prefix) and res.stderr.endswith("]\n")
    assert sorted(res.stderr[len(prefix):-2].split(", ")) == sorted([stopped, running])
    pydock("rm", "-f", stopped, running, check=True)
    assert pydock("volume", "rm", "busy", check=True).stdout == "busy\n"
    res = pydock("volume", "rm", "busy")
    assert (res.returncode, res.stderr) == (1, "Error: get busy: no such volume\n")
    assert pydock("volume", "rm", "-f", "busy").returncode == 0
    res = pydock("volume", "inspect", "../containers")
    assert (res.returncode, res.stderr) == (1, "Error: get ../containers: no such volume\n")


def test_prune_removes_unused_anonymous_volumes_and_with_all_every_unused_one(pydock, create):
    create("--name", "user", "-v", "/anon-used", "-v", "named-used:/n", "busybox")
    create("--name", "gone", "-v", "/anon-free", "busybox")
    free = json.loads(pydock("inspect", "-f", "{{json .Mounts}}", "gone", check=True).stdout)[0]["Name"]
    pydock("rm", "gone", check=True)
    pydock("volume", "create", "named-free", check=True)
    with open(os.path.join(volume_inspect(pydock, "named-free")["Mountpoint"], "f"), "wb") as f:
        f.write(b"x" * 2000)
    before = set(pydock("volume", "ls", "-q").stdout.split())

    res = pydock("volume", "prune", input="n\n")
    assert res.stdout == ("WARNING! This will remove anonymous local volumes not used by at least one container.\n"
                          "Are you sure you want to continue? [y/N] ")
    assert set(pydock("volume", "ls", "-q").stdout.split()) == before
    res = pydock("volume", "prune", "-f", check=True)
    assert res.stdout == f"Deleted Volumes:\n{free}\n\nTotal reclaimed space: 0B\n"
    res = pydock("volume", "prune", "--all", input="y\n", check=True)
    assert res.stdout.endswith("Deleted Volumes:\nnamed-free\n\nTotal reclaimed space: 2kB\n")
    assert set(pydock("volume", "ls", "-q").stdout.split()) == before - {free, "named-free"}
    assert pydock("volume", "prune", "-af", check=True).stdout == "Total reclaimed space: 0B\n"


def test_removing_a_volume_never_follows_a_symlink_out_of_it(pydock, run, tmp_path):
    canary_dir = tmp_path / "host-dir"
    canary_dir.mkdir()
    (canary_dir / "canary").write_text("still here\n")
    (tmp_path / "canary-file").write_text("me too\n")
    run("--rm", "-v", "trap:/data", "busybox", "sh", "-c",
        f"ln -s {canary_dir} /data/to-dir && ln -s {tmp_path}/canary-file /data/to-file && "
        f"mkdir /data/sub && ln -s {canary_dir} /data/sub/deeper && ln -s / /data/root", check=True)
    mountpoint = volume_inspect(pydock, "trap")["Mountpoint"]
    assert os.path.islink(os.path.join(mountpoint, "to-dir"))
    pydock("volume", "rm", "trap", check=True)
    assert not os.path.exists(os.path.dirname(mountpoint))
    assert (canary_dir / "canary").read_text() == "still here\n"
    assert (tmp_path / "canary-file").read_text() == "me too\n"


def test_local_driver_tmpfs_is_shared_by_containers_and_unmounted_with_the_volume(pydock, run):
    pydock("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=2m,mode=1777", "ram",
           check=True)
    mountpoint = volume_inspect(pydock, "ram")["Mountpoint"]
    assert volume_inspect(pydock, "ram")["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=2m,mode=1777"}
    res = pydock("--explain", "run", "--rm", "--network", "none", "-v", "ram:/fast", "busybox", "sh", "-c",
                 "echo quick > /fast/note && df -k /fast | tail -1")
    assert res.returncode == 0, res.stderr
    assert f"[explain] mount      mount tmpfs on {mountpoint} (size=2m,mode=1777)" in res.stderr
    assert res.stdout.split()[1] == "2048"
    assert mounts_below(mountpoint) == [mountpoint]
    assert run("--rm", "-v", "ram:/fast", "busybox", "cat", "/fast/note").stdout == "quick\n"
    pydock("volume", "rm", "ram", check=True)
    assert mounts_below(os.path.dirname(mountpoint)) == [] and not os.path.exists(mountpoint)


def test_local_driver_bind_of_a_host_directory_keeps_the_host_files(pydock, run, tmp_path):
    (tmp_path / "kept.txt").write_text("host data\n")
    pydock("volume", "create", "-o", "type=none", "-o", f"device={tmp_path}", "-o", "o=bind", "hostdir", check=True)
    res = run("--rm", "-v", "hostdir:/srv", "busybox", "sh", "-c", "cat /srv/kept.txt && echo new > /srv/new.txt")
    assert res.stdout == "host data\n", res.stderr
    pydock("volume", "rm", "hostdir", check=True)
    assert sorted(os.listdir(tmp_path)) == ["kept.txt", "new.txt"]
    assert mounts_below(str(tmp_path)) == [] and mounts_below(os.environ["PYDOCK_ROOT"]) == []


def test_local_driver_mount_errors_are_reported(pydock, run, tmp_path):
    pydock("volume", "create", "-o", "type=none", "-o", f"device={tmp_path}/missing", "-o", "o=bind", "broken",
           check=True)
    res = run("--rm", "-v", "broken:/srv", "busybox", "true")
    mountpoint = volume_inspect(pydock, "broken")["Mountpoint"]
    assert res.returncode == 125
    assert res.stderr == (f"Error: error while mounting volume '{mountpoint}': failed to mount local volume: "
                          f"mount {tmp_path}/missing:{mountpoint}, flags: 0x1000: no such file or directory\n")


def test_removing_an_rbind_volume_leaves_the_host_tree_alone(pydock, run, tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(inner)], check=True)
    try:
        (inner / "keep").write_text("on a submount\n")
        pydock("volume", "create", "-o", "type=none", "-o", f"device={tmp_path}", "-o", "o=rbind", "tree",
               check=True)
        assert run("--rm", "-v", "tree:/srv", "busybox", "cat", "/srv/inner/keep").stdout == "on a submount\n"
        pydock("volume", "rm", "tree", check=True)
        assert (inner / "keep").read_text() == "on a submount\n"
        assert mounts_below(os.environ["PYDOCK_ROOT"]) == [] and mounts_below(str(inner)) == [str(inner)]
    finally:
        subprocess.run(["umount", str(inner)], check=True)
