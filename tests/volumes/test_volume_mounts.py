"""Volumes in real containers: named, anonymous, bind and tmpfs mounts, volume containers, rm -v,
backup and restore with tar, and the image's files copied into a new volume."""

import json
import os
import time

import pytest

from pydock_edu import events
from pydock_edu.volume.local import mounts_below
from pydock_edu.volume.mounts import mount_points

from .conftest import SEED

pytestmark = pytest.mark.privileged

WRITE = "echo hello > /data/msg && head -c 100000 /dev/urandom > /data/blob && md5sum /data/blob"


def inspect(pydock, ref, template="{{json .}}"):
    return json.loads(pydock("inspect", "-f", template, ref, check=True).stdout)


def volume_of(pydock, ref, destination):
    return next(m for m in inspect(pydock, ref, "{{json .Mounts}}") if m["Destination"] == destination)


def volume_names(pydock):
    return pydock("volume", "ls", "-q", check=True).stdout.split()


def test_data_written_in_one_container_is_read_in_another_and_outlives_it(run, pydock):
    written = run("--name", "writer", "-v", "shared:/data", "busybox", "sh", "-c", WRITE, check=True).stdout
    pydock("rm", "writer", check=True)
    assert volume_names(pydock) == ["shared"]
    read = run("--rm", "-v", "shared:/data", "busybox", "sh", "-c", "cat /data/msg && md5sum /data/blob",
               check=True).stdout
    assert read == "hello\n" + written
    with open(os.path.join(os.environ["PYDOCK_ROOT"], "volumes", "shared", "_data", "msg")) as f:
        assert f.read() == "hello\n"


def test_inspect_shows_docker_mount_entries(create, pydock, tmp_path):
    cid = create("-v", "named:/data", "-v", f"{tmp_path}:/host:ro", "-v", "/anon",
                 "--mount", "type=tmpfs,target=/scratch,tmpfs-size=1m", "--tmpfs", "/run:size=2m", "busybox")
    mounts = {m["Destination"]: m for m in inspect(pydock, cid, "{{json .Mounts}}")}
    root = os.environ["PYDOCK_ROOT"]
    assert mounts["/data"] == {"Type": "volume", "Name": "named", "Source": f"{root}/volumes/named/_data",
                               "Destination": "/data", "Driver": "local", "Mode": "z", "RW": True,
                               "Propagation": ""}
    assert mounts["/host"] == {"Type": "bind", "Source": str(tmp_path), "Destination": "/host", "Mode": "ro",
                               "RW": False, "Propagation": "rprivate"}
    anonymous = mounts["/anon"]
    assert len(anonymous["Name"]) == 64 and (anonymous["Mode"], anonymous["RW"]) == ("", True)
    assert mounts["/scratch"] == {"Type": "tmpfs", "Source": "", "Destination": "/scratch", "Mode": "", "RW": True,
                                  "Propagation": ""}
    assert "/run" not in mounts  # --tmpfs mounts are not listed, as in Docker
    record = inspect(pydock, cid)
    assert record["HostConfig"]["Binds"] == ["named:/data", f"{tmp_path}:/host:ro"]
    assert record["HostConfig"]["Tmpfs"] == {"/run": "size=2m"}
    assert record["Config"]["Volumes"] == {"/anon": {}}
    assert "RuntimeMounts" not in record and "AnonymousVolumes" not in record

    from pydock_edu.engine import Engine

    points = mount_points(Engine().container(cid))
    assert sorted(points) == ["/anon", "/data", "/host", "/run", "/scratch"]


