"""``image ls/tag/rm/history/inspect/prune`` with Docker's output, rules and messages."""

import json
import time

import pytest

from pydock_edu import events


def ids(pydock, *args):
    return pydock("images", "-q", *args).stdout.split()


def image_id(pydock, ref):
    return pydock("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()


@pytest.fixture
def child(pydock, containers, images, unique, busybox_image):
    """``<unique>:child``, committed from a container of busybox (its parent is busybox)."""
    containers.run("--name", unique, "busybox", "touch", "/child")
    pydock("commit", unique, images.track(f"{unique}:child"), check=True)
    return f"{unique}:child"


# ls


def test_ls_lists_one_row_per_tag(pydock, images, unique, busybox_image):
    pydock("tag", "busybox", images.track(f"{unique}:a"), check=True)
    pydock("tag", "busybox", images.track(f"{unique}/sub:b"), check=True)
    out = pydock("images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}", unique).stdout
    short = image_id(pydock, "busybox")[7:19]
    assert out == f"{unique} a {short}\n"
    assert pydock("images", "--format", "{{.Repository}}:{{.Tag}}", f"{unique}/*").stdout == f"{unique}/sub:b\n"
    assert ids(pydock, unique) == [short]
    table = pydock("images", unique).stdout.splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]


def test_ls_quiet_prints_an_id_per_row_as_docker_does(pydock, images, unique, busybox_image):
    for tag in ("a", "b"):
        pydock("tag", "busybox", images.track(f"{unique}:{tag}"), check=True)
    short = image_id(pydock, "busybox")[7:19]
    assert ids(pydock, unique) == [short, short]
    assert pydock("images", "-q", "--no-trunc", unique).stdout.split() == [image_id(pydock, "busybox")] * 2


def test_ls_digests_adds_a_column(pydock, busybox_image):
    header = pydock("images", "--digests", "busybox").stdout.splitlines()[0].split()
    assert header == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED", "SIZE"]
    assert pydock("images", "--digests", "--format", "{{.Digest}}", "busybox").stdout == "<none>\n"


@pytest.mark.privileged
def test_dangling_and_intermediate_images(pydock, containers, images, unique, child):
    """An untagged image with a child is an intermediate image (shown with -a); without one, it dangles."""
    middle = image_id(pydock, child)
    containers.run("--name", unique + "2", child, "touch", "/grandchild")
    top = pydock("commit", unique + "2", images.track(f"{unique}:top"), check=True).stdout.strip()
    pydock("rm", unique + "2", check=True)
    pydock("rmi", child, check=True)  # the name goes; the image stays: it has a child
    images.track(middle)
    assert middle[7:19] not in ids(pydock)
    assert middle[7:19] in ids(pydock, "-a")
    assert middle[7:19] not in ids(pydock, "-f", "dangling=true")
    pydock("rmi", f"{unique}:top", check=True)  # deleted, and its untagged parent with it
    assert middle[7:19] not in ids(pydock, "-a") and top[7:19] not in ids(pydock, "-a")


@pytest.mark.privileged
def test_a_dangling_image_is_listed_as_none(other, unique):
    other("run", "--name", unique, "--network", "none", "busybox", "touch", "/x", check=True)
    untagged = other("commit", unique, check=True).stdout.strip()
    assert other("images", "-q", "-f", "dangling=true").stdout.split() == [untagged[7:19]]
    out = other("images", "-f", "dangling=true", "--format", "{{.Repository}}:{{.Tag}}").stdout
    assert out == "<none>:<none>\n"
    assert other("images", "-q", "-f", "dangling=false").stdout.split() == [image_id(other, "busybox")[7:19]]
    other("rm", unique, check=True)


def test_ls_filter_errors(pydock):
    assert pydock("images", "-f", "color=blue").stderr == "Error: invalid filter 'color'\n"
    assert pydock("images", "-f", "dangling=maybe").stderr == "Error: invalid filter 'dangling=maybe'\n"


# tag and rm


def test_tag_and_untag(pydock, images, unique, busybox_image):
    since = time.time()
    assert pydock("tag", "busybox", images.track(f"{unique}:1")).returncode == 0
    assert image_id(pydock, f"{unique}:1") == image_id(pydock, "busybox")
    res = pydock("rmi", f"{unique}:1")
    assert (res.returncode, res.stdout) == (0, f"Untagged: {unique}:1\n")
    assert image_id(pydock, "busybox")  # still there: it has its other name
    assert [e["Action"] for e in events.read(since=since) if e["Type"] == "image"] == ["tag", "untag"]


