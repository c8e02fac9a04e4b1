"""``image save`` / ``image load``: Docker's tarball layout (manifest.json, repositories and the OCI image
layout), round trips through a second engine, and interoperation with skopeo and a real Docker."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time

import pytest
from image_tar_helpers import pydock_command


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def tar_files(path):
    """{name: bytes} of the regular files of a tar file."""
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isreg()}


def in_root(pydock, root):
    """``pydock`` against another PYDOCK_ROOT."""
    return lambda *args, **kwargs: pydock(*args, env={"PYDOCK_ROOT": root}, **kwargs)


@pytest.fixture
def two_images(pydock, containers, images, unique, busybox_image):
    """busybox and ``<unique>:v1``, committed from it: two images sharing busybox's layer."""
    containers.run("--name", unique, "busybox", "sh", "-c", "echo saved > /etc/saved")
    pydock("commit", "-m", "one more layer", unique, images.track(f"{unique}:v1"), check=True)
    return f"{unique}:v1"


def test_save_writes_docker_s_layout_with_shared_layers_once(pydock, two_images, tmp_path):
    res = pydock("save", "-o", tmp_path / "both.tar", "busybox", two_images)
    assert (res.returncode, res.stdout, os.listdir(tmp_path)) == (0, "", ["both.tar"])
    files = tar_files(tmp_path / "both.tar")
    names = tarfile.open(tmp_path / "both.tar").getnames()
    assert names[:2] == ["blobs", "blobs/sha256"] and names[-4:] == ["index.json", "manifest.json", "oci-layout",
                                                                       "repositories"]
    for name, data in files.items():  # every blob is named by its content
        if name.startswith("blobs/sha256/"):
            assert name == "blobs/sha256/" + sha256_hex(data)
    manifest = json.loads(files["manifest.json"])
    assert [m["RepoTags"] for m in manifest] == [["busybox:latest"], [two_images]]
    base_layers, top_layers = manifest[0]["Layers"], manifest[1]["Layers"]
    assert top_layers[:1] == base_layers and len(top_layers) == 2
    assert len([n for n in files if n.startswith("blobs/")]) == 2 + 2 + 2  # 2 configs, 2 layers (one shared), 2 manifests
    config = json.loads(files[manifest[1]["Config"]])
    assert ["sha256:" + sha256_hex(files[p]) for p in top_layers] == config["rootfs"]["diff_ids"]
    assert manifest[1]["Parent"] == "sha256:" + sha256_hex(files[manifest[0]["Config"]])
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    assert [d["annotations"] for d in index["manifests"]] == [
        {"io.containerd.image.name": "docker.io/library/busybox:latest", "org.opencontainers.image.ref.name": "latest"},
        {"io.containerd.image.name": f"docker.io/library/{two_images}",
         "org.opencontainers.image.ref.name": "v1"}]
    oci = json.loads(files["blobs/sha256/" + index["manifests"][1]["digest"][7:]])
    assert oci["config"]["digest"] == "sha256:" + manifest[1]["Config"].rsplit("/", 1)[1]
    assert [layer["digest"][7:] for layer in oci["layers"]] == [p.rsplit("/", 1)[1] for p in top_layers]
    repositories = json.loads(files["repositories"])
    assert repositories[two_images.split(":")[0]] == {"v1": top_layers[-1].rsplit("/", 1)[1]}


def test_save_to_stdout_is_the_same_tarball(pydock, two_images, tmp_path):
    pydock("save", "-o", tmp_path / "file.tar", two_images, check=True)
    with open(tmp_path / "stdout.tar", "wb") as out:
        assert subprocess.run([pydock_command(), "save", two_images], stdout=out).returncode == 0
    assert (tmp_path / "file.tar").read_bytes() == (tmp_path / "stdout.tar").read_bytes()


def test_save_a_repository_saves_all_its_tags(pydock, images, unique, tmp_path):
    for tag in ("a", "b"):
        pydock("tag", "busybox", images.track(f"{unique}:{tag}"), check=True)
    pydock("save", "-o", tmp_path / "repo.tar", unique, check=True)
    manifest = json.loads(tar_files(tmp_path / "repo.tar")["manifest.json"])
    assert [sorted(m["RepoTags"]) for m in manifest] == [[f"{unique}:a", f"{unique}:b"]]