def test_read_only_mounts_refuse_writes(run, pydock, tmp_path):
    (tmp_path / "file").write_text("host\n")
    for flags in (["-v", "ro-vol:/data:ro"], ["-v", f"{tmp_path}:/data:ro"],
                  ["--mount", f"type=bind,source={tmp_path},target=/data,readonly"],
                  ["--mount", "type=tmpfs,target=/data,readonly"]):
        res = run("--rm", *flags, "busybox", "sh", "-c", "touch /data/new")
        assert res.returncode == 1, flags
        assert "Read-only file system" in res.stderr, flags
    assert os.listdir(tmp_path) == ["file"]
    res = run("--rm", "-v", f"{tmp_path}:/data", "busybox", "sh", "-c", "cat /data/file && touch /data/new")
    assert res.returncode == 0 and res.stdout == "host\n"
    assert sorted(os.listdir(tmp_path)) == ["file", "new"]


def test_bind_sources_missing_and_relative(run, pydock, tmp_path):
    missing = tmp_path / "made" / "by" / "docker"
    run("--rm", "-v", f"{missing}:/x", "busybox", "touch", "/x/here", check=True)
    assert os.listdir(missing) == ["here"]
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<h1>hi</h1>\n")
    res = run("--rm", "-v", "./site:/www", "busybox", "cat", "/www/index.html", cwd=tmp_path)
    assert res.stdout == "<h1>hi</h1>\n", res.stderr
    res = run("--rm", "--mount", f"type=bind,source={tmp_path}/nothing,target=/x", "busybox", "true")
    assert res.returncode == 125
    assert res.stderr == (f'Error: invalid mount config for type "bind": bind source path does not exist: '
                          f"{tmp_path}/nothing\n")
    assert not (tmp_path / "nothing").exists()


@pytest.mark.parametrize("flags, message", [
    (["--mount", "type=bind,target"],
     "invalid argument \"type=bind,target\" for \"--mount\" flag: invalid field 'target' must be a key=value pair"),
    (["--mount", "type=foo,target=/x"], 'invalid mount config for type "foo": mount type unknown'),
    (["--mount", "type=volume,source=a/b,target=/x"],
     'create a/b: "a/b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" '
     "are allowed. If you intended to pass a host directory, use absolute path"),
    (["-v", "../../x:/x", "-v", "data:/x"], "Duplicate mount point: /x"),
    (["-v", "/tmp:/"], "invalid volume specification: '/tmp:/': invalid mount config for type \"bind\": "
                       "invalid specification: destination can't be '/'"),
    (["--volumes-from", "nobody-here"], "No such container: nobody-here"),
    (["--volumes-from", "x:bad"], "invalid mode: bad"),
    (["--tmpfs", "relative"], "invalid mount path: 'relative' mount path must be absolute"),
])
def test_mount_request_errors(run, pydock, flags, message):
    res = run(*flags, "busybox", "true")
    assert (res.returncode, res.stderr) == (125, f"Error: {message}\n")
    assert pydock("ps", "-aq").stdout == "" and volume_names(pydock) == []


def test_volumes_from_sees_the_same_files(run, create, pydock):
    create("--name", "store", "-v", "/data", "-v", "named:/named", "busybox")
    run("--rm", "--volumes-from", "store", "busybox", "sh", "-c", "echo one > /data/f; echo two > /named/g",
        check=True)
    res = run("--rm", "--volumes-from", "store:ro", "busybox", "sh", "-c",
              "cat /data/f /named/g; touch /data/nope")
    assert res.stdout == "one\ntwo\n" and "Read-only file system" in res.stderr
    create("--name", "copy", "--volumes-from", "store", "busybox")
    assert (volume_of(pydock, "copy", "/data")["Name"] == volume_of(pydock, "store", "/data")["Name"])
    assert volume_of(pydock, "copy", "/named")["Mode"] == ""  # taken over: the mode is not copied, as in Docker


def test_rm_v_removes_anonymous_volumes_once_unused_and_never_named_ones(create, pydock):
    create("--name", "first", "-v", "/anon", "-v", "keep:/named", "busybox")
    anonymous = volume_of(pydock, "first", "/anon")["Name"]
    create("--name", "second", "--volumes-from", "first", "busybox")
    pydock("rm", "-v", "first", check=True)
    assert sorted(volume_names(pydock)) == sorted([anonymous, "keep"])  # second still uses it
    pydock("rm", "-v", "second", check=True)
    assert volume_names(pydock) == ["keep"]  # inherited through --volumes-from: removed with second

    create("--name", "plain", "-v", "/anon", "busybox")
    dangling = volume_of(pydock, "plain", "/anon")["Name"]
    pydock("rm", "plain", check=True)  # without -v the anonymous volume stays, dangling
    assert pydock("volume", "ls", "-q", "-f", "dangling=true").stdout.split() == sorted([dangling, "keep"])


