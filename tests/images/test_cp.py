"""``container cp`` both ways and ``container export``, on stopped and running containers.

Paths in a container are resolved inside the container's root: a symlink in the container that
points at /etc leads to the container's /etc, never the host's.
"""

import io
import os
import subprocess
import tarfile
import time

import pytest
from image_tar_helpers import entry, make_tar, pydock_command

pytestmark = pytest.mark.privileged

SETUP = ("mkdir -p /src/sub && echo a > /src/a && echo b > /src/sub/b && ln -s a /src/link && chown 1234:4321 /src/a"
         " && ln -s /etc /evil && ln -s ../../../../../../etc /evil2 && mkdir /dest && echo old > /dest/file"
         " && ln -s /var/tmp /hostpath && touch /ready")


@pytest.fixture(params=["stopped", "running"])
def box(request, pydock, containers, unique):
    """A container holding /src (a, sub/b, link -> a), crafted symlinks /evil -> /etc and /evil2 ->
    ../../../etc, and /dest; stopped or running."""
    if request.param == "stopped":
        containers.run("--name", unique, "busybox", "sh", "-c", SETUP)
    else:
        containers.run("--name", unique, "busybox", "sh", "-c", SETUP + " && sleep 600", detach=True)
        for _ in range(100):
            if pydock("exec", unique, "test", "-e", "/ready").returncode == 0:
                break
            time.sleep(0.05)
    return unique


def cp(pydock, *args, **kwargs):
    return pydock("cp", *args, **kwargs)


def binary_pydock(*args, input=None, stdout=subprocess.PIPE):
    """``pydock ARGS...`` with bytes for stdin and stdout (tar streams)."""
    return subprocess.run([pydock_command(), *map(str, args)], input=input, stdout=stdout, stderr=subprocess.PIPE,
                          timeout=120)


def read_in(box, path):
    """A file's content in the container, read through cp (works whether the container runs or not)."""
    res = binary_pydock("cp", f"{box}:{path}", "-")
    assert res.returncode == 0, res.stderr
    with tarfile.open(fileobj=io.BytesIO(res.stdout)) as tar:
        return tar.extractfile(tar.next()).read().decode()


# Out of the container


def test_a_file_to_a_new_name(pydock, box, tmp_path):
    assert cp(pydock, f"{box}:/src/a", tmp_path / "copy").returncode == 0
    assert (tmp_path / "copy").read_text() == "a\n"


def test_a_file_into_a_directory_and_over_a_file(pydock, box, tmp_path):
    (tmp_path / "old").write_text("old")
    cp(pydock, f"{box}:/src/a", tmp_path, check=True)
    cp(pydock, f"{box}:/src/sub/b", tmp_path / "old", check=True)
    assert (tmp_path / "a").read_text() == "a\n" and (tmp_path / "old").read_text() == "b\n"


def test_a_directory_to_a_new_name_and_into_a_directory(pydock, box, tmp_path):
    cp(pydock, f"{box}:/src", tmp_path / "new", check=True)
    cp(pydock, f"{box}:/src", tmp_path, check=True)
    for top in (tmp_path / "new", tmp_path / "src"):
        assert sorted(os.listdir(top)) == ["a", "link", "sub"] and (top / "sub" / "b").read_text() == "b\n"
        assert os.readlink(top / "link") == "a"


def test_a_directory_s_contents_with_trailing_dot(pydock, box, tmp_path):
    cp(pydock, f"{box}:/src/.", tmp_path, check=True)
    assert sorted(os.listdir(tmp_path)) == ["a", "link", "sub"]


@pytest.mark.parametrize("source, dest, message", [
    ("/src/a", "missing/", "no such directory"),
    ("/src", "file", "cannot copy directory"),
    ("/nothing", "x", "Could not find the file /nothing in container BOX"),
    ("/src/a/", "x", "lstat /src/a/: not a directory"),
    ("/src/a", "no/such/dir/x", 'invalid output path: directory "TMP/no/such/dir" does not exist'),
])
def test_copy_out_errors_are_dockers(pydock, box, tmp_path, source, dest, message):
    (tmp_path / "file").write_text("f")
    res = cp(pydock, f"{box}:{source}", f"{tmp_path}/{dest}")
    expected = message.replace("BOX", box).replace("TMP", str(tmp_path))
    assert (res.returncode, res.stderr) == (1, f"Error: {expected}\n")


def test_follow_link_copies_the_target_under_the_link_s_name(pydock, box, tmp_path):
    cp(pydock, f"{box}:/src/link", tmp_path, check=True)
    assert os.readlink(tmp_path / "link") == "a"
    os.unlink(tmp_path / "link")
    cp(pydock, "-L", f"{box}:/src/link", tmp_path, check=True)
    assert not os.path.islink(tmp_path / "link") and (tmp_path / "link").read_text() == "a\n"


