"""Benchmark of the network library alone (no images, no runtime), in a private network namespace.

    python3 bench/bench_network.py [--containers 50]

1. Cold connect: a fresh Python process attaches one "container" (a ``sleep`` in its own network
   namespace) to the default bridge and releases it, as ``run --rm`` does; this includes importing
   pyroute2 and creating ``pydock0`` with its rules.
2. N containers join one user-defined network, then each pings the first by address.

The script re-runs itself under ``unshare --net --mount`` so it never touches the host's network.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLD = """
import os, subprocess, sys, time
start = time.perf_counter()
sys.path.insert(0, {root!r})
from pydock_edu.network.manager import Networks
nets = Networks()
record = {{"Id": "c" * 64, "Name": "/cold", "Config": {{}}, "HostConfig": {{}}}}
nets.connect(record, {pid}, "bridge")
connected = time.perf_counter()
nets.release("c" * 64)
print(connected - start, time.perf_counter() - connected)
"""


def sandbox():
    return subprocess.Popen(["unshare", "--net", "sleep", "600"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=50)
    args = parser.parse_args()
    if subprocess.run(["ip", "route", "show", "default"], capture_output=True, text=True).stdout:
        os.execvp("unshare", ["unshare", "--net", "--mount", "--propagation", "private",
                              sys.executable, *sys.argv])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    os.environ["PYDOCK_ROOT"] = tempfile.mkdtemp(prefix="pydock-bench-")
    sys.path.insert(0, ROOT)
    from pydock_edu.network.manager import Networks

    first = sandbox()
    time.sleep(0.2)
    out = subprocess.run([sys.executable, "-c", COLD.format(root=ROOT, pid=first.pid)],
                         capture_output=True, text=True, check=True).stdout.split()
    print(f"cold connect to the default bridge (new process, pyroute2 import, pydock0 made): "
          f"{float(out[0]) * 1000:.0f} ms; release: {float(out[1]) * 1000:.0f} ms")

    nets = Networks()
    procs = [first] + [sandbox() for _ in range(args.containers - 1)]
    time.sleep(0.3)
    start = time.perf_counter()
    nets.create("benchnet")
    addresses = []
    for i, proc in enumerate(procs):
        record = {"Id": f"{i:064x}", "Name": f"/c{i}", "Config": {}, "HostConfig": {}}
        addresses.append(nets.connect(record, proc.pid, "benchnet")["IPAddress"])
    connected = time.perf_counter()
    pings = [subprocess.Popen(["nsenter", "-t", str(p.pid), "-n", "busybox", "ping", "-c1", "-W2",
                               addresses[0]], stdout=subprocess.DEVNULL) for p in procs[1:]]
    failed = sum(p.wait() != 0 for p in pings)
    done = time.perf_counter()
    print(f"{args.containers} containers on one network: connect {connected - start:.2f} s, "
          f"all ping the first {done - connected:.2f} s, {failed} failed")

    for i in range(len(procs)):
        nets.release(f"{i:064x}")
    for proc in procs:
        proc.kill()
    nets.remove("benchnet")
    nets.teardown()


if __name__ == "__main__":
    main()
