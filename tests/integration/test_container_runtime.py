"""What a container is, seen from inside and from the host: namespaces, its own root, its upper layer."""

import os
import stat
import subprocess
import sysconfig
import tarfile
import uuid

import pytest
from foundation_helpers import assert_one_line_error, container_dir, inspect

pytestmark = pytest.mark.privileged


def out(res):
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_pid_1_is_the_command(run):
    assert out(run("--rm", "busybox", "cat", "/proc/1/cmdline")) == "cat\0/proc/1/cmdline\0"
    assert out(run("--rm", "busybox", "sh", "-c", "echo $$")) == "1\n"


def test_the_container_has_its_own_namespaces(run):
    kinds = ("pid", "mnt", "uts", "ipc", "net", "cgroup")
    inside = out(run("--rm", "busybox", "sh", "-c",
                     "for k in " + " ".join(kinds) + "; do readlink /proc/1/ns/$k; done")).split()
    host = [os.readlink(f"/proc/self/ns/{k}") for k in kinds]
    assert len(inside) == len(kinds)
    for kind, theirs, ours in zip(kinds, inside, host):
        assert theirs.startswith(kind + ":[") and theirs != ours, kind


def test_hostname_defaults_to_the_short_id(pydock, create):
    cid = create("busybox", "sh", "-c", "hostname; cat /etc/hostname; echo $HOSTNAME")
    res = pydock("start", "-a", cid)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [cid[:12]] * 3
    assert inspect(pydock, cid, "{{.Config.Hostname}}") == cid[:12]


def test_hostname_flag(run):
    assert out(run("--rm", "-h", "box.example", "busybox", "hostname")) == "box.example\n"
    assert out(run("--rm", "--hostname", "other", "busybox", "cat", "/etc/hostname")) == "other\n"


def test_the_root_is_the_images(run, tmp_path):
    marker = f"/var/tmp/pydock-host-only-{uuid.uuid4().hex}"
    with open(marker, "w") as f:
        f.write("host\n")
    try:
        res = run("--rm", "busybox", "sh", "-c", f"ls /bin/busybox; test -e {marker} || echo absent; "
                                                  "test -e /etc/os-release || echo no-os-release; ls /")
    finally:
        os.unlink(marker)
    lines = out(res).split()
    assert lines[:3] == ["/bin/busybox", "absent", "no-os-release"]
    assert "work" not in lines and "opt" not in lines