def test_run_rm_removes_its_anonymous_volumes_but_not_shared_ones(run, create, pydock):
    run("--rm", "-v", "/scratch", "-v", "named:/named", "busybox", "touch", "/scratch/x", check=True)
    assert volume_names(pydock) == ["named"]
    create("--name", "holder", "-v", "/data", "busybox")
    held = volume_of(pydock, "holder", "/data")["Name"]
    run("--rm", "--volumes-from", "holder", "busybox", "touch", "/data/x", check=True)
    assert sorted(volume_names(pydock)) == sorted([held, "named"])


def test_backup_and_restore_recipe(run, create, pydock, tmp_path):
    """The tutorial's recipe, with busybox: tar a volume container's /data into $PWD, untar it into a new one."""
    create("--name", "dbdata", "-v", "/data", "busybox")
    source = tmp_path / "source"
    source.mkdir()
    payload = os.urandom(300_000)
    (source / "blob.bin").write_bytes(payload)
    (source / "notes.txt").write_text("remember me\n")
    run("--rm", "--volumes-from", "dbdata", "-v", f"{source}:/src:ro", "busybox", "cp", "-a", "/src/.", "/data/",
        check=True)
    pwd = tmp_path / "backups"
    pwd.mkdir()
    res = run("--rm", "--volumes-from", "dbdata", "-v", f"{pwd}:/backup", "busybox",
              "tar", "cvf", "/backup/backup.tar", "/data", cwd=pwd)
    assert res.returncode == 0, res.stderr
    assert "data/blob.bin" in res.stdout + res.stderr and (pwd / "backup.tar").stat().st_size > 300_000

    create("--name", "dbdata2", "-v", "/data", "busybox")
    # The tutorial names the volume to restore; busybox tar stored it as "data" (leading "/" removed).
    res = run("--rm", "--volumes-from", "dbdata2", "-v", f"{pwd}:/backup", "busybox",
              "tar", "xvf", "/backup/backup.tar", "data", cwd=pwd)
    assert res.returncode == 0, res.stderr
    restored = volume_of(pydock, "dbdata2", "/data")["Source"]
    assert open(os.path.join(restored, "blob.bin"), "rb").read() == payload
    assert open(os.path.join(restored, "notes.txt")).read() == "remember me\n"
    assert volume_of(pydock, "dbdata2", "/data")["Name"] != volume_of(pydock, "dbdata", "/data")["Name"]


def test_a_new_volume_is_filled_with_the_image_content(run, pydock, seeded_image):
    listing = "stat -c '%n %u:%g %a' /data /data/seed.txt; readlink /data/link; cat /data/seed.txt; ls /data"
    expected = f"/data 123:45 750\n/data/seed.txt 1000:1000 640\nseed.txt\n{SEED.decode()}link\nseed.txt\nsub\n"
    res = run("--name", "anon", seeded_image, "sh", "-c", listing)
    assert (res.returncode, res.stdout) == (0, expected), res.stderr
    anonymous = volume_of(pydock, "anon", "/data")
    assert (anonymous["Type"], len(anonymous["Name"])) == ("volume", 64)
    assert open(os.path.join(anonymous["Source"], "seed.txt"), "rb").read() == SEED

    res = run("--rm", "-v", "fresh:/data", seeded_image, "sh", "-c", listing)
    assert res.stdout == expected, res.stderr  # a new named volume is filled too
    run("--rm", "-v", "fresh:/data", seeded_image, "sh", "-c", "echo changed > /data/seed.txt", check=True)
    res = run("--rm", "-v", "fresh:/data", seeded_image, "cat", "/data/seed.txt")
    assert res.stdout == "changed\n"  # a volume that holds data is never filled again

    res = run("--rm", "-v", "empty:/data:nocopy", seeded_image, "ls", "-A", "/data")
    assert res.stdout == ""
    res = run("--rm", "--mount", "type=volume,source=empty2,target=/data,volume-nocopy", seeded_image,
              "ls", "-A", "/data")
    assert res.stdout == ""