def test_owners_out_are_the_user_s_unless_archive_mode(pydock, box, tmp_path):
    cp(pydock, f"{box}:/src/a", tmp_path / "plain", check=True)
    cp(pydock, "-a", f"{box}:/src/a", tmp_path / "archived", check=True)
    assert (os.stat(tmp_path / "plain").st_uid, os.stat(tmp_path / "plain").st_gid) == (os.getuid(), os.getgid())
    assert (os.stat(tmp_path / "archived").st_uid, os.stat(tmp_path / "archived").st_gid) == (1234, 4321)


def test_a_tar_stream_to_stdout(box):
    res = binary_pydock("cp", f"{box}:/src", "-")
    assert res.returncode == 0, res.stderr
    with tarfile.open(fileobj=io.BytesIO(res.stdout)) as tar:
        assert sorted(m.name.rstrip("/") for m in tar.getmembers()) == ["src", "src/a", "src/link", "src/sub",
                                                                          "src/sub/b"]


# Into the container


def test_a_file_in_new_name_into_dir_and_over_file(pydock, box, tmp_path):
    (tmp_path / "f").write_text("host\n")
    cp(pydock, tmp_path / "f", f"{box}:/dest/new", check=True)
    cp(pydock, tmp_path / "f", f"{box}:/dest", check=True)
    cp(pydock, tmp_path / "f", f"{box}:/dest/file", check=True)
    for path in ("/dest/new", "/dest/f", "/dest/file"):
        assert read_in(box, path) == "host\n"


def test_a_directory_in_new_name_into_dir_and_contents(pydock, box, tmp_path):
    (tmp_path / "d" / "inner").mkdir(parents=True)
    (tmp_path / "d" / "inner" / "x").write_text("x\n")
    cp(pydock, tmp_path / "d", f"{box}:/dest/made", check=True)
    cp(pydock, tmp_path / "d", f"{box}:/dest", check=True)
    cp(pydock, f"{tmp_path}/d/.", f"{box}:/src", check=True)
    for path in ("/dest/made/inner/x", "/dest/d/inner/x", "/src/inner/x"):
        assert read_in(box, path) == "x\n"


def test_owners_in_are_root_s_unless_archive_mode(pydock, box, tmp_path):
    (tmp_path / "mine").write_text("m")
    os.chown(tmp_path / "mine", 1500, 1600)
    cp(pydock, tmp_path / "mine", f"{box}:/dest/plain", check=True)
    cp(pydock, "-a", tmp_path / "mine", f"{box}:/dest/archived", check=True)
    res = binary_pydock("cp", f"{box}:/dest", "-")
    with tarfile.open(fileobj=io.BytesIO(res.stdout)) as tar:
        owners = {m.name: (m.uid, m.gid) for m in tar.getmembers()}
    assert owners["dest/plain"] == (0, 0) and owners["dest/archived"] == (1500, 1600)


def test_a_tar_stream_from_stdin(box):
    data = make_tar([entry("streamed", data=b"s\n"), entry("deep/er", data=b"d\n")])
    res = binary_pydock("cp", "-", f"{box}:/dest", input=data)
    assert res.returncode == 0, res.stderr
    assert read_in(box, "/dest/streamed") == "s\n" and read_in(box, "/dest/deep/er") == "d\n"
    res = binary_pydock("cp", "-", f"{box}:/dest/file", input=data)
    assert res.stderr.decode() == f'Error: destination "{box}:/dest/file" must be a directory\n'


@pytest.mark.parametrize("dest, message", [
    ("/nowhere/x", "Could not find the file /nowhere in container BOX"),
    ("/dest/missing/", "no such directory"),
])
def test_copy_in_errors_are_dockers(pydock, box, tmp_path, dest, message):
    (tmp_path / "f").write_text("f")
    res = cp(pydock, tmp_path / "f", f"{box}:{dest}")
    assert (res.returncode, res.stderr) == (1, f"Error: {message.replace('BOX', box)}\n")


def test_copy_errors_without_a_container(pydock, tmp_path):
    assert cp(pydock, tmp_path, tmp_path).stderr == "Error: must specify at least one container source\n"
    assert cp(pydock, "a:/x", "b:/y").stderr == "Error: copying between containers is not supported\n"
    res = cp(pydock, "no-such-container:/x", tmp_path)
    assert (res.returncode, res.stderr) == (1, "Error: No such container: no-such-container\n")


@pytest.mark.parametrize("running", [False, True])
def test_copy_in_and_out_of_a_volume(pydock, containers, unique, tmp_path, running):
    """A copy into a volume's path lands in the volume, whether the container runs or not."""
    volume = unique + "vol"
    command = ["sh", "-c", "sleep 600"] if running else ["true"]
    containers.run("--name", unique, "-v", f"{volume}:/data", "busybox", *command, detach=running)
    (tmp_path / "in").write_text("into the volume\n")
    cp(pydock, tmp_path / "in", f"{unique}:/data/in", check=True)
    cp(pydock, f"{unique}:/data/in", tmp_path / "out", check=True)
    assert (tmp_path / "out").read_text() == "into the volume\n"
    mountpoint = pydock("volume", "inspect", "-f", "{{.Mountpoint}}", volume).stdout.strip()
    assert open(os.path.join(mountpoint, "in")).read() == "into the volume\n"
    pydock("rm", "-f", unique, check=True)
    pydock("volume", "rm", volume, check=True)