def test_save_errors(pydock, tmp_path):
    res = pydock("save", "-o", tmp_path / "x.tar", "busybox", "no-such-image")
    assert (res.returncode, res.stderr, os.listdir(tmp_path)) == (1, "Error: No such image: no-such-image:latest\n", [])
    leader, follower = os.openpty()
    try:
        res = subprocess.run([pydock_command(), "save", "busybox"], stdout=follower, stderr=subprocess.PIPE)
    finally:
        os.close(follower)
        os.close(leader)
    assert res.stderr == b"Error: cowardly refusing to save to a terminal. Use the -o flag or redirect\n"


@pytest.mark.privileged
def test_a_saved_image_loads_into_another_engine_and_runs(pydock, two_images, tmp_path, other_root):
    pydock("save", "-o", tmp_path / "both.tar", "busybox", two_images, check=True)
    other = in_root(pydock, other_root)
    res = other("load", "-i", tmp_path / "both.tar")
    assert (res.returncode, res.stdout) == (0, f"Loaded image: busybox:latest\nLoaded image: {two_images}\n")
    assert other("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout == \
        pydock("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", two_images).stdout + \
        pydock("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", "busybox").stdout
    out = other("run", "--rm", "--network", "none", two_images, "cat", "/etc/saved")
    assert out.stdout == "saved\n", out.stderr
    history = other("history", "-q", two_images).stdout.split()
    assert history == pydock("history", "-q", two_images).stdout.split()  # the parent link came along
    assert os.listdir(os.path.join(other_root, "image", "tmp")) == []


def test_load_from_stdin_moves_a_name_that_pointed_elsewhere(pydock, two_images, tmp_path, other_root):
    pydock("save", "-o", tmp_path / "v1.tar", two_images, check=True)
    other = in_root(pydock, other_root)
    other("image", "bootstrap", "busybox", "-t", two_images, check=True)  # the name is taken by another image
    old = other("image", "inspect", "-f", "{{.Id}}", two_images).stdout.strip()
    with open(tmp_path / "v1.tar", "rb") as f:
        res = subprocess.run([pydock_command(), "load", "-q"], stdin=f, capture_output=True, text=True,
                             env=dict(os.environ, PYDOCK_ROOT=other_root))
    assert res.stdout == (f"The image {two_images} already exists, renaming the old one with ID {old} to empty "
                          f"string\nLoaded image: {two_images}\n")
    assert other("images", "-q", "-f", "dangling=true").stdout == old[7:19] + "\n"


def test_an_image_saved_by_id_loads_untagged(pydock, two_images, tmp_path, other_root):
    image_id = pydock("image", "inspect", "-f", "{{.Id}}", two_images).stdout.strip()
    pydock("save", "-o", tmp_path / "id.tar", image_id[7:19], check=True)
    files = tar_files(tmp_path / "id.tar")
    assert json.loads(files["manifest.json"])[0]["RepoTags"] is None and "repositories" not in files
    res = in_root(pydock, other_root)("load", "-i", tmp_path / "id.tar")
    assert res.stdout == f"Loaded image ID: {image_id}\n"


def _drop(path, out, names):
    """Copy the tar ``path`` to ``out`` without the members ``names``."""
    with tarfile.open(path) as source, tarfile.open(out, "w") as target:
        for member in source.getmembers():
            if member.name not in names:
                target.addfile(member, source.extractfile(member) if member.isreg() else None)


@pytest.mark.privileged
def test_the_oci_layout_alone_loads(pydock, two_images, tmp_path, other_root):
    """Tools other than Docker write only index.json and blobs; load follows the index."""
    pydock("save", "-o", tmp_path / "both.tar", "busybox", two_images, check=True)
    _drop(tmp_path / "both.tar", tmp_path / "oci.tar", {"manifest.json", "repositories"})
    other = in_root(pydock, other_root)
    assert other("load", "-i", tmp_path / "oci.tar").stdout == \
        f"Loaded image: busybox:latest\nLoaded image: {two_images}\n"
    assert other("run", "--rm", "--network", "none", two_images, "cat", "/etc/saved").stdout == "saved\n"


def test_loaded_images_and_saves_are_events(pydock, two_images, tmp_path, other_root):
    from pydock_edu import events

    since = time.time()
    pydock("save", "-o", tmp_path / "one.tar", two_images, check=True)
    image_id = pydock("image", "inspect", "-f", "{{.Id}}", two_images).stdout.strip()
    assert [(e["Action"], e["Actor"]["ID"]) for e in events.read(since=since) if e["Type"] == "image"] == \
        [("save", image_id)]
    other = in_root(pydock, other_root)
    other("load", "-i", tmp_path / "one.tar", check=True)
    log = os.path.join(other_root, "events.jsonl")
    assert [json.loads(line)["Action"] for line in open(log)] == ["load"]


def test_load_errors(pydock, tmp_path):
    res = pydock("load", "-i", tmp_path / "missing.tar")
    assert (res.returncode, res.stderr) == (1, f"Error: open {tmp_path}/missing.tar: no such file or directory\n")
    (tmp_path / "junk.tar").write_bytes(b"junk" * 300)
    res = pydock("load", "-i", tmp_path / "junk.tar")
    assert res.returncode == 1 and res.stderr.startswith("Error: invalid tar file")


# Other implementations of the format


@pytest.mark.skipif(not shutil.which("skopeo"), reason="skopeo is not installed")
@pytest.mark.privileged
def test_skopeo_reads_our_tarball_and_we_read_its_oci_archive(pydock, two_images, tmp_path, other_root):
    pydock("save", "-o", tmp_path / "ours.tar", two_images, check=True)
    inspected = subprocess.run(["skopeo", "inspect", "--raw", f"docker-archive:{tmp_path}/ours.tar"],
                               capture_output=True, text=True)
    assert inspected.returncode == 0, inspected.stderr
    copied = subprocess.run(["skopeo", "copy", "--quiet", f"docker-archive:{tmp_path}/ours.tar",
                             f"oci-archive:{tmp_path}/theirs.tar:{two_images}"], capture_output=True, text=True)
    assert copied.returncode == 0, copied.stderr
    layers = json.loads(tar_files(tmp_path / "theirs.tar")["index.json"])["manifests"]
    assert len(layers) == 1  # one image, its name in the ref.name annotation, layers gzipped by skopeo
    other = in_root(pydock, other_root)
    res = other("load", "-i", tmp_path / "theirs.tar")
    assert res.stdout == f"Loaded image: {two_images}\n", res.stderr
    assert other("run", "--rm", "--network", "none", two_images, "cat", "/etc/saved").stdout == "saved\n"


def _docker():
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "info"], capture_output=True).returncode != 0:
        return None
    return docker


