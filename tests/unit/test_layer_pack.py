"""Layer tars: ``pack`` (overlay upper dir -> tar) and ``unpack`` (tar -> overlay layer) round trips.

Whiteouts are character devices 0:0 on disk and ``.wh.<name>`` entries in a tar; an opaque
directory carries ``trusted.overlay.opaque=y`` on disk and a ``.wh..wh..opq`` entry in a tar. Making
device nodes and trusted xattrs needs root, so those tests are privileged.
"""

import gzip
import hashlib
import io
import os
import stat
import subprocess
import tarfile

import pytest

from pydock_edu.image import layer
from pydock_edu.image.layer import LayerError, pack, unpack


def write(path, text="", mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def packed(directory, skip=()):
    out = io.BytesIO()
    pack(str(directory), out, skip)
    return out.getvalue()


def names(tar_bytes):
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        return [m.name for m in tar.getmembers()]


def shape(tar_bytes):
    """Each entry's name, type, mode and content (not its times: see ``test_unpack_keeps_the_times``)."""
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        return [(m.name, m.type, m.mode, m.linkname, tar.extractfile(m).read() if m.isreg() else None)
                for m in tar.getmembers()]


def make_tar(entries):
    """A tar from (TarInfo, bytes or None) pairs, as an untrusted archive might be."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def entry(name, kind=tarfile.REGTYPE, **fields):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.uid, info.gid = os.getuid(), os.getgid()
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def test_plain_tree_round_trip(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "dest"
    write(str(src / "etc" / "motd"), "hello\n")
    write(str(src / "bin" / "tool"), "#!/bin/sh\n", 0o755)
    os.symlink("tool", src / "bin" / "alias")
    os.link(src / "bin" / "tool", src / "bin" / "hard")
    dest.mkdir()
    data = packed(src)
    assert names(data) == ["bin", "bin/alias", "bin/hard", "bin/tool", "etc", "etc/motd"]
    diff_id, size = unpack(io.BytesIO(data), str(dest))
    assert diff_id == "sha256:" + hashlib.sha256(data).hexdigest() and size == len(data)
    assert (dest / "etc" / "motd").read_text() == "hello\n"
    assert stat.S_IMODE(os.stat(dest / "bin" / "tool").st_mode) == 0o755
    assert os.readlink(dest / "bin" / "alias") == "tool"
    assert os.stat(dest / "bin" / "hard").st_ino == os.stat(dest / "bin" / "tool").st_ino


def test_unpack_keeps_the_times(tmp_path):
    """Files and directories get the tar's mtimes, directories even after their entries are written."""
    archive = make_tar([(entry("dir", tarfile.DIRTYPE, mode=0o755, mtime=1_000_000), None),
                        (entry("dir/file", mtime=2_000_000), b"x"),
                        (entry("dir/sub", tarfile.DIRTYPE, mode=0o755, mtime=3_000_000), None),
                        (entry("dir/sub/inner", mtime=4_000_000), b"y")])
    dest = tmp_path / "d"
    dest.mkdir()
    unpack(io.BytesIO(archive), str(dest))
    assert os.lstat(dest / "dir").st_mtime == 1_000_000
    assert os.lstat(dest / "dir" / "file").st_mtime == 2_000_000
    assert os.lstat(dest / "dir" / "sub").st_mtime == 3_000_000
    assert os.lstat(dest / "dir" / "sub" / "inner").st_mtime == 4_000_000


def test_pack_is_deterministic_and_skips_paths(tmp_path):
    write(str(tmp_path / "a" / "x"), "1")
    write(str(tmp_path / "vol" / "data"), "2")
    assert packed(tmp_path) == packed(tmp_path)
    assert names(packed(tmp_path, skip=["/vol"])) == ["a", "a/x"]


def test_gzip_layers_are_unpacked_and_hashed_uncompressed(tmp_path):
    data = make_tar([(entry("f.txt"), b"content")])
    dest = tmp_path / "d"
    dest.mkdir()
    diff_id, _ = unpack(io.BytesIO(gzip.compress(data)), str(dest))
    assert diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (dest / "f.txt").read_bytes() == b"content"


@pytest.mark.privileged
def test_whiteouts_and_opaque_dirs_round_trip(tmp_path):
    upper = tmp_path / "upper"
    write(str(upper / "etc" / "new.conf"), "x")
    os.mknod(upper / "etc" / "gone", stat.S_IFCHR | 0o000, os.makedev(0, 0))  # overlayfs: a deleted file
    write(str(upper / "data" / "fresh"), "only me")
    os.setxattr(upper / "data", layer.OPAQUE_XATTR, b"y")  # overlayfs: a directory made anew
    data = packed(upper)
    assert names(data) == ["data", "data/.wh..wh..opq", "data/fresh", "etc", "etc/.wh.gone", "etc/new.conf"]
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert all(m.isreg() and m.size == 0 for m in tar.getmembers() if ".wh." in m.name)

    dest = tmp_path / "layer"
    dest.mkdir()
    unpack(io.BytesIO(data), str(dest))
    gone = os.lstat(dest / "etc" / "gone")
    assert stat.S_ISCHR(gone.st_mode) and gone.st_rdev == 0
    assert os.getxattr(dest / "data", layer.OPAQUE_XATTR) == b"y"
    assert not os.path.lexists(dest / "etc" / ".wh.gone")
    assert not os.path.lexists(dest / "data" / ".wh..wh..opq")
    assert (dest / "data" / "fresh").read_text() == "only me"
    assert shape(packed(dest)) == shape(data)  # and back again


@pytest.mark.privileged
def test_whiteout_over_an_existing_entry_replaces_it(tmp_path):
    dest = tmp_path / "d"
    write(str(dest / "dir" / "inside"), "x")
    unpack(io.BytesIO(make_tar([(entry(".wh.dir"), b"")])), str(dest))
    assert stat.S_ISCHR(os.lstat(dest / "dir").st_mode)


@pytest.mark.privileged
def test_overlayfs_reads_the_unpacked_layers_as_docker_would(tmp_path):
    """Stack a base layer and a layer with a whiteout and an opaque dir: overlayfs hides what they delete."""
    base, top = tmp_path / "base", tmp_path / "top"
    for d in (base, top):
        d.mkdir()
    unpack(io.BytesIO(make_tar([
        (entry("etc", tarfile.DIRTYPE, mode=0o755), None), (entry("etc/keep"), b"k"), (entry("etc/gone"), b"g"),
        (entry("data", tarfile.DIRTYPE, mode=0o755), None), (entry("data/old"), b"o")])), str(base))
    unpack(io.BytesIO(make_tar([
        (entry("etc/.wh.gone"), b""), (entry("data", tarfile.DIRTYPE, mode=0o755), None),
        (entry("data/.wh..wh..opq"), b""), (entry("data/new"), b"n")])), str(top))
    upper, work, merged = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    for d in (upper, work, merged):
        d.mkdir()
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={top}:{base},upperdir={upper},workdir={work}", str(merged)], check=True)
    try:
        assert sorted(os.listdir(merged / "etc")) == ["keep"]
        assert sorted(os.listdir(merged / "data")) == ["new"]
    finally:
        subprocess.run(["umount", str(merged)], check=True)


@pytest.mark.parametrize("bad", ["../evil", "a/../../evil"])
def test_unpack_refuses_paths_that_leave_the_layer(tmp_path, bad):
    dest = tmp_path / "d"
    dest.mkdir()
    with pytest.raises(LayerError, match="leaves the layer"):
        unpack(io.BytesIO(make_tar([(entry(bad), b"x")])), str(dest))
    assert not (tmp_path / "evil").exists()


def test_absolute_paths_stay_inside(tmp_path):
    dest = tmp_path / "d"
    dest.mkdir()
    unpack(io.BytesIO(make_tar([(entry("/etc/abs"), b"x")])), str(dest))
    assert (dest / "etc" / "abs").read_bytes() == b"x"


def test_unpack_never_writes_through_a_symlink(tmp_path):
    dest, outside = tmp_path / "d", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    archive = make_tar([(entry("link", tarfile.SYMTYPE, linkname=str(outside)), None), (entry("link/pwned"), b"x")])
    with pytest.raises(LayerError, match="through a link"):
        unpack(io.BytesIO(archive), str(dest))
    assert os.listdir(outside) == []


def test_unpack_refuses_hard_links_outside_the_layer(tmp_path):
    dest = tmp_path / "d"
    dest.mkdir()
    with pytest.raises(LayerError, match="hard link"):
        unpack(io.BytesIO(make_tar([(entry("h", tarfile.LNKTYPE, linkname="/etc/passwd"), None)])), str(dest))


def test_unpack_creates_no_device_nodes(tmp_path):
    dest = tmp_path / "d"
    dest.mkdir()
    archive = make_tar([(entry("dev/sda", tarfile.CHRTYPE, devmajor=8, devminor=0), None), (entry("ok"), b"")])
    unpack(io.BytesIO(archive), str(dest))
    assert not os.path.lexists(dest / "dev" / "sda") and (dest / "ok").exists()


def test_a_broken_archive_is_a_one_line_error(tmp_path):
    dest = tmp_path / "d"
    dest.mkdir()
    with pytest.raises(LayerError, match="invalid layer archive"):
        unpack(io.BytesIO(b"\x1f\x8b not really gzip"), str(dest))
