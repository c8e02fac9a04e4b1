"""Helpers for the benchmarks in bench/: the reference Docker, wall-clock timing and memory (PSS).

Run benchmarks as root with the venv's Python; see bench/README.md.
"""

import os
import shutil
import statistics
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT_CANDIDATES = [
    os.path.join(REPO, "..", "shared", "tools", "docker-reference.sh"),
    "/work/shared/tools/docker-reference.sh",
]


def reference_script():
    """Path of ``docker-reference.sh`` (next to the repository, in ``../shared/tools``), or None."""
    for path in SCRIPT_CANDIDATES:
        if os.path.isfile(path):
            return os.path.normpath(path)
    return None


def ensure_reference_docker():
    """Start the reference Docker Engine (with the ``busybox:local`` image); True if it answers.

    The script installs Debian's docker.io if needed and leaves ``dockerd`` running in the background
    (log in /var/log/dockerd-reference.log): stop it by its pid when the comparison is done.
    """
    script = reference_script()
    if script is None or os.geteuid() != 0:
        return False
    if subprocess.run(["bash", script], stdin=subprocess.DEVNULL).returncode != 0:
        return False
    docker = shutil.which("docker") or "/usr/bin/docker"
    return subprocess.run([docker, "info"], capture_output=True).returncode == 0


def median_wall(cmd, n=15, warmup=2):
    """Median wall-clock seconds of ``n`` runs of ``cmd`` (after ``warmup`` untimed runs).

    Output is discarded; a run that exits non-zero raises ``CalledProcessError``.
    """
    def once():
        start = time.perf_counter()
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start

    for _ in range(warmup):
        once()
    return statistics.median(once() for _ in range(n))


def pss_kib(pid):
    """Proportional set size of process ``pid`` in KiB, from /proc/PID/smaps_rollup.

    PSS charges each shared page in part to every process that maps it, so the PSS of a set of processes
    adds up to the memory they really use together.
    """
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise ValueError(f"no Pss line in /proc/{pid}/smaps_rollup")