def test_images_travel_between_pydock_and_docker(pydock, two_images, images, unique, tmp_path):
    """With a Docker Engine here (../shared/tools/docker-reference.sh starts one), both ways round."""
    docker = _docker()
    if docker is None:
        pytest.skip("no Docker Engine answers on this host")
    pydock("save", "-o", tmp_path / "pydock.tar", two_images, check=True)
    loaded = subprocess.run([docker, "load", "-i", tmp_path / "pydock.tar"], capture_output=True, text=True)
    try:
        assert loaded.returncode == 0, loaded.stderr
        assert f"Loaded image: {two_images}" in loaded.stdout
        ran = subprocess.run([docker, "run", "--rm", "--network", "none", two_images, "cat", "/etc/saved"],
                             capture_output=True, text=True)
        assert ran.stdout == "saved\n", ran.stderr
        subprocess.run([docker, "tag", "busybox:local", f"{unique}-docker:1"], check=True)
        subprocess.run([docker, "save", "-o", tmp_path / "docker.tar", f"{unique}-docker:1"], check=True)
    finally:
        subprocess.run([docker, "rmi", two_images, f"{unique}-docker:1"], capture_output=True)
    res = pydock("load", "-i", tmp_path / "docker.tar")
    images.track(f"{unique}-docker:1")
    assert res.stdout == f"Loaded image: {unique}-docker:1\n", res.stderr
    ran = pydock("run", "--rm", "--network", "none", f"{unique}-docker:1", "echo", "from docker")
    assert ran.stdout == "from docker\n", ran.stderr


def test_tar_headers_of_save_are_ustar_and_big_sizes_base_256():
    from pydock_edu.image.archive import _TarWriter

    out = io.BytesIO()
    writer = _TarWriter(out)
    writer.directory("blobs/")
    writer._header("blobs/sha256/" + "a" * 64, b"0", 9 * 8 ** 11)  # more than ustar's 8 GiB
    headers = out.getvalue()
    first = tarfile.TarInfo.frombuf(headers[:512], "utf-8", "strict")
    big = tarfile.TarInfo.frombuf(headers[512:1024], "utf-8", "strict")
    assert (first.name, first.isdir(), first.mode) == ("blobs", True, 0o755)
    assert (big.name, big.size, big.uid, big.mtime) == ("blobs/sha256/" + "a" * 64, 9 * 8 ** 11, 0, 0)
