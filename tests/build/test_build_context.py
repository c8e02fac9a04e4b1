"""The build context: .dockerignore, paths that leave the context, -f, and contexts on stdin."""

import io
import os
import tarfile

import pytest
from build_helpers import pydock_binary

pytestmark = pytest.mark.privileged


def test_dockerignore_patterns(context, build, run):
    root = context({
        "Dockerfile": "FROM busybox\nCOPY . /ctx/\n",
        ".dockerignore": "# comment\n*.log\n!keep.log\n**/secret*\n/build/\ndocs\n!docs/README.md\n./tmp//*.tmp\n",
        "app.py": "x", "debug.log": "x", "keep.log": "x", "secret.key": "x", "deep/er/secret.txt": "x",
        "deep/er/ok.txt": "x", "build/out.o": "x", "docs/guide.md": "x", "docs/README.md": "x",
        "tmp/a.tmp": "x", "tmp/a.txt": "x", "sub/nested.log": "x",
    })
    build(root, "-t", "ignored")
    found = run("ignored", "sh", "-c", "cd /ctx && find . -type f | sort").split()
    assert found == ["./.dockerignore", "./Dockerfile", "./app.py", "./deep/er/ok.txt", "./docs/README.md",
                     "./keep.log", "./sub/nested.log", "./tmp/a.txt"]


def test_an_ignored_file_cannot_be_copied(context, build):
    root = context({"Dockerfile": "FROM busybox\nCOPY debug.log /\n", ".dockerignore": "*.log\n", "debug.log": "x"})
    res = build(root, check=False)
    assert res.returncode == 1
    assert res.stderr.strip() == ("COPY failed: file not found in build context or excluded by .dockerignore: "
                                  "stat debug.log: file does not exist")


@pytest.mark.parametrize("source", ["../outside.txt", "sub/../../outside.txt"])
def test_a_path_out_of_the_context_is_refused(context, build, source, tmp_path):
    (tmp_path / "outside.txt").write_text("secret\n")
    root = context({"Dockerfile": f"FROM busybox\nCOPY {source} /\n"})
    res = build(root, check=False)
    assert res.returncode == 1
    assert res.stderr.strip() == f"COPY failed: forbidden path outside the build context: {source} ()"


@pytest.mark.parametrize("target", ["/etc/passwd", "../outside.txt"])
def test_a_symlink_out_of_the_context_is_refused(context, build, tmp_path, target):
    (tmp_path / "outside.txt").write_text("secret\n")
    root = context({"Dockerfile": "FROM busybox\nCOPY link /copied\n"})
    os.symlink(target, root / "link")
    res = build(root, check=False)
    assert res.returncode == 1
    assert res.stderr.strip() == f"COPY failed: forbidden path outside the build context: link ({target})"


def test_symlinks_inside_the_context(context, build, run):
    root = context({"Dockerfile": "FROM busybox\nCOPY link.txt /followed.txt\nCOPY dir /dir/\n",
                    "real.txt": "real\n", "dir/file.txt": "in dir\n"})
    os.symlink("real.txt", root / "link.txt")
    os.symlink("/etc/passwd", root / "dir" / "abs-link")  # copied as a link, never followed
    build(root, "-t", "links")
    assert run("links", "sh", "-c", "cat /followed.txt; readlink /dir/abs-link; cat /dir/file.txt") == \
        "real\n/etc/passwd\nin dir\n"


def test_f_names_another_dockerfile(context, build, run, tmp_path):
    root = context({"Dockerfile": "FROM busybox\nRUN false\n", "file.txt": "from the context\n"})
    other = tmp_path / "Other.Dockerfile"
    other.write_text("FROM busybox\nCOPY file.txt /\n")
    build(root, "-f", str(other), "-t", "other-file")
    assert run("other-file", "cat", "/file.txt") == "from the context\n"


def test_dockerfile_from_stdin_has_no_context(pydock, busybox_image):
    res = pydock("build", "--network", "none", "-t", "stdin-file", "-", input="FROM busybox\nRUN echo hi > /hi\n")
    assert res.returncode == 0, res.stderr
    res = pydock("build", "--network", "none", "-", input="FROM busybox\nCOPY anything /\n")
    assert res.returncode == 1
    assert "COPY failed: file not found in build context" in res.stderr


def test_a_tar_context_on_stdin(pydock, busybox_image):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as archive:
        for name, text in (("Dockerfile", "FROM busybox\nCOPY hello.txt /\n"), ("hello.txt", "from a tar\n")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text.encode()))
    res = pydock_binary("build", "--network", "none", "-t", "tar-context", "-", input=data.getvalue())
    assert res.returncode == 0, res.stderr
    assert pydock("run", "--rm", "--network", "none", "tar-context", "cat", "/hello.txt").stdout == "from a tar\n"


def test_missing_context_or_dockerfile(pydock, tmp_path, busybox_image):
    res = pydock("build", str(tmp_path / "nowhere"))
    assert (res.returncode, res.stderr.strip()) == (
        1, f'Error: unable to prepare context: path "{tmp_path / "nowhere"}" not found')
    res = pydock("build", str(tmp_path))
    assert res.returncode == 1
    assert "unable to prepare context: unable to evaluate symlinks in Dockerfile path" in res.stderr
