"""Benchmark: building the tutorial's 8-step Dockerfile, pydock beside Docker's legacy builder, in one run.

    sudo /opt/pydock/venv/bin/python bench/bench_build.py [-n 9]

The Dockerfile (FROM busybox, MAINTAINER, ENV, WORKDIR, COPY, RUN, EXPOSE, CMD) is built

1. cold: ``build --no-cache``, every step made again (a RUN container, two layers, five config steps);
2. cached: ``build`` again with nothing changed, every step a cache hit;

each the median wall time of ``-n`` runs after two warm-up runs, from the CLI: ``pydock build -q`` beside
``DOCKER_BUILDKIT=0 docker build -q``, the two timed in turn, round after round, so both see the same load.
Both RUN steps use their engine's default bridge; pydock is also shown with ``--network none``, and
through the in-process ``Engine.build`` API (as the ``%%dockerfile`` magic calls it).

The timing runs in a private network and mount namespace (the script re-runs that part of itself under
``unshare``; the docker CLI still reaches dockerd through its socket), pydock with a state root and cgroup
parent of its own. Docker is the reference engine of ``../shared/tools/docker-reference.sh`` (image
``busybox:local``); without it pydock is measured alone. A
dockerd this script started is stopped at the end (containerd goes with it). Before timing, pydock_edu is
byte-compiled (this sandbox sets PYTHONDONTWRITEBYTECODE). Compare figures from one run only, on an
otherwise idle machine.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))
from bench_run import clean_up_pydock, dockerd_pids, ms, ratio, stop_dockerd  # noqa: E402
from docker_reference import ensure_reference_docker  # noqa: E402

PYDOCK = os.path.join(os.path.dirname(sys.executable), "pydock")
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else (shutil.which("docker") or "docker")
TAG = "pydock-bench-build"
DOCKERFILE = """\
FROM {base}
MAINTAINER pydock bench <bench@example.com>
ENV GREETING=hello
WORKDIR /app
COPY index.html .
RUN echo "$GREETING" > greeting.txt
EXPOSE 8080
CMD ["httpd", "-f", "-p", "8080"]
"""


def make_context(base):
    """A context directory with the Dockerfile and its index.html."""
    root = tempfile.mkdtemp(prefix="bench-build-")
    with open(os.path.join(root, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE.format(base=base))
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<h1>hello from the benchmark</h1>\n")
    return root


def interleaved(commands, n):
    """Median seconds of each command, timed in turn round after round (after two warm-up rounds),
    so that pydock and Docker see the same load on the machine."""
    times = {name: [] for name in commands}
    for round_number in range(n + 2):
        for name, command in commands.items():
            begin = time.perf_counter()
            subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            if round_number >= 2:
                times[name].append(time.perf_counter() - begin)
    return {name: statistics.median(values) for name, values in times.items()}


# Both engines, timed from inside pydock's own namespaces


def measure(args):
    """Time every figure (runs under unshare); print them as one JSON line."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    os.environ["PYDOCK_ROOT"] = tempfile.mkdtemp(prefix="pydock-bench-build-", dir="/var/tmp")
    os.environ["PYDOCK_CGROUP_PARENT"] = f"pydock-bench-build-{os.getpid()}"
    sys.path.insert(0, REPO)
    ours, theirs = make_context("busybox"), make_context("busybox:local")
    pydock = [PYDOCK, "build", "-q", "-t", TAG]
    docker = ["env", "DOCKER_BUILDKIT=0", DOCKER, "build", "-q", "-t", TAG]
    try:
        subprocess.run([PYDOCK, "image", "bootstrap", "busybox"], check=True, stdout=subprocess.DEVNULL)
        cold = {"pydock": [*pydock, "--no-cache", ours],
                "pydock_none": [*pydock, "--no-cache", "--network", "none", ours]}
        cached = {"pydock": [*pydock, ours], "pydock_none": [*pydock, "--network", "none", ours]}
        if args.docker:
            cold["docker"], cached["docker"] = [*docker, "--no-cache", theirs], [*docker, theirs]
        results = {"cold": interleaved(cold, args.n), "cached": interleaved(cached, args.n)}
        results["api_cold"], results["api_cached"] = engine_api(ours, args.n)
    finally:
        shutil.rmtree(ours, ignore_errors=True)
        shutil.rmtree(theirs, ignore_errors=True)
        clean_up_pydock()
        if args.docker:
            subprocess.run([DOCKER, "rmi", "-f", TAG], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run([DOCKER, "image", "prune", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(json.dumps(results))


def engine_api(root, n):
    """Median seconds of ``Engine().build`` in this process, cold and cached (default network)."""
    from pydock_edu.engine import Engine

    engine = Engine()

    def once(no_cache):
        begin = time.perf_counter()
        engine.build(root, tags=[TAG], no_cache=no_cache)
        return time.perf_counter() - begin

    for _ in range(2):
        once(True)
    cold = statistics.median(once(True) for _ in range(n))
    cached = statistics.median(once(False) for _ in range(n))
    return cold, cached


def run_measurements(args, docker):
    command = ["unshare", "--net", "--mount", "--propagation", "private", sys.executable, __file__,
               "--measure", "-n", str(args.n)] + (["--docker"] if docker else [])
    out = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# The report


def report(args, results):
    rows = [("what", "pydock", "Docker", "pydock/Docker")]

    def row(label, ours, theirs=None):
        rows.append((label, ms(ours), ms(theirs) if theirs is not None else "-",
                     ratio(ours, theirs) if theirs is not None else ""))

    cold, cached = results["cold"], results["cached"]
    row(f"cold build (--no-cache), CLI, RUN on the bridge (median of {args.n})", cold["pydock"], cold.get("docker"))
    row(f"cached rebuild, CLI (median of {args.n})", cached["pydock"], cached.get("docker"))
    row("cold build, CLI, RUN with --network none", cold["pydock_none"])
    row("cached rebuild, CLI, --network none", cached["pydock_none"])
    row("cold build, in-process Engine.build (bridge)", results["api_cold"])
    row("cached rebuild, in-process Engine.build", results["api_cached"])
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(r, widths)).rstrip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=9, help="timed runs per figure (median)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--docker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_build.py needs root (containers, namespaces, cgroups)")
    if args.measure:
        measure(args)
        return
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(REPO, "pydock_edu")], check=True)
    already_running = dockerd_pids()
    try:
        docker = ensure_reference_docker()
        if not docker:
            print("bench: no reference Docker; measuring pydock alone", file=sys.stderr)
        results = run_measurements(args, docker)
    finally:
        started = dockerd_pids() - already_running
        if started:
            stop_dockerd(started)
    report(args, results)


if __name__ == "__main__":
    main()
