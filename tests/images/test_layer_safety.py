"""Layer tars and image tarballs are untrusted: crafted archives never write outside the store, never
create device nodes, and a broken archive leaves nothing behind (no layer, no config, no name, no
stray directory under image/tmp)."""

import gzip
import io
import json
import os
import stat
import tarfile

import pytest
from image_tar_helpers import entry, image_tarball, make_tar, sha256, store_state

from pydock_edu.errors import PydockError
from pydock_edu.image import layer
from pydock_edu.image.layer import LayerError


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A private PYDOCK_ROOT; ``outside`` next to it is where an escaping entry would land."""
    monkeypatch.setenv("PYDOCK_ROOT", str(tmp_path / "root"))
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "victim").write_text("precious")
    return tmp_path


@pytest.fixture
def store(root):
    from pydock_edu.image.store import ImageStore

    return ImageStore()


@pytest.fixture
def engine(root):
    from pydock_edu.engine import Engine

    return Engine()


def assert_untouched(root):
    assert sorted(os.listdir(root / "outside")) == ["victim"]
    assert (root / "outside" / "victim").read_text() == "precious"


def assert_store_empty(root):
    assert store_state(str(root / "root")) == ([], [], {}, [])


def add(store, entries):
    return store.add_layer(io.BytesIO(make_tar(entries)))


@pytest.mark.parametrize("name", ["../outside/evil", "a/../../outside/evil", "./../../outside/evil",
                                  "a/b/../../../outside/evil"])
def test_dot_dot_entries_are_refused(store, root, name):
    with pytest.raises(LayerError, match="leaves the layer"):
        add(store, [entry(name, data=b"x")])
    assert_untouched(root)
    assert_store_empty(root)


def test_absolute_names_land_inside_the_layer(store, root):
    diff_id = add(store, [entry(str(root / "outside" / "victim"), data=b"overwritten?")])
    assert_untouched(root)
    inside = os.path.join(store.layer_dir(diff_id), str(root / "outside" / "victim").lstrip("/"))
    assert open(inside, "rb").read() == b"overwritten?"


@pytest.mark.parametrize("target", ["OUTSIDE", "../../../../../../../..OUTSIDE"])
def test_nothing_is_written_through_a_symlink(store, root, target):
    outside = str(root / "outside")
    link = target.replace("OUTSIDE", outside)
    with pytest.raises(LayerError, match="through a link"):
        add(store, [entry("link", tarfile.SYMTYPE, linkname=link), entry("link/victim", data=b"pwned")])
    assert_untouched(root)
    assert_store_empty(root)


def test_a_directory_replaced_by_a_symlink_is_not_followed(store, root):
    entries = [entry("d", tarfile.DIRTYPE), entry("d", tarfile.SYMTYPE, linkname=str(root / "outside")),
               entry("d/victim", data=b"pwned")]
    with pytest.raises(LayerError, match="through a link"):
        add(store, entries)
    assert_untouched(root)


def test_symlinks_themselves_are_kept_as_they_are(store, root):
    diff_id = add(store, [entry("etc", tarfile.DIRTYPE), entry("etc/abs", tarfile.SYMTYPE, linkname="/etc/passwd"),
                          entry("etc/rel", tarfile.SYMTYPE, linkname="../../../../etc/shadow")])
    assert os.readlink(os.path.join(store.layer_dir(diff_id), "etc/abs")) == "/etc/passwd"
    assert os.readlink(os.path.join(store.layer_dir(diff_id), "etc/rel")) == "../../../../etc/shadow"


@pytest.mark.parametrize("linkname", ["/etc/passwd", "OUTSIDE/victim", "../outside/victim", "missing"])
def test_hard_links_out_of_the_layer_are_refused(store, root, linkname):
    with pytest.raises(LayerError, match="hard link|leaves the layer"):
        add(store, [entry("h", tarfile.LNKTYPE, linkname=linkname.replace("OUTSIDE", str(root / "outside")))])
    assert os.stat(root / "outside" / "victim").st_nlink == 1
    assert_store_empty(root)


def test_a_hard_link_through_a_symlinked_directory_is_refused(store, root):
    entries = [entry("out", tarfile.SYMTYPE, linkname=str(root / "outside")),
               entry("h", tarfile.LNKTYPE, linkname="out/victim")]
    with pytest.raises(LayerError, match="hard link"):
        add(store, entries)
    assert os.stat(root / "outside" / "victim").st_nlink == 1


def test_hard_links_inside_the_layer_share_the_file(store):
    diff_id = add(store, [entry("a", data=b"same"), entry("b", tarfile.LNKTYPE, linkname="a")])
    d = store.layer_dir(diff_id)
    assert os.stat(os.path.join(d, "a")).st_ino == os.stat(os.path.join(d, "b")).st_ino


@pytest.mark.privileged
def test_device_nodes_are_never_created(store):
    diff_id = add(store, [entry("dev", tarfile.DIRTYPE), entry("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0),
                          entry("dev/mem", tarfile.CHRTYPE, devmajor=1, devminor=1),
                          entry("dev/fifo", tarfile.FIFOTYPE)])
    d = store.layer_dir(diff_id)
    assert sorted(os.listdir(os.path.join(d, "dev"))) == ["fifo"]
    assert stat.S_ISFIFO(os.lstat(os.path.join(d, "dev/fifo")).st_mode)


@pytest.mark.privileged
def test_set_user_id_bits_and_owners_are_kept(store):
    diff_id = add(store, [entry("su", data=b"#!", mode=0o4755, uid=1000, gid=2000)])
    st = os.lstat(os.path.join(store.layer_dir(diff_id), "su"))
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o4755, 1000, 2000)


@pytest.mark.parametrize("name", [".wh..", ".wh...", ".wh.", "dir/.wh..."])
def test_whiteouts_that_name_a_parent_or_nothing_are_refused(store, root, name):
    with pytest.raises(LayerError, match="bad whiteout"):
        add(store, [entry("dir", tarfile.DIRTYPE), entry("dir/keep", data=b"k"), entry(name, data=b"")])
    assert_untouched(root)
    assert_store_empty(root)


def test_a_whiteout_below_a_symlink_is_refused(store, root):
    entries = [entry("link", tarfile.SYMTYPE, linkname=str(root / "outside")), entry("link/.wh.victim", data=b"")]
    with pytest.raises(LayerError, match="through a link"):
        add(store, entries)
    assert_untouched(root)


@pytest.mark.privileged
def test_whiteouts_and_opaque_markers_become_overlayfs_ones(store):
    diff_id = add(store, [entry("etc", tarfile.DIRTYPE), entry("etc/.wh.gone", data=b""),
                          entry("data", tarfile.DIRTYPE), entry("data/.wh..wh..opq", data=b""),
                          entry("data/new", data=b"n"), entry(".wh..wh.plnk", tarfile.DIRTYPE),
                          entry(".wh..wh.plnk/123", data=b"aufs bookkeeping")])
    d = store.layer_dir(diff_id)
    gone = os.lstat(os.path.join(d, "etc/gone"))
    assert stat.S_ISCHR(gone.st_mode) and gone.st_rdev == 0
    assert os.getxattr(os.path.join(d, "data"), layer.OPAQUE_XATTR) == b"y"
    assert sorted(os.listdir(d)) == ["data", "etc"]  # no .wh..wh.plnk: aufs's, not the image's
    assert sorted(os.listdir(os.path.join(d, "data"))) == ["new"]


def test_no_trusted_xattrs_come_from_an_archive(store):
    info, _ = entry("f", data=b"x")
    info.pax_headers = {"SCHILY.xattr.trusted.overlay.opaque": "y", "SCHILY.xattr.trusted.overlay.redirect": "/etc"}
    diff_id = add(store, [(info, b"x")])
    assert os.listxattr(os.path.join(store.layer_dir(diff_id), "f")) == []


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "bad gzip", "truncated gzip"])
def test_a_broken_layer_is_a_clear_error_and_leaves_nothing(store, root, damage):
    good = make_tar([entry("big", data=os.urandom(200_000)), entry("after", data=b"x")])
    data = {"truncated": good[:100_000], "garbage": b"this is not a tar file" * 100, "empty": b"",
            "bad gzip": b"\x1f\x8b" + b"\x00" * 50, "truncated gzip": gzip.compress(good)[:5000]}[damage]
    with pytest.raises(LayerError, match="invalid layer archive"):
        store.add_layer(io.BytesIO(data))
    assert_store_empty(root)


def test_identical_layers_are_stored_once(store):
    data = make_tar([entry("f", data=b"same content")])
    first = store.add_layer(io.BytesIO(data))
    assert store.add_layer(io.BytesIO(gzip.compress(data))) == first  # gzip or not: the diff_id is the tar's
    assert os.listdir(os.path.join(store.root, "layers")) == [first[7:]]
    assert os.listdir(os.path.join(store.root, "tmp")) == []


def test_a_layer_that_is_not_the_one_expected_is_not_stored(store, root):
    data = make_tar([entry("f", data=b"x")])
    with pytest.raises(LayerError, match="invalid diffID"):
        store.add_layer(io.BytesIO(data), expected="sha256:" + "0" * 64)
    assert_store_empty(root)


# Image tarballs (``load``)


def load(engine, data):
    return engine.load_images(io.BytesIO(data))


def test_a_tarball_that_lies_about_a_diff_id_loads_nothing(engine, root):
    good = make_tar([entry("ok", data=b"fine")])
    evil = make_tar([entry("ok", data=b"swapped")])
    data, _ = image_tarball([good, evil], diff_ids=[sha256(good), sha256(good)])
    with pytest.raises(PydockError, match="invalid diffID for layer 1"):
        load(engine, data)
    assert_store_empty(root)


def test_a_tarball_whose_layer_escapes_loads_nothing(engine, root):
    data, _ = image_tarball([make_tar([entry("ok", data=b"1")]), make_tar([entry("../../outside/victim", data=b"x")])])
    with pytest.raises(PydockError, match="leaves the layer"):
        load(engine, data)
    assert_untouched(root)
    assert_store_empty(root)


@pytest.mark.parametrize("path", ["../../outside/victim", "/etc/passwd"])
def test_manifest_paths_cannot_reach_files_outside_the_tarball(engine, root, path):
    data, _ = image_tarball([make_tar([entry("ok", data=b"1")])], layer_paths=[path])
    with pytest.raises(PydockError):
        load(engine, data)
    assert_untouched(root)
    assert_store_empty(root)


def test_links_in_a_tarball_cannot_reach_files_outside_it(engine, root):
    """A legacy tarball shares layers by symlink; one that points at the host's files finds nothing."""
    layer_tar = make_tar([entry("ok", data=b"1")])
    data, _ = image_tarball([layer_tar], layer_paths=["evil/layer.tar"])
    tar = tarfile.open(fileobj=io.BytesIO(data))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as rewritten:
        for member in tar.getmembers():
            rewritten.addfile(member, tar.extractfile(member))
        link = tarfile.TarInfo("evil/layer.tar")
        link.type, link.linkname = tarfile.SYMTYPE, str(root / "outside" / "victim")
        rewritten.addfile(link)
    with pytest.raises(PydockError, match="missing"):
        load(engine, out.getvalue())
    assert_store_empty(root)