def test_tag_and_rm_errors(pydock, busybox_image):
    res = pydock("tag", "no-such-image", "x")
    assert (res.returncode, res.stderr) == (1, "Error: No such image: no-such-image:latest\n")
    res = pydock("rmi", "no-such-image", "busybox:no-such-tag")
    assert res.returncode == 1
    assert res.stderr == ("Error: No such image: no-such-image:latest\n"
                          "Error: No such image: busybox:no-such-tag\n")


@pytest.mark.privileged
def test_rm_of_the_last_name_deletes_the_image_and_its_layer(pydock, child):
    child_id = image_id(pydock, child)
    since = time.time()
    res = pydock("rmi", child)
    lines = res.stdout.splitlines()
    assert lines[:2] == [f"Untagged: {child}", f"Deleted: {child_id}"]
    assert len(lines) == 3 and lines[2].startswith("Deleted: sha256:")  # its own layer (a chain ID)
    assert [e["Action"] for e in events.read(since=since) if e["Type"] == "image"] == ["untag", "delete"]
    assert image_id(pydock, "busybox")  # the parent stays: it is tagged


def test_rm_by_id_of_an_image_with_two_names_must_be_forced(pydock, images, unique, busybox_image):
    pydock("tag", "busybox", images.track(f"{unique}:1"), check=True)
    pydock("tag", "busybox", images.track(f"{unique}:2"), check=True)
    pydock("image", "bootstrap", "busybox", "-t", images.track(f"{unique}:3"), check=True)  # an image of its own
    own = image_id(pydock, f"{unique}:3")
    pydock("tag", own, images.track(f"{unique}:4"), check=True)
    res = pydock("rmi", own[7:19])
    assert (res.returncode, res.stderr) == (1, f"Error: conflict: unable to delete {own[7:19]} (must be forced) - "
                                               "image is referenced in multiple repositories\n")
    res = pydock("rmi", "-f", own[7:19])
    assert res.stdout.splitlines()[:3] == [f"Untagged: {unique}:3", f"Untagged: {unique}:4", f"Deleted: {own}"]


@pytest.mark.privileged
def test_rm_refuses_images_that_containers_use(pydock, containers, images, unique, child):
    child_id = image_id(pydock, child)
    cid = containers.run("--name", unique + "r", child, "sleep", "60", detach=True)
    res = pydock("rmi", child_id[7:19])
    assert res.stderr == (f"Error: conflict: unable to delete {child_id[7:19]} (cannot be forced) - image is being "
                          f"used by running container {cid[:12]}\n")
    res = pydock("rmi", "-f", child_id[7:19])
    assert "cannot be forced" in res.stderr and res.returncode == 1
    pydock("rm", "-f", cid, check=True)
    stopped = containers.create("--name", unique + "s", child)
    res = pydock("rmi", child)
    assert res.stderr == (f'Error: conflict: unable to remove repository reference "{child}" (must force) - '
                          f"container {stopped[:12]} is using its referenced image {child_id[7:19]}\n")
    res = pydock("rmi", "-f", child)
    assert res.stdout == f"Untagged: {child}\n"  # the image itself stays while the container needs its files
    assert pydock("start", "-a", stopped).returncode == 0


@pytest.mark.privileged
def test_rm_refuses_an_image_with_children(pydock, child, busybox_image):
    base = image_id(pydock, "busybox")
    res = pydock("rmi", base[7:19])
    assert res.stderr == (f"Error: conflict: unable to delete {base[7:19]} (cannot be forced) - image has dependent "
                          "child images\n")


# history and inspect


@pytest.mark.privileged
def test_history_shows_local_images_and_missing_ones(pydock, child, busybox_image):
    rows = pydock("history", "--format", "{{.ID}}|{{.Size}}|{{.Comment}}", child).stdout.splitlines()
    assert [r.split("|")[0] for r in rows] == [image_id(pydock, child)[7:19], image_id(pydock, "busybox")[7:19]]
    assert rows[1].split("|")[2] == "pydock image bootstrap busybox"
    full = pydock("history", "--no-trunc", "-q", child).stdout.split()
    assert full == [image_id(pydock, child), image_id(pydock, "busybox")]
    header = pydock("history", child).stdout.splitlines()[0].split()
    assert header == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]


