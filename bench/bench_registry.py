"""Benchmark: push and pull a ~60 MB, 3-layer image through a local docker-registry, pydock beside Docker.

    sudo /opt/pydock/venv/bin/python bench/bench_registry.py [--runs 5] [--megabytes 60]

1. An image of three layers of random (incompressible) data is written into a fresh pydock store
   through the image store's API, and the very same image (same config, same layer tars, same ID)
   is given to Docker with ``docker load``.
2. Push: each run starts an empty ``docker-registry`` on a free 127.0.0.1 port, so every layer is
   compressed and uploaded; ``pydock push`` and ``docker push`` are timed.
3. Pull: the image is pushed once; each run deletes it locally (untimed), then times
   ``pydock pull`` and ``docker pull``.

Medians are printed. Docker's side needs the reference engine (``../shared/tools/docker-reference.sh``);
without it pydock is measured alone. A dockerd that this script started is stopped at the end; one
that was already running is left alone. All traffic stays on 127.0.0.1.
"""

import argparse
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))
from docker_reference import ensure_reference_docker  # noqa: E402

PYDOCK = "/opt/pydock/venv/bin/pydock"
DOCKER = shutil.which("docker") or "/usr/bin/docker"


class Registry:
    """An empty docker-registry on a free 127.0.0.1 port, its storage in a temporary directory."""

    def __init__(self):
        self.workdir = tempfile.mkdtemp(prefix="pydock-bench-registry-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.host = f"127.0.0.1:{s.getsockname()[1]}"
        config = os.path.join(self.workdir, "config.yml")
        with open(config, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n"
                    f"    rootdirectory: {self.workdir}/storage\nhttp:\n  addr: {self.host}\n  secret: bench\n")
        self.process = subprocess.Popen(["docker-registry", "serve", config], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1).close()
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def make_image(megabytes, layers=3):
    """The benchmark image in pydock's store (tagged ``bench:src``) and as a ``docker load`` tarball."""
    from pydock_edu.image import store

    images = store.ImageStore()
    tars = []
    for index in range(layers):
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w", format=tarfile.PAX_FORMAT) as archive:
            info = tarfile.TarInfo(f"data/layer{index}.bin")
            info.size, info.mtime = megabytes * 1_000_000 // layers, 1_700_000_000
            archive.addfile(info, io.BytesIO(os.urandom(info.size)))
        tars.append(data.getvalue())
    diff_ids = [images.add_layer(io.BytesIO(tar)) for tar in tars]
    history = [{"created": "2024-01-01T00:00:00Z", "created_by": f"random layer {i}"} for i in range(layers)]
    image_id = images.put_config(store.new_config(diff_ids, {"Cmd": ["true"]}, history, created=1_700_000_000))
    images.tag(image_id, "bench:src")
    archive_path = os.path.join(os.environ["PYDOCK_ROOT"], "docker-load.tar")
    with tarfile.open(archive_path, "w") as archive:
        def add(name, payload):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))

        add(f"{image_id[7:]}.json", images.config_bytes(image_id))
        for diff_id, tar in zip(diff_ids, tars):
            add(f"{diff_id[7:]}/layer.tar", tar)
        add("manifest.json", json.dumps([{"Config": f"{image_id[7:]}.json", "RepoTags": ["bench:src"],
                                          "Layers": [f"{d[7:]}/layer.tar" for d in diff_ids]}]).encode())
    return image_id, archive_path


def forget_local(image_id):
    """Delete the image from pydock's store (every tag, then the image and its layers)."""
    from pydock_edu.image import store

    images = store.ImageStore()
    for tag in images.tags_of(image_id):
        images.untag(tag)
    images.delete(image_id)


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def bench_push(tool, source, runs):
    """Median seconds of pushing ``source`` to a fresh, empty registry."""
    times = []
    for _ in range(runs):
        registry = Registry()
        try:
            target = f"{registry.host}/bench:1"
            run([tool, "tag", source, target])
            times.append(timed([tool, "push", target]))
            run([tool, "rmi", target])
        finally:
            registry.stop()
    return statistics.median(times)


def bench_pull(tool, name, forget, runs):
    """Median seconds of pulling ``name`` when it is not here (``forget()`` deletes it, untimed)."""
    times = []
    for _ in range(runs):
        forget()
        times.append(timed([tool, "pull", name]))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--megabytes", type=int, default=60)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: sudo /opt/pydock/venv/bin/python bench/bench_registry.py")
    work = tempfile.mkdtemp(prefix="pydock-bench-", dir="/var/tmp")
    os.environ.update(PYDOCK_ROOT=os.path.join(work, "root"), PYDOCK_CONFIG=os.path.join(work, "config"),
                      PYDOCK_CGROUP_PARENT="pydock-bench-registry")
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(REPO, "pydock_edu")], check=True)
    sys.path.insert(0, REPO)
    docker_was_running = subprocess.run([DOCKER, "info"], capture_output=True).returncode == 0
    our_dockerd = None
    results = {}
    origin = None
    try:
        image_id, archive = make_image(args.megabytes)
        print(f"image {image_id[7:19]}: 3 layers of random data, {args.megabytes} MB; {args.runs} runs each")
        results["pydock push"] = bench_push(PYDOCK, "bench:src", args.runs)

        origin = Registry()
        name = f"{origin.host}/bench:1"
        run([PYDOCK, "tag", "bench:src", name])
        run([PYDOCK, "push", name])

        def forget_pydock():
            from pydock_edu.image import store

            if image_id in store.ImageStore().image_ids():
                forget_local(image_id)

        results["pydock pull"] = bench_pull(PYDOCK, name, forget_pydock, args.runs)

        if ensure_reference_docker():
            if not docker_was_running:
                our_dockerd = int(subprocess.run(["pgrep", "-xo", "dockerd"], capture_output=True, text=True).stdout)
            run([DOCKER, "load", "-i", archive])
            results["docker push"] = bench_push(DOCKER, "bench:src", args.runs)
            run([DOCKER, "rmi", "bench:src"])  # from here on the pulls bring every layer

            def forget_docker():
                subprocess.run([DOCKER, "rmi", "-f", name], capture_output=True)

            results["docker pull"] = bench_pull(DOCKER, name, forget_docker, args.runs)
            subprocess.run([DOCKER, "rmi", "-f", name], capture_output=True)
        else:
            print("no reference Docker: pydock alone")
    finally:
        if origin is not None:
            origin.stop()
        if our_dockerd:
            os.kill(our_dockerd, signal.SIGTERM)  # containerd, its child, stops with it
        shutil.rmtree(work, ignore_errors=True)
    for what in ("push", "pull"):
        line = f"{what} of {args.megabytes} MB, 3 layers, median wall time: pydock {results[f'pydock {what}']:.2f} s"
        if f"docker {what}" in results:
            line += f", docker {results[f'docker {what}']:.2f} s"
        print(line)


if __name__ == "__main__":
    main()