def test_explain_shows_each_mount_with_its_flags(run, pydock, tmp_path):
    res = pydock("--explain", "run", "--rm", "--network", "none", "-v", f"{tmp_path}:/host:ro",
                 "-v", "vol:/data", "--tmpfs", "/scratch:size=1m", "busybox", "true")
    assert res.returncode == 0, res.stderr
    merged = "/merged"
    steps = [line for line in res.stderr.splitlines() if line.startswith("[explain] mount")]
    # a read-only bind is made read-only while detached, then attached: never writable for a moment
    assert any(f"open_tree {tmp_path} (clone,rec)" in s for s in steps)
    assert any(f"mount_setattr {tmp_path} (ro,rec)" in s for s in steps)
    assert any(f"move_mount {tmp_path} on /proc/self/fd/" in s and s.endswith(f"{merged}/host") for s in steps)
    assert any("volumes/vol/_data on " in s and s.endswith(f"{merged}/data (bind,rec)") for s in steps)
    assert any(s.endswith(f"{merged}/scratch (nosuid,nodev,noexec,size=1m)") for s in steps)
    assert any(line.startswith("[explain] volume") and "mkdir" in line for line in res.stderr.splitlines())


def test_volume_events(run, pydock):
    since = time.time()
    run("--name", "evented", "-v", "watched:/data", "busybox", "true", check=True)
    pydock("rm", "evented", check=True)
    pydock("volume", "rm", "watched", check=True)
    seen = [(e["Action"], e["Actor"]["ID"]) for e in events.read(since=since) if e["Type"] == "volume"]
    assert seen == [("create", "watched"), ("mount", "watched"), ("unmount", "watched"), ("destroy", "watched")]
    mount = next(e for e in events.read(since=since) if e["Action"] == "mount")
    assert mount["Actor"]["Attributes"]["destination"] == "/data"
    assert mount["Actor"]["Attributes"]["read/write"] == "true"


def test_a_mount_inside_a_volume_lands_on_the_volume(run, pydock, tmp_path):
    res = run("--rm", "-v", "outer:/data", "-v", f"{tmp_path}:/data/inner", "busybox", "sh", "-c",
              "echo x > /data/inner/f && ls /data")
    assert res.stdout == "inner\n" and (tmp_path / "f").read_text() == "x\n"


def test_image_symlinks_never_lead_out_of_the_container(run, pydock, seeded_image, tmp_path):
    """The image's ``/hostetc -> /etc``: mounts and the volume copy follow it inside the container's root."""
    res = run("--rm", "-v", f"{tmp_path}:/hostetc/probe", seeded_image, "sh", "-c", "touch /etc/probe/x")
    assert res.returncode == 0, res.stderr
    assert os.listdir(tmp_path) == ["x"] and not os.path.exists("/etc/probe")
    run("--rm", "-v", "copied:/hostetc", seeded_image, "sh", "-c", "exit 0", check=True)
    volume = json.loads(pydock("volume", "inspect", "copied", check=True).stdout)[0]["Mountpoint"]
    assert "fstab" not in os.listdir(volume) and "os-release" not in os.listdir(volume)
    with open(os.path.join(volume, "passwd")) as f:
        assert f.read() == "root:x:0:0:root:/root:/bin/sh\n"  # the image's, not the host's


def test_nothing_stays_mounted(run, pydock):
    run("--rm", "-v", "v1:/data", "--tmpfs", "/t", "busybox", "true", check=True)
    assert mounts_below(os.environ["PYDOCK_ROOT"]) == []
