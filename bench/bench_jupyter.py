"""Benchmark of the notebook front end, in a private network and mount namespace with its own state root.

    python3 bench/bench_jupyter.py [--runs 20] [--containers 50] [--docker]

1. ``%docker run --rm busybox true`` in a warm pydock kernel (started from its kernelspec, as
   Jupyter starts it): the median time of the magic measured inside the kernel, and of a whole
   cell as a client sees it (execute request to idle). Beside it, ``pydock run --rm busybox true``
   as a new process, and the same with ``--network none`` (the share of the bridge and veth).
   With ``--docker``, first ``docker run --rm busybox:local true`` of the reference Docker Engine.
2. The network topology of N running containers (half on the default bridge, half on a
   user-defined network): reading the state and building the graph, then drawing it with ``dot``.

The script compiles pydock_edu first (``compileall``) and re-runs itself under
``unshare --net --mount`` so it never touches the host's network. Figures go in the issue notes.
"""

import argparse
import ast
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from docker_reference import ensure_reference_docker, median_wall

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMING_LOOP = """
import io as _io, time as _time
from pydock_edu.cli.main import Context as _Context, main as _main
_times = {{"magic": [], "none": [], "direct": []}}
for _ in range({runs}):  # the three alternate, so that a busy moment weighs on each alike
    _start = _time.perf_counter()
    %docker run --rm busybox true
    _times["magic"].append(_time.perf_counter() - _start)
    _start = _time.perf_counter()
    %docker run --rm --network none busybox true
    _times["none"].append(_time.perf_counter() - _start)
    _start = _time.perf_counter()
    _main(["run", "--rm", "busybox", "true"], _Context(_io.StringIO(), _io.StringIO()))
    _times["direct"].append(_time.perf_counter() - _start)
{{key: (sorted(values)[len(values) // 2], min(values)) for key, values in _times.items()}}
"""
MAGIC = "%docker run --rm busybox true"


def start_kernel(prefix):
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    subprocess.run([sys.executable, "-m", "pydock_edu.kernel", "install", "--prefix", prefix], check=True,
                   capture_output=True)
    specs = KernelSpecManager(kernel_dirs=[os.path.join(prefix, "share", "jupyter", "kernels")])
    manager = KernelManager(kernel_name="pydock", kernel_spec_manager=specs)
    manager.start_kernel(cwd=prefix, env=dict(os.environ, IPYTHONDIR=os.path.join(prefix, "ipython")))
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=120)
    return manager, client


def cell(client, code):
    """Run a cell; return (seconds from request to idle, text/plain of its result)."""
    result = {}

    def keep(msg):
        if msg["msg_type"] == "execute_result":
            result["value"] = msg["content"]["data"]["text/plain"]
        elif msg["msg_type"] == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"]))

    start = time.perf_counter()
    client.execute_interactive(code, timeout=300, output_hook=keep)
    return time.perf_counter() - start, result.get("value")


def bench_magic(runs):
    prefix = tempfile.mkdtemp(prefix="pydock-bench-kernel-")
    manager, client = start_kernel(prefix)
    try:
        for _ in range(3):
            cell(client, "%docker run --rm busybox true")
        times = ast.literal_eval(cell(client, TIMING_LOOP.format(runs=runs))[1])
        cells = [cell(client, MAGIC)[0] for _ in range(runs)]
    finally:
        client.stop_channels()
        manager.shutdown_kernel()
        shutil.rmtree(prefix, ignore_errors=True)
    pydock = shutil.which("pydock") or os.path.join(os.path.dirname(sys.executable), "pydock")
    cli = median_wall([pydock, "run", "--rm", "busybox", "true"], n=runs)
    cli_none = median_wall([pydock, "run", "--rm", "--network", "none", "busybox", "true"], n=runs)

    def ms(pair):
        return f"{pair[0] * 1000:.0f} ms (best {pair[1] * 1000:.0f})"

    print(f"%docker run --rm busybox true in a warm kernel, median of {runs}: {ms(times['magic'])} in the magic, "
          f"{ms((statistics.median(cells), min(cells)))} per cell from request to idle; target <= 60 ms")
    print(f"  the CLI's main() called in the same kernel: {ms(times['direct'])}; "
          f"%docker run --rm --network none busybox true: {ms(times['none'])}")
    print(f"pydock run --rm busybox true, a new process each: {cli * 1000:.0f} ms; with --network none: "
          f"{cli_none * 1000:.0f} ms")


def bench_topology(count):
    from pydock_edu.cli.main import Context, main
    from pydock_edu.engine import Engine
    from pydock_edu.jupyter.widgets.network import Topology
    from pydock_edu.network.manager import Networks

    with open(os.devnull, "w") as quiet:
        main(["network", "create", "benchnet"], Context(stdout=quiet))
        for number in range(count):
            network = "benchnet" if number % 2 else "bridge"
            if main(["run", "-d", "--name", f"c{number}", "--network", network, "busybox", "sleep", "600"],
                    Context(stdout=quiet)) != 0:
                raise SystemExit(f"container c{number} did not start")
    try:
        reads, draws = [], []
        for _ in range(5):
            start = time.perf_counter()
            picture = Topology()
            read = time.perf_counter()
            svg = picture.svg
            reads.append(read - start)
            draws.append(time.perf_counter() - read)
        nodes, edges = len(picture.graph.nodes), len(picture.graph.edges)
        print(f"topology of {count} containers ({nodes} nodes, {edges} edges, SVG {len(svg) // 1024} KiB), "
              f"median of 5: state read and graph {statistics.median(reads) * 1000:.0f} ms, dot "
              f"{statistics.median(draws) * 1000:.0f} ms, total {statistics.median(map(sum, zip(reads, draws))) * 1000:.0f} "
              "ms; target < 1 s")
    finally:
        engine = Engine()
        for record in engine.containers(all=True):
            engine.remove(record["Id"], force=True)
        Networks().remove("benchnet")
        Networks().teardown()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--containers", type=int, default=50)
    parser.add_argument("--docker", action="store_true", help="also time the reference Docker Engine")
    args = parser.parse_args()
    if args.docker and "PYDOCK_BENCH_DOCKER_DONE" not in os.environ:  # in the host's namespaces, where
        os.environ["PYDOCK_BENCH_DOCKER_DONE"] = "1"                     # dockerd lives: before the re-run
        if ensure_reference_docker():
            figure = median_wall(["docker", "run", "--rm", "busybox:local", "true"], n=args.runs)
            print(f"docker run --rm busybox:local true (reference Docker, host namespace): {figure * 1000:.0f} ms")
        else:
            print("reference Docker not available")
    if subprocess.run(["ip", "route", "show", "default"], capture_output=True, text=True).stdout:
        os.execvp("unshare", ["unshare", "--net", "--mount", "--propagation", "private",
                              sys.executable, *sys.argv])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "pydock_edu")], check=True)
    root = tempfile.mkdtemp(prefix="pydock-bench-", dir="/var/tmp")
    os.environ.update(PYDOCK_ROOT=root, PYDOCK_CGROUP_PARENT=f"pydock-bench-{os.getpid()}")
    sys.path.insert(0, ROOT)
    try:
        subprocess.run([sys.executable, "-m", "pydock_edu.cli.main", "image", "bootstrap", "busybox"], check=True,
                       capture_output=True)
        bench_magic(args.runs)
        bench_topology(args.containers)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