@pytest.mark.parametrize("cut", [0.3, 0.7, 1.0])
def test_a_truncated_tarball_loads_nothing(engine, root, cut):
    data, _ = image_tarball([make_tar([entry("a", data=os.urandom(100_000))]),
                             make_tar([entry("b", data=os.urandom(100_000))])])
    end = data.index(b'[{"Config"') + 20  # inside manifest.json, the last file
    with pytest.raises(PydockError, match="invalid tar file|missing|invalid"):
        load(engine, data[:int(end * cut)])
    assert_store_empty(root)


@pytest.mark.parametrize("content", [b"", b"garbage" * 1000, gzip.compress(b"not a tar" * 100)])
def test_what_is_not_a_tarball_is_a_one_line_error(engine, root, content):
    with pytest.raises(PydockError) as caught:
        load(engine, content)
    assert "\n" not in str(caught.value) and caught.value.exit_code == 1
    assert_store_empty(root)


def test_a_file_system_tar_is_pointed_to_import(engine, root):
    with pytest.raises(PydockError, match="'image import'"):
        load(engine, make_tar([entry("bin", tarfile.DIRTYPE), entry("bin/sh", data=b"x")]))
    assert_store_empty(root)


def test_a_crafted_tarball_that_is_fine_loads(engine, root):
    data, image_id = image_tarball([make_tar([entry("etc", tarfile.DIRTYPE), entry("etc/motd", data=b"hi")])])
    assert load(engine, data) == ["Loaded image: crafted:latest"]
    configs, layers, tags, tmp = store_state(str(root / "root"))
    assert configs == [image_id[7:] + ".json"] and len(layers) == 1 and tmp == []
    assert tags == {"docker.io/library/crafted:latest": image_id}
    assert json.loads(engine.images.config_bytes(image_id))["config"]["Cmd"] == ["sh"]
