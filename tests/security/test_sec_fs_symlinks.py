"""Planted symlinks in a build context, an image and a container (issue 11, point 2).

Each symlink points at a canary this test made on the host; whatever the engine reads or writes
through it must be the context's, the image's or the container's own file, never the canary.
"""

import io
import os
import subprocess
import sysconfig
import tarfile

import pytest

pytestmark = pytest.mark.privileged

SECRET = "HOSTCANARY7731"  # the first word of a host file: a parse error would show it


def _pydock_bytes(*args, input=b""):
    """``pydock ARGS`` with bytes on stdin (the ``pydock`` fixture speaks text)."""
    return subprocess.run([os.path.join(sysconfig.get_path("scripts"), "pydock"), *map(str, args)],
                          input=input, capture_output=True, timeout=300, check=False)


def _tar(entries):
    """A tar of ``(name, text)`` files and ``(name, None, link target)`` symlinks."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        for name, text, *link in entries:
            info = tarfile.TarInfo(name)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link[0]
                archive.addfile(info)
            else:
                info.size = len(text.encode())
                archive.addfile(info, io.BytesIO(text.encode()))
    return data.getvalue()


@pytest.fixture
def canary(tmp_path):
    path = tmp_path / "canary.txt"
    path.write_text(SECRET + " only the host has\nmore\n")
    return path


def test_a_symlinked_dockerfile_in_a_tar_context_is_read_inside_the_context(busybox_image, canary):
    context = _tar([("Dockerfile", None, str(canary))])
    res = _pydock_bytes("build", "--network", "none", "-", input=context)
    assert SECRET not in (res.stdout + res.stderr).decode(), "the build read a host file as its Dockerfile"
    assert res.returncode != 0 and b"Traceback" not in res.stderr

    # the same link target inside the context is what the Dockerfile means
    inside = _tar([("Dockerfile", None, str(canary)),
                   (str(canary).lstrip("/"), "FROM busybox\nCOPY hello.txt /\n"), ("hello.txt", "hi\n")])
    res = _pydock_bytes("build", "--network", "none", "-t", "sec-fs-linked-dockerfile", "-", input=inside)
    assert res.returncode == 0, res.stderr
    _pydock_bytes("rmi", "sec-fs-linked-dockerfile")


def test_dockerfile_flag_cannot_climb_out_of_a_tar_context(busybox_image, canary):
    climb = "../" * 20 + str(canary).lstrip("/")
    res = _pydock_bytes("build", "--network", "none", "-f", climb, "-", input=_tar([("hello.txt", "hi\n")]))
    assert SECRET not in (res.stdout + res.stderr).decode(), "-f read a host file outside the context"
    assert res.returncode != 0 and b"Traceback" not in res.stderr


def test_dockerignore_symlink_in_a_tar_context_is_read_inside_the_context(busybox_image, tmp_path):
    """A ``.dockerignore`` linked to a host file must not decide what the build sees."""
    rules = tmp_path / "rules"
    rules.write_text("hello.txt\n")
    context = _tar([(".dockerignore", None, str(rules)), ("Dockerfile", "FROM busybox\nCOPY hello.txt /\n"),
                    ("hello.txt", "hi\n")])
    res = _pydock_bytes("build", "--network", "none", "-t", "sec-fs-linked-ignore", "-", input=context)
    assert res.returncode == 0, res.stderr  # the host's rules would have excluded hello.txt
    _pydock_bytes("rmi", "sec-fs-linked-ignore")


def test_copy_into_a_planted_symlink_writes_inside_the_image(pydock, busybox_image, tmp_path):
    """An image whose /planted links to a host directory: COPY and ADD through it fill the image."""
    canary = tmp_path / "canary"
    canary.mkdir()
    root = tmp_path / "ctx"
    (root / "tree" / "sub").mkdir(parents=True)
    (root / "tree" / "sub" / "deep.txt").write_text("deep\n")
    (root / "file.txt").write_text("file\n")
    (root / "Dockerfile").write_text(f"FROM busybox\nRUN ln -s {canary} /planted && ln -s ../planted /up\n"
                                     "COPY file.txt /planted/\nCOPY tree /planted/tree\nCOPY file.txt /up/x/\n")
    res = pydock("build", "--network", "none", "-t", "sec-fs-planted", str(root), timeout=300)
    try:
        assert res.returncode == 0, res.stderr
        assert os.listdir(canary) == [], "COPY wrote into a host directory through the image's symlink"
        shown = pydock("run", "--rm", "--network", "none", "sec-fs-planted", "cat", f"{canary}/file.txt",
                       f"{canary}/tree/sub/deep.txt", f"{canary}/x/file.txt")
        assert shown.stdout == "file\ndeep\nfile\n", shown.stderr
    finally:
        pydock("rmi", "sec-fs-planted")


def test_a_mount_target_that_cannot_be_made_is_one_line(pydock, busybox_image, tmp_path):
    res = pydock("run", "--rm", "--network", "none", "-v", f"{tmp_path}:/etc/passwd/x", "busybox", "true")
    assert (res.returncode, res.stderr) == (
        125, f'Error: error mounting "{tmp_path}" to rootfs at "/etc/passwd/x": not a directory\n')
