"""The in-root path primitives (pydock_edu.runtime.inroot) against planted symlinks, on a plain directory.

No container is needed: a directory stands for a container's root, with symlinks to a canary outside.
"""

import os

import pytest

from pydock_edu.runtime import inroot


@pytest.fixture
def tree(tmp_path):
    root, canary = tmp_path / "root", tmp_path / "canary"
    root.mkdir()
    canary.mkdir()
    os.symlink(str(canary), root / "absolute")  # an absolute link: in the root it means <root>/<canary path>
    os.symlink("../../../../canary", root / "climbing")
    os.symlink("/missing/target", root / "dangling")
    return root, canary


def _where(fd):
    try:
        return os.readlink(inroot.fd_path(fd))
    finally:
        os.close(fd)


@pytest.mark.parametrize("path", ["/absolute/a/b", "climbing/a", "/../../absolute/x", "dangling/y"])
def test_make_dirs_never_leaves_the_root(tree, path):
    root, canary = tree
    root_fd = inroot.open_root(str(root))
    try:
        made = _where(inroot.make_dirs(root_fd, path))
    finally:
        os.close(root_fd)
    assert os.listdir(canary) == []
    assert made.startswith(str(root) + "/") and os.path.isdir(made)


@pytest.mark.parametrize("path", ["/absolute/f", "/climbing/f", "/dangling"])
def test_make_file_never_leaves_the_root(tree, path):
    root, canary = tree
    root_fd = inroot.open_root(str(root))
    try:
        made = _where(inroot.make_file(root_fd, path))
    finally:
        os.close(root_fd)
    assert os.listdir(canary) == []
    assert made.startswith(str(root) + "/")
    assert os.path.isfile(made)


def test_a_dangling_relative_link_gets_its_target_made_inside(tree):
    """As an image's ``/etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf``."""
    root, _ = tree
    (root / "etc").mkdir()
    os.symlink("../run/systemd/resolve/stub-resolv.conf", root / "etc" / "resolv.conf")
    root_fd = inroot.open_root(str(root))
    try:
        made = _where(inroot.make_file(root_fd, "/etc/resolv.conf"))
    finally:
        os.close(root_fd)
    assert made == str(root / "run/systemd/resolve/stub-resolv.conf")


def test_magic_links_are_refused(tree):
    root, _ = tree
    os.symlink("/proc/self/root", root / "magic")
    os.mkdir(root / "proc")
    root_fd = inroot.open_root(str(root))
    try:
        with pytest.raises(OSError):  # /proc inside this root is an empty dir: nothing to follow
            os.close(inroot.open_in_root(root_fd, "magic/etc"))
        with pytest.raises(OSError):  # and a real /proc/self/fd link is a magic link: refused
            os.close(inroot.openat2(root_fd, f"/proc/self/fd/{root_fd}", os.O_PATH, inroot.RESOLVE_NO_MAGICLINKS))
    finally:
        os.close(root_fd)