def test_history_of_an_image_without_its_parents_says_missing(pydock, images, unique, tmp_path):
    from image_tar_helpers import entry, image_tarball, make_tar

    data, loaded = image_tarball([make_tar([entry("a", data=b"1")]), make_tar([entry("b", data=b"2")])],
                                 tags=[images.track(f"{unique}:loaded")])
    (tmp_path / "l.tar").write_bytes(data)
    pydock("load", "-i", tmp_path / "l.tar", check=True)
    assert pydock("history", "-q", f"{unique}:loaded").stdout.split() == [loaded[7:19], "<missing>"]


def test_inspect_an_image(pydock, busybox_image):
    image = json.loads(pydock("image", "inspect", "busybox").stdout)[0]
    assert {"Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "Author", "Config", "Architecture",
            "Os", "Size", "GraphDriver", "RootFS", "Metadata"} <= set(image)
    assert image["RepoTags"] == ["busybox:latest"] and image["Config"]["Cmd"] == ["sh"]
    assert image["Comment"] == "pydock image bootstrap busybox"
    res = pydock("image", "inspect", "no-such-image")
    assert (res.returncode, res.stdout, res.stderr) == (1, "[]\n", "Error: No such image: no-such-image:latest\n")


def test_import_sets_the_comment_docker_shows(pydock, images, unique, tmp_path):
    from image_tar_helpers import entry, make_tar

    (tmp_path / "fs.tar").write_bytes(make_tar([entry("hello", data=b"hi")]))
    pydock("import", "-m", "from a tarball", tmp_path / "fs.tar", images.track(f"{unique}:imp"), check=True)
    assert pydock("image", "inspect", "-f", "{{.Comment}}", f"{unique}:imp").stdout == "from a tarball\n"


# prune


@pytest.fixture
def other(pydock, other_root):
    """``pydock`` on a second root with its own busybox, so pruning cannot touch the session's images."""
    run = lambda *args, **kwargs: pydock(*args, env={"PYDOCK_ROOT": other_root}, **kwargs)  # noqa: E731
    run("image", "bootstrap", "busybox", check=True)
    return run


@pytest.mark.privileged
def test_prune_removes_dangling_images_only(other, other_root, unique):
    other("run", "--name", unique, "--network", "none", "busybox", "sh", "-c", "echo data > /x", check=True)
    dangling = other("commit", unique, check=True).stdout.strip()
    other("rm", unique, check=True)
    other("tag", "busybox", "kept:1", check=True)
    lines = other("image", "prune", "-f").stdout.splitlines()
    assert lines[:2] == ["Deleted Images:", f"deleted: {dangling}"] and lines[2].startswith("deleted: sha256:")
    assert lines[3:] == ["", "Total reclaimed space: 5B"]  # the layer's one file, "data\n"
    assert sorted(other("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()) == ["busybox:latest",
                                                                                              "kept:1"]
    assert other("image", "prune", "-f").stdout == "Total reclaimed space: 0B\n"


@pytest.mark.privileged
def test_prune_all_keeps_what_containers_use(other, unique):
    other("image", "bootstrap", "busybox", "-t", "unused:1", check=True)  # an image of its own
    other("create", "--name", unique, "--network", "none", "busybox", "true", check=True)
    res = other("image", "prune", "-a", "-f")
    assert "untagged: unused:1\n" in res.stdout and "untagged: busybox:latest" not in res.stdout
    assert other("images", "--format", "{{.Repository}}:{{.Tag}}").stdout == "busybox:latest\n"
    other("rm", unique, check=True)
    res = other("image", "prune", "-a", "-f")
    assert "untagged: busybox:latest\n" in res.stdout and other("images", "-q").stdout == ""
    assert not res.stdout.endswith("Total reclaimed space: 0B\n")


def test_prune_asks_first(other):
    res = other("image", "prune", input="n\n")
    assert res.stdout == "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] "
    res = other("image", "prune", "-a", input="y\n")
    assert res.stdout.startswith("WARNING! This will remove all images without at least one container associated "
                                 "to them.\nAre you sure you want to continue? [y/N] Deleted Images:\n")
    assert other("images", "-q").stdout == ""


def test_prune_filters(other):
    assert other("image", "prune", "-f", "--filter", "color=red").stderr == "Error: invalid filter 'color'\n"
    res = other("image", "prune", "-a", "-f", "--filter", "until=1h")
    assert res.stdout == "Total reclaimed space: 0B\n"  # busybox was made less than an hour ago
    assert other("images", "-q").stdout.strip()
