"""Benchmark ``image save`` and ``image load`` of the same image: pydock beside Docker, same run, same VM.

    sudo /opt/pydock/venv/bin/python bench/bench_image.py [-n 7]

Two images, identical in both engines (each loads the same tarball first): ``bench-image:small``
(busybox as pydock bootstraps it: one layer, 2 MB) and ``bench-image:big`` (that plus three layers
of 20 MB of random bytes, 62 MB). Each operation is timed end to end as a user runs it (CLI start-up included):

- save: ``save -o FILE IMAGE``;
- load: ``load -i FILE`` of that tarball into an engine without the image (it is removed, untimed,
  before each run), so every layer is really unpacked.

The median of N runs is printed for each. pydock works in a private PYDOCK_ROOT under /var/tmp,
removed at the end, as are Docker's copies of the images. Without Docker, pydock's figures alone.
"""

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docker_reference import ensure_reference_docker  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYDOCK = os.path.join(os.path.dirname(sys.executable), "pydock")
BIG_LAYERS, BIG_LAYER_MB = 3, 20


def timed(cmd, before=None, n=7):
    """Median wall-clock seconds of ``cmd`` over ``n`` runs; ``before`` runs untimed before each."""
    times = []
    for _ in range(n + 1):  # the first run warms the page cache and is not counted
        if before:
            subprocess.run(before, capture_output=True)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def big_tarball(busybox_tar, out):
    """A ``docker save`` tarball of busybox plus layers of random bytes (written with the tarfile module)."""
    import hashlib

    with tarfile.open(busybox_tar) as saved:
        manifest = json.load(saved.extractfile("manifest.json"))[0]
        config = json.load(saved.extractfile(manifest["Config"]))
        base_layers = [(p, saved.extractfile(p).read()) for p in manifest["Layers"]]
    layers = list(base_layers)
    for i in range(BIG_LAYERS):
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w") as layer:
            payload = os.urandom(BIG_LAYER_MB << 20)
            info = tarfile.TarInfo(f"data/random-{i}.bin")
            info.size = len(payload)
            layer.addfile(info, io.BytesIO(payload))
        blob = data.getvalue()
        layers.append((f"blobs/sha256/{hashlib.sha256(blob).hexdigest()}", blob))
    config["rootfs"]["diff_ids"] = ["sha256:" + hashlib.sha256(blob).hexdigest() for _, blob in layers]
    config["history"] = (config.get("history") or []) + [{"created_by": f"random layer {i}"} for i in range(BIG_LAYERS)]
    config_bytes = json.dumps(config).encode()
    config_path = f"blobs/sha256/{hashlib.sha256(config_bytes).hexdigest()}"
    entries = [(config_path, config_bytes), *layers,
               ("manifest.json", json.dumps([{"Config": config_path, "RepoTags": ["bench-image:big"],
                                              "Layers": [p for p, _ in layers]}]).encode())]
    with tarfile.open(out, "w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=7, help="runs per figure (median)")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "pydock_edu")], check=True)
    work = tempfile.mkdtemp(prefix="pydock-bench-image-", dir="/var/tmp")
    os.environ["PYDOCK_ROOT"] = os.path.join(work, "root")
    docker = shutil.which("docker") if ensure_reference_docker() else None
    docker_images = []
    try:
        subprocess.run([PYDOCK, "image", "bootstrap", "busybox", "-t", "bench-image:small"], check=True,
                       capture_output=True)
        subprocess.run([PYDOCK, "save", "-o", f"{work}/small-input.tar", "bench-image:small"], check=True)
        big_tarball(f"{work}/small-input.tar", f"{work}/big-input.tar")
        subprocess.run([PYDOCK, "load", "-i", f"{work}/big-input.tar"], check=True, capture_output=True)
        if docker:
            for name in ("small-input.tar", "big-input.tar"):
                subprocess.run([docker, "load", "-i", f"{work}/{name}"], check=True, capture_output=True)
            docker_images = ["bench-image:small", "bench-image:big"]
        rows = []
        for image, label in (("bench-image:small", "small (1 layer, 2 MB)"),
                             ("bench-image:big", f"big ({1 + BIG_LAYERS} layers, {BIG_LAYERS * BIG_LAYER_MB + 2} MB)")):
            ours, theirs = f"{work}/pydock-{image[12:]}.tar", f"{work}/docker-{image[12:]}.tar"
            row = [label, timed([PYDOCK, "save", "-o", ours, image], n=args.n),
                   timed([PYDOCK, "load", "-i", ours], before=[PYDOCK, "rmi", image], n=args.n)]
            if docker:
                row += [timed([docker, "save", "-o", theirs, image], n=args.n),
                        timed([docker, "load", "-i", ours], before=[docker, "rmi", image], n=args.n)]
            rows.append(row)
        print(f"\nimage save / load, median of {args.n} runs (seconds, wall clock, CLI start-up included)\n")
        print(f"{'image':<28} {'op':<5} {'pydock':>8} {'docker':>8} {'pydock/docker':>14}")
        print("-" * 67)
        for label, save_ours, load_ours, *docker_times in rows:
            for op, ours, index in (("save", save_ours, 0), ("load", load_ours, 1)):
                theirs = docker_times[index] if docker_times else None
                ratio = f"{ours / theirs:.2f}" if theirs else "-"
                print(f"{label:<28} {op:<5} {ours:8.3f} {theirs if theirs is None else format(theirs, '8.3f'):>8} "
                      f"{ratio:>14}")
    finally:
        if docker:
            subprocess.run([docker, "rmi", *docker_images], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
