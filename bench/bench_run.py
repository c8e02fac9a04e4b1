"""Benchmark: starting containers and keeping them idle, pydock beside Docker, in one run.

    sudo /opt/pydock/venv/bin/python bench/bench_run.py [-n 15] [--containers 50]

1. ``pydock run --rm busybox true`` from the CLI, median wall time of ``-n`` runs (after two warm-up
   runs), beside ``docker run --rm busybox:local true``; both on their default bridge and on ``none``.
2. The same through the in-process ``Engine`` API (``Engine().run(body, attach=Attachment())`` and
   the attachment's relay until the exit code arrives), as a notebook kernel runs containers.
3. ``--containers`` detached ``sleep 3600`` containers, started one after another from the CLI: the
   time to start them all, then the memory each idle one costs: the PSS (proportional set size, from
   /proc/PID/smaps_rollup) of its shim, pydock's ``python -S`` shim beside Docker's
   ``containerd-shim-runc-v2``; the container's own ``sleep`` (the same static busybox in both) and
   the drop of MemAvailable per container (kernel memory too: cgroups, mounts, namespaces; noisy on
   a busy machine) are shown for context.

pydock runs in a private network and mount namespace (the script re-runs that part of itself under
``unshare``), with a state root and cgroup parent of its own, so the host keeps no bridge, rule or
container. Docker is the reference engine of ``../shared/tools/docker-reference.sh``; without it
pydock is measured alone. A dockerd that this script started is stopped at the end (containerd goes
with it); one that was already running is left alone. Before timing, pydock_edu is byte-compiled
(this sandbox sets PYTHONDONTWRITEBYTECODE). The machine should be otherwise idle: compare figures
from one run only.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))
from docker_reference import ensure_reference_docker, median_wall, pss_kib

PYDOCK = os.path.join(os.path.dirname(sys.executable), "pydock")
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else (shutil.which("docker") or "docker")
BENCH_LABEL = "pydock-bench-run=1"


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    raise ValueError("no MemAvailable in /proc/meminfo")


def idle_containers(start_one, count, shim_and_process):
    """Start ``count`` containers; return (seconds to start them all, [(shim PSS, process PSS)], KiB lost)."""
    before = mem_available_kib()
    started = time.perf_counter()
    ids = [start_one(i) for i in range(count)]
    elapsed = time.perf_counter() - started
    time.sleep(2)  # let every shim settle into its idle loop
    memory = [(pss_kib(shim), pss_kib(process)) for shim, process in map(shim_and_process, ids)]
    lost = before - mem_available_kib()
    return ids, elapsed, memory, lost


# pydock, inside its own namespaces


def pydock_part(args):
    """Measure pydock (runs under unshare); print the figures as one JSON line."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    os.environ["PYDOCK_ROOT"] = tempfile.mkdtemp(prefix="pydock-bench-run-", dir="/var/tmp")
    os.environ["PYDOCK_CGROUP_PARENT"] = f"pydock-bench-run-{os.getpid()}"
    sys.path.insert(0, REPO)
    results = {}
    try:
        subprocess.run([PYDOCK, "image", "bootstrap", "busybox"], check=True, stdout=subprocess.DEVNULL)
        for network in ("default", "none"):
            extra = ["--network", "none"] if network == "none" else []
            results[f"cli_{network}"] = median_wall([PYDOCK, "run", "--rm", *extra, "busybox", "true"], n=args.n)
        for network in ("default", "none"):
            results[f"api_{network}"] = engine_api_median(args.n, network)
        results["idle"] = pydock_idle(args.containers)
    finally:
        clean_up_pydock()
    print(json.dumps(results))