def test_the_filesystems_a_container_gets(run):
    mounts = out(run("--rm", "busybox", "cat", "/proc/mounts")).splitlines()
    by_point = {line.split()[1]: line.split() for line in mounts}
    assert by_point["/"][2] == "overlay"
    assert by_point["/proc"][2] == "proc"
    assert by_point["/sys"][2] == "sysfs" and "ro" in by_point["/sys"][3].split(",")
    assert by_point["/dev"][2] == "tmpfs" and by_point["/dev/pts"][2] == "devpts"
    for point in ("/dev/shm", "/dev/mqueue", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"):
        assert point in by_point, point
    devices = out(run("--rm", "busybox", "ls", "/dev")).split()
    for name in ("null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue"):
        assert name in devices
    res = run("--rm", "busybox", "sh", "-c", "echo x > /sys/kernel/x")
    assert res.returncode != 0 and "Read-only file system" in res.stderr


def test_writes_land_in_the_upper_dir_not_in_the_image(pydock, run):
    res = run("--name", "writer", "busybox", "sh", "-c", "echo data > /newfile; rm /bin/ls; echo more >> /etc/passwd")
    assert res.returncode == 0, res.stderr
    cid = inspect(pydock, "writer", "{{.Id}}")
    upper = os.path.join(container_dir(cid), "diff")
    assert inspect(pydock, "writer", "{{.GraphDriver.Data.UpperDir}}") == upper
    with open(os.path.join(upper, "newfile")) as f:
        assert f.read() == "data\n"
    whiteout = os.lstat(os.path.join(upper, "bin", "ls"))
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0  # overlayfs marks the deletion
    with open(os.path.join(upper, "etc", "passwd")) as f:
        assert f.read().endswith("more\n")  # copied up, then changed

    image_layer = inspect(pydock, "busybox", "{{.GraphDriver.Data.UpperDir}}")
    assert os.path.isdir(image_layer) and not os.path.exists(os.path.join(image_layer, "newfile"))
    assert os.path.islink(os.path.join(image_layer, "bin", "ls"))
    with open(os.path.join(image_layer, "etc", "passwd")) as f:
        assert "more" not in f.read()
    # another container from the same image sees the image, not the first one's changes
    assert out(run("--rm", "busybox", "sh", "-c", "ls /bin/ls; test -e /newfile || echo clean")).split() == \
        ["/bin/ls", "clean"]


def test_user_switching(run):
    assert out(run("--rm", "-u", "nobody", "busybox", "id", "-u")) == "65534\n"
    assert out(run("--rm", "-u", "nobody", "busybox", "sh", "-c", "echo $HOME")) == "/home\n"
    assert out(run("--rm", "-u", "1234:55", "busybox", "id")) == "uid=1234 gid=55\n"
    assert out(run("--rm", "-u", "0:nobody", "busybox", "id", "-g")) == "65534\n"
    assert_one_line_error(run("--rm", "-u", "nosuchuser", "busybox", "true"), 125)


def test_environment(run, tmp_path):
    env_file = tmp_path / "vars.env"
    env_file.write_text("# settings\nFROM_FILE=1\nSHARED=file\n\n")
    res = run("--rm", "--env-file", str(env_file), "-e", "SHARED=flag", "-e", "GREETING=hello world",
              "-h", "envbox", "busybox", "env")
    env = dict(line.split("=", 1) for line in out(res).splitlines())
    assert env["FROM_FILE"] == "1" and env["SHARED"] == "flag" and env["GREETING"] == "hello world"
    assert env["HOSTNAME"] == "envbox" and env["HOME"] == "/root"
    assert env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_workdir_is_created(run):
    assert out(run("--rm", "-w", "/new/work/dir", "busybox", "pwd")) == "/new/work/dir\n"
    assert out(run("--rm", "-w", "/tmp", "busybox", "sh", "-c", "pwd")) == "/tmp\n"


@pytest.fixture
def rootfs_tar(pydock, busybox_image, tmp_path):
    """The busybox image's filesystem as a tar, to import images with other configs from."""
    layer = inspect(pydock, "busybox", "{{.GraphDriver.Data.UpperDir}}")
    path = tmp_path / "rootfs.tar"
    with tarfile.open(path, "w") as tar:
        tar.add(layer, arcname=".")
    return path


def test_entrypoint(pydock, run, rootfs_tar):
    res = pydock("import", "-c", 'ENTRYPOINT ["echo", "from-entrypoint"]', "-c", 'CMD ["default-arg"]',
                 str(rootfs_tar), "ep-image:1")
    assert res.returncode == 0, res.stderr
    try:
        assert out(run("--rm", "ep-image:1")) == "from-entrypoint default-arg\n"
        assert out(run("--rm", "ep-image:1", "given")) == "from-entrypoint given\n"
        assert out(run("--rm", "--entrypoint", "printf", "ep-image:1", "%s-", "a", "b")) == "a-b-"
        assert out(run("--rm", "--entrypoint", "", "ep-image:1", "echo", "reset")) == "reset\n"
        res = run("--rm", "--entrypoint", "", "ep-image:1")  # neither entrypoint nor the image's CMD is left
        assert_one_line_error(res, 125)
        assert "no command specified" in res.stderr
    finally:
        pydock("rmi", "ep-image:1")


def test_an_image_without_a_command(pydock, run, rootfs_tar):
    assert pydock("import", str(rootfs_tar), "no-cmd:1").returncode == 0
    try:
        res = run("--rm", "no-cmd:1")
        assert_one_line_error(res, 125)
        assert "no command specified" in res.stderr
        assert out(run("--rm", "no-cmd:1", "echo", "ok")) == "ok\n"
    finally:
        pydock("rmi", "no-cmd:1")
    assert pydock("ps", "-aq").stdout == ""


@pytest.mark.parametrize("argv, code, message", [
    (["true"], 0, None),
    (["sh", "-c", "exit 3"], 3, None),
    (["/etc/passwd"], 126, 'exec: "/etc/passwd": permission denied'),
    (["/tmp"], 126, None),
    (["no-such-command"], 127, 'exec: "no-such-command": executable file not found in $PATH'),
    (["/no/such/path"], 127, "no such file or directory"),
])
def test_exit_codes(pydock, run, argv, code, message):
    res = run("--rm", "busybox", *argv)
    assert res.returncode == code, res.stderr
    if message is not None or code >= 126:
        assert_one_line_error(res, code)
        assert message is None or message in res.stderr
    assert pydock("ps", "-aq").stdout == ""  # --rm also removes a container whose command could not start


def test_a_container_that_could_not_start_stays_created(pydock, run):
    res = run("--name", "broken", "busybox", "no-such-command")
    assert res.returncode == 127
    assert inspect(pydock, "broken", "{{.State.Status}} {{.State.ExitCode}}") == "created 127"
    assert "executable file not found" in inspect(pydock, "broken", "{{.State.Error}}")


def test_unknown_image_is_125(run):
    res = run("--rm", "localhost:1/no-such-image:1.0", "true", timeout=60)  # only a loopback registry is asked
    assert res.returncode == 125 and "Traceback" not in res.stderr
    assert "Unable to find image 'localhost:1/no-such-image:1.0' locally" in res.stderr


def test_no_host_processes_are_visible(run):
    res = run("--rm", "busybox", "ps", "-o", "pid,args")
    lines = out(res).splitlines()[1:]
    assert [line.split()[0] for line in lines] == ["1"]  # only ps itself, as PID 1


def test_output_streams_are_kept_apart(run):
    res = run("--rm", "busybox", "sh", "-c", "echo to-out; echo to-err >&2")
    assert res.stdout == "to-out\n" and res.stderr == "to-err\n"


def test_binary_output_passes_unchanged(run):
    pydock_script = os.path.join(sysconfig.get_path("scripts"), "pydock")
    res = subprocess.run([pydock_script, "run", "--rm", "--network", "none", "busybox", "head", "-c", "4096",
                          "/dev/urandom"], capture_output=True, check=False)
    assert res.returncode == 0 and len(res.stdout) == 4096