# Crafted symlinks: the container's paths never reach the host's files


@pytest.mark.parametrize("link", ["/evil", "/evil2"])
def test_copy_in_through_a_symlink_to_etc_writes_the_container_s_etc(pydock, box, tmp_path, link, unique):
    (tmp_path / f"{unique}.conf").write_text("container only\n")
    cp(pydock, tmp_path / f"{unique}.conf", f"{box}:{link}/", check=True)
    assert not os.path.exists(f"/etc/{unique}.conf")
    assert read_in(box, f"/etc/{unique}.conf") == "container only\n"


def test_copy_in_through_a_symlink_to_a_host_directory_stays_inside(pydock, box, tmp_path, unique):
    """/hostpath -> /var/tmp exists on the host, not in the container: the copy fails, the host is untouched."""
    (tmp_path / unique).write_text("x")
    res = cp(pydock, tmp_path / unique, f"{box}:/hostpath/{unique}")
    assert (res.returncode, res.stderr) == (1, f"Error: Could not find the file /hostpath in container {box}\n")
    assert not os.path.exists(f"/var/tmp/{unique}")


def test_copy_out_through_a_symlink_reads_the_container_s_files(pydock, box, tmp_path):
    cp(pydock, f"{box}:/evil/passwd", tmp_path / "passwd", check=True)
    cp(pydock, "-L", f"{box}:/evil2", tmp_path / "etc", check=True)
    busybox_passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
    assert (tmp_path / "passwd").read_text() == busybox_passwd
    assert (tmp_path / "etc" / "passwd").read_text() == busybox_passwd


def test_a_tar_stream_cannot_climb_out(box):
    data = make_tar([entry("../../../../../../var/tmp/escaped", data=b"x")])
    res = binary_pydock("cp", "-", f"{box}:/dest", input=data)
    assert res.returncode == 1 and b"leaves the tar" in res.stderr
    assert not os.path.exists("/var/tmp/escaped")


# Export


def exported(ref):
    res = binary_pydock("export", ref)
    assert res.returncode == 0, res.stderr
    with tarfile.open(fileobj=io.BytesIO(res.stdout)) as tar:
        return {m.name.rstrip("/"): m for m in tar.getmembers()}


def test_export_is_the_merged_file_system(containers, unique):
    containers.run("--name", unique, "busybox", "sh", "-c", "rm /bin/vi; echo new > /etc/new")
    files = exported(unique)
    assert {"bin/busybox", "bin/sh", "etc/passwd", "etc/new", "proc", "sys", "dev"} <= set(files)
    assert "bin/vi" not in files and not any(".wh." in name for name in files)


def test_export_of_a_running_container_leaves_its_mounts_out(containers, unique):
    containers.run("--name", unique, "busybox", "sh", "-c", "echo live > /tmp/live; sleep 600", detach=True)
    for _ in range(100):
        files = exported(unique)
        if "tmp/live" in files:
            break
        time.sleep(0.05)
    assert files["proc"].isdir() and not any(name.startswith(("proc/", "sys/", "dev/")) for name in files)


def test_export_to_a_file(pydock, containers, unique, tmp_path):
    containers.create("--name", unique, "busybox")
    res = pydock("export", "-o", tmp_path / "fs.tar", unique)
    assert res.returncode == 0 and res.stdout == ""
    assert os.listdir(tmp_path) == ["fs.tar"] and "bin/busybox" in tarfile.open(tmp_path / "fs.tar").getnames()
    res = pydock("export", "no-such-container")
    assert (res.returncode, res.stderr) == (1, "Error: No such container: no-such-container\n")


def test_export_refuses_to_write_to_a_terminal(containers, unique):
    containers.create("--name", unique, "busybox")
    leader, follower = os.openpty()
    try:
        res = binary_pydock("export", unique, stdout=follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert res.stderr.decode() == "Error: cowardly refusing to save to a terminal. Use the -o flag or redirect\n"


def test_cp_events(pydock, box, tmp_path):
    from pydock_edu import events

    since = time.time()
    cp(pydock, f"{box}:/src/a", tmp_path, check=True)
    cp(pydock, tmp_path / "a", f"{box}:/dest", check=True)
    assert [(e["Action"], e["Actor"]["Attributes"]["path"]) for e in events.read(since=since)
            if e["Type"] == "container"] == [("archive-path", "/src/a"), ("extract-to-dir", "/dest")]