def engine_api_median(n, network):
    """Median seconds of ``Engine().run`` with an attachment, until the exit code is relayed."""
    from pydock_edu.engine import Attachment, Engine

    engine = Engine()
    body = {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"AutoRemove": True}}
    if network == "none":
        body["HostConfig"]["NetworkMode"] = "none"

    def once():
        begin = time.perf_counter()
        attachment = Attachment()
        engine.run(body, attach=attachment)
        code = attachment.relay(lambda stream, data: None)
        if code != 0:
            raise RuntimeError(f"the container exited {code}")
        return time.perf_counter() - begin

    for _ in range(2):
        once()
    return statistics.median(once() for _ in range(n))


def pydock_idle(count):
    from pydock_edu import container

    def start_one(i):
        return subprocess.run([PYDOCK, "run", "-d", "busybox", "sleep", "3600"], check=True,
                              capture_output=True, text=True).stdout.strip()

    def shim_and_process(cid):
        record = container.load(cid)
        return record["Shim"]["Pid"], record["State"]["Pid"]

    ids, elapsed, memory, lost = idle_containers(start_one, count, shim_and_process)
    removal = time.perf_counter()
    subprocess.run([PYDOCK, "rm", "-f", *ids], check=True, stdout=subprocess.DEVNULL)
    return {"start_all": elapsed, "memory": memory, "mem_available_lost": lost,
            "remove_all": time.perf_counter() - removal}


def clean_up_pydock():
    """Remove what the benchmark made: containers, the state root, the cgroup parent."""
    import glob

    ids = subprocess.run([PYDOCK, "ps", "-aq"], capture_output=True, text=True, check=False).stdout.split()
    if ids:
        subprocess.run([PYDOCK, "rm", "-f", *ids], stdout=subprocess.DEVNULL, check=False)
    parent = os.environ["PYDOCK_CGROUP_PARENT"]
    for directory in glob.glob(f"/sys/fs/cgroup/*/{parent}") + glob.glob(f"/sys/fs/cgroup/{parent}"):
        try:
            os.rmdir(directory)
        except OSError as e:
            print(f"bench: could not remove {directory}: {e}", file=sys.stderr)
    shutil.rmtree(os.environ["PYDOCK_ROOT"], ignore_errors=True)


def run_pydock_part(args):
    command = ["unshare", "--net", "--mount", "--propagation", "private", sys.executable, __file__,
               "--pydock-part", "-n", str(args.n), "--containers", str(args.containers)]
    out = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# Docker, the reference


def docker_cli_median(n, network):
    extra = ["--network", "none"] if network == "none" else []
    return median_wall([DOCKER, "run", "--rm", *extra, "busybox:local", "true"], n=n)


def docker_shims():
    """{container ID: PID} of every containerd-shim-runc-v2 (its command line has ``-id <container>``)."""
    shims = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == "containerd-shim-runc-v2" and "-id" in argv:
            shims[argv[argv.index("-id") + 1]] = int(entry)
    return shims


def docker_idle(count):
    def start_one(i):
        return subprocess.run([DOCKER, "run", "-d", "--label", BENCH_LABEL, "busybox:local", "sleep", "3600"],
                              check=True, capture_output=True, text=True).stdout.strip()

    def shim_and_process(cid):
        pid = int(subprocess.run([DOCKER, "inspect", "-f", "{{.State.Pid}}", cid], check=True,
                                 capture_output=True, text=True).stdout)
        return docker_shims()[cid], pid

    try:
        _, elapsed, memory, lost = idle_containers(start_one, count, shim_and_process)
    finally:
        clean_up_docker()
    return {"start_all": elapsed, "memory": memory, "mem_available_lost": lost}


def clean_up_docker():
    ids = subprocess.run([DOCKER, "ps", "-aq", "--filter", f"label={BENCH_LABEL}"], capture_output=True,
                         text=True, check=False).stdout.split()
    if ids:
        subprocess.run([DOCKER, "rm", "-f", *ids], stdout=subprocess.DEVNULL, check=False)


def dockerd_pids():
    out = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True, check=False).stdout
    return {int(pid) for pid in out.split()}


