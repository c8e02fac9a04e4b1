"""Racing containers against the paths the engine resolves in a container's root (issue 11, point 2).

A container that shares a volume keeps swapping a directory and a symlink to a host path with
renameat2(RENAME_EXCHANGE), as fast as it can. Whatever the engine creates, mounts or reads at a
path below that volume must stay inside the container's root: the host directory the symlink points
to (a canary this test made) must never gain a file, and no canary content may be read. The racer is
a tiny static C program compiled here and bind-mounted into the container (busybox has no renameat2).
"""

import io
import os
import subprocess
import tarfile
import time

import pytest

pytestmark = pytest.mark.privileged

TRIES = 40
SWAPPER = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE 2
#endif
int main(int argc, char **argv) {
    if (argc != 3) return 2;
    for (;;) syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE);
}
"""


@pytest.fixture
def swapper(tmp_path):
    """A directory holding ``swap A B``: a static program exchanging A and B forever."""
    directory = tmp_path / "racer"
    directory.mkdir()
    source = tmp_path / "swap.c"
    source.write_text(SWAPPER)
    subprocess.run(["gcc", "-static", "-O2", "-o", str(directory / "swap"), str(source)], check=True)
    return directory


@pytest.fixture
def racer(pydock, busybox_image, swapper):
    """``racer(volume, setup)``: a detached container running ``setup`` in /data, then swapping
    /data/a and /data/b forever; removed (with the volume) after the test."""
    made = []

    def start(volume, setup):
        script = f"cd /data && {setup} && exec /racer/swap /data/a /data/b"
        cid = pydock("run", "-d", "--network", "none", "-v", f"{volume}:/data", "-v", f"{swapper}:/racer:ro",
                     busybox_image, "sh", "-c", script, check=True).stdout.strip()
        made.append((cid, volume))
        deadline = time.monotonic() + 10
        while "swap" not in pydock("top", cid).stdout:  # the swapping has begun
            assert time.monotonic() < deadline, "the racer did not start"
            time.sleep(0.1)
        return cid

    yield start
    for cid, volume in made:
        pydock("rm", "-f", cid, timeout=30)
        pydock("volume", "rm", "-f", volume)


def test_a_mount_target_below_a_swapped_symlink_stays_in_the_container(pydock, racer, tmp_path):
    canary = tmp_path / "canary"  # stands in for a host directory the attacker wants to write in
    canary.mkdir()
    source = tmp_path / "mounted.txt"
    source.write_text("bound\n")
    racer("sec-fs-race-mount", f"mkdir a && ln -s {canary} b")
    started = time.monotonic()
    for _ in range(TRIES):
        pydock("run", "--rm", "--network", "none", "-v", "sec-fs-race-mount:/data", "-v", f"{source}:/data/a/f",
               "busybox", "true", timeout=60)
        assert os.listdir(canary) == [], "a mount target was created on the host through a swapped symlink"
        if time.monotonic() - started > 50:
            break


def test_commit_without_pause_reads_only_the_containers_files(pydock, busybox_image, swapper, tmp_path):
    """The racer swaps a directory of its own upper layer with a symlink to a host directory while
    ``commit --pause=false`` packs that layer: the image must never hold the canary's secret."""
    canary = tmp_path / "canary"
    canary.mkdir()
    names = [f"s{i}" for i in range(30)]  # the same names in both: any read through the link is a hit
    for name in names:
        (canary / name).write_text("host secret\n")
    script = (f"mkdir -p /work/a && cd /work/a && for n in {' '.join(names)}; do echo mine > $n; done && "
              f"ln -s {canary} /work/b && exec /racer/swap /work/a /work/b")
    cid = pydock("run", "-d", "--network", "none", "-v", f"{swapper}:/racer:ro", busybox_image, "sh", "-c", script,
                 check=True).stdout.strip()
    images = []
    try:
        started = time.monotonic()
        for i in range(TRIES):
            res = pydock("commit", "--pause=false", cid, f"sec-fs-commit-race:{i}", timeout=60)
            if res.returncode != 0:  # refusing to read a running container unpaused is safe too
                assert "Traceback" not in res.stderr
            else:
                images.append(f"sec-fs-commit-race:{i}")
            if time.monotonic() - started > 40:
                break
        saved = tmp_path / "images.tar"
        if images:  # one archive of every image: each layer once
            pydock("save", "-o", saved, *images, check=True)
            assert b"host secret" not in _all_layer_bytes(saved), "commit read a host file through a swapped symlink"
    finally:
        pydock("rm", "-f", cid, timeout=30)
        if images:
            pydock("rmi", *images)


def _all_layer_bytes(saved):
    """Every byte of every file inside the layer tars of a ``save`` archive."""
    data = b""
    with tarfile.open(saved) as outer:
        for member in outer:
            if not member.isfile():
                continue
            blob = outer.extractfile(member).read()
            try:
                with tarfile.open(fileobj=io.BytesIO(blob)) as inner:
                    for entry in inner:
                        if entry.isfile():
                            data += inner.extractfile(entry).read()
            except tarfile.TarError:
                continue
    return data


def test_cp_both_ways_through_a_swapped_symlink_stays_in_the_container(pydock, racer, tmp_path):
    """``cp`` into and out of a container that swaps the directory it names with a host symlink."""
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "secret").write_text("host secret\n")
    source = tmp_path / "in.txt"
    source.write_text("copied in\n")
    cid = racer("sec-fs-race-cp", f"mkdir a && echo mine > a/secret && ln -s {canary} b")
    started = time.monotonic()
    for i in range(TRIES):
        pydock("cp", source, f"{cid}:/data/a/in.txt", timeout=60)
        out = tmp_path / f"out{i}"
        res = pydock("cp", f"{cid}:/data/a/secret", out, timeout=60)
        assert "Traceback" not in res.stderr
        assert sorted(os.listdir(canary)) == ["secret"], "cp wrote into a host directory"
        assert not out.exists() or out.read_text() == "mine\n", "cp read a host file"
        if time.monotonic() - started > 40:
            break
