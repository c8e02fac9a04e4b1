"""50 containers on one user-defined network, each pinging the first by name: pydock vs Docker.

    /opt/pydock/venv/bin/python bench/bench_network_containers.py [--containers 50]

Both engines run the same steps through their CLIs: create a network, start a first container,
then start N-1 more, each of which pings the first by name once and keeps running; the clock
stops when every container has reported its ping. Then everything is removed. pydock runs with
a private PYDOCK_ROOT in its own network namespace (``unshare --net --mount``); Docker (from
``../shared/tools/docker-reference.sh``, image ``busybox:local``) runs on the host.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from docker_reference import ensure_reference_docker  # noqa: E402

PING = "ping -c1 -W5 first >/dev/null && touch /pinged; sleep 600"


def measure(cli, image, n):
    """Seconds to start ``n`` containers on a fresh network, each pinging the first by name."""
    run = lambda *args, **kw: subprocess.run([*cli, *args], check=True, capture_output=True, text=True, **kw)  # noqa: E731
    run("network", "create", "benchnet")
    try:
        start = time.perf_counter()
        run("run", "-d", "--name", "first", "--network", "benchnet", image, "sleep", "600")
        names = [f"peer{i}" for i in range(1, n)]
        for name in names:
            run("run", "-d", "--name", name, "--network", "benchnet", image, "sh", "-c", PING)
        pending = set(names)
        while pending:
            for name in list(pending):
                if subprocess.run([*cli, "exec", name, "test", "-e", "/pinged"]).returncode == 0:
                    pending.discard(name)
        return time.perf_counter() - start
    finally:
        subprocess.run([*cli, "rm", "-f", "first", *[f"peer{i}" for i in range(1, n)]], capture_output=True)
        subprocess.run([*cli, "network", "rm", "benchnet"], capture_output=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=50)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.inner:  # inside the private namespaces: the pydock side
        pydock = [shutil.which("pydock") or "pydock"]
        subprocess.run([*pydock, "image", "bootstrap", "busybox"], check=True, capture_output=True)
        seconds = measure(pydock, "busybox", options.containers)
        from pydock_edu.network.manager import Networks

        Networks().teardown()
        print(f"{seconds:.2f}")
        return
    root = tempfile.mkdtemp(prefix="pydock-bench-", dir="/var/tmp")
    env = dict(os.environ, PYDOCK_ROOT=root, PYDOCK_CGROUP_PARENT="pydock-bench")
    try:
        out = subprocess.run(["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c",
                              f"ip link set lo up && {sys.executable} {__file__} --inner "
                              f"--containers {options.containers}"],
                             env=env, check=True, capture_output=True, text=True).stdout
        pydock_seconds = float(out.split()[-1])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    docker_seconds = measure(["docker"], "busybox:local", options.containers) if ensure_reference_docker() else None
    print(f"{options.containers} containers on one network, each pinging the first by name")
    print(f"  pydock: {pydock_seconds:6.2f} s")
    print(f"  docker: {docker_seconds:6.2f} s" if docker_seconds else "  docker: not available")


if __name__ == "__main__":
    main()