def stop_dockerd(pids):
    """Stop the dockerd processes this script started (SIGTERM; it stops its containerd too)."""
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in pids):
        time.sleep(0.2)


# The report


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def kib(value):
    return f"{value / 1024:.1f} MiB"


def ratio(ours, theirs):
    return f"{ours / theirs:.2f}x" if theirs else ""


def report(args, pydock, docker):
    rows = [("what", "pydock", "Docker", "pydock/Docker")]

    def row(label, ours, theirs, show):
        rows.append((label, show(ours), show(theirs) if theirs is not None else "-",
                     ratio(ours, theirs) if theirs is not None else ""))

    for network in ("default", "none"):
        name = "bridge" if network == "default" else "none"
        row(f"run --rm busybox true, CLI, --network {name} (median of {args.n})", pydock[f"cli_{network}"],
            docker.get(f"cli_{network}"), ms)
    for network in ("default", "none"):
        name = "bridge" if network == "default" else "none"
        row(f"run --rm busybox true, in-process Engine API, {name} (median of {args.n})",
            pydock[f"api_{network}"], None, ms)
    ours, theirs = pydock["idle"], docker.get("idle")
    count = args.containers
    row(f"start {count} detached sleep containers, one after another", ours["start_all"],
        theirs and theirs["start_all"], lambda s: f"{s:.1f} s")
    row("  per container", ours["start_all"] / count, theirs and theirs["start_all"] / count, ms)

    def mean(memory, index):
        return statistics.mean(m[index] for m in memory)

    row("idle shim PSS per container (mean)", mean(ours["memory"], 0), theirs and mean(theirs["memory"], 0), kib)
    row("idle shim PSS, all shims", sum(m[0] for m in ours["memory"]),
        theirs and sum(m[0] for m in theirs["memory"]), kib)
    row("container process (sleep) PSS (mean)", mean(ours["memory"], 1), theirs and mean(theirs["memory"], 1), kib)
    row("MemAvailable drop per container (noisy)", ours["mem_available_lost"] / count,
        theirs and theirs["mem_available_lost"] / count, kib)
    rows.append((f"rm -f of {count} (pydock, one command)", f"{ours['remove_all']:.1f} s", "", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for number, r in enumerate(rows):
        print("  ".join([r[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(r[1:], widths[1:])]))
        if number == 0:
            print("  ".join("-" * w for w in widths))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=15, help="timed runs per median")
    parser.add_argument("--containers", type=int, default=50, help="idle containers to start")
    parser.add_argument("--no-docker", action="store_true", help="measure pydock alone")
    parser.add_argument("--pydock-part", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pydock_part:
        pydock_part(args)
        return
    if os.geteuid() != 0:
        sys.exit("bench_run.py needs root (namespaces, overlayfs, cgroups)")
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(REPO, "pydock_edu")], check=True)
    load_before = os.getloadavg()[0]
    before = dockerd_pids()
    have_docker = not args.no_docker and ensure_reference_docker()
    started_here = dockerd_pids() - before
    docker = {}
    version = ""
    try:
        if have_docker:
            version = subprocess.run([DOCKER, "version", "--format", "{{.Server.Version}}"], capture_output=True,
                                     text=True, check=True).stdout.strip()
            for network in ("default", "none"):
                docker[f"cli_{network}"] = docker_cli_median(args.n, network)
        pydock = run_pydock_part(args)
        if have_docker:
            docker["idle"] = docker_idle(args.containers)
    finally:
        if started_here:
            stop_dockerd(started_here)
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')} on {os.uname().nodename}, {os.cpu_count()} CPUs, "
          f"kernel {os.uname().release}, load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
          + ("" if have_docker else "; no reference Docker"))
    if have_docker:
        print(f"Docker {version} (dockerd {'started and stopped by this run' if started_here else 'already running'})")
    print()
    report(args, pydock, docker)


if __name__ == "__main__":
    main()
