"""Point 8 of issue 11: a container's processes start with a clean signal state, as runc gives them.

Python ignores SIGPIPE and SIGXFSZ, and a shell's background job ignores SIGINT and SIGQUIT; both
survive execve(2), so without a reset a student's ``trap`` on them never fires and ``yes | head -1``
does not end by SIGPIPE. Every disposition must be the default and no signal blocked, for ``run``,
``exec`` and a build's ``RUN`` step, however pydock itself was started.
"""

import os
import re
import signal
import subprocess
import sys
import sysconfig

import pytest

pytestmark = pytest.mark.privileged


def _ignore_job_control_signals():
    """What a shell does for a background job (``cmd &``): SIGINT and SIGQUIT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


def _pydock_as_background_job(*args, timeout=60):
    """The CLI started with SIGINT and SIGQUIT ignored, as ``pydock ... &`` from a shell starts it."""
    script = os.path.join(sysconfig.get_path("scripts"), "pydock")
    cli = [script] if os.path.exists(script) else [
        sys.executable, "-c", "import sys; from pydock_edu.cli.main import main; sys.exit(main())"]
    return subprocess.run(cli + [str(a) for a in args], check=False, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=_ignore_job_control_signals)


def _signal_masks(status_text):
    """``SigIgn`` and ``SigBlk`` of a /proc/PID/status text, as integers."""
    found = dict(re.findall(r"^(SigIgn|SigBlk):\s*([0-9a-f]+)$", status_text, re.MULTILINE))
    assert set(found) == {"SigIgn", "SigBlk"}, status_text
    return int(found["SigIgn"], 16), int(found["SigBlk"], 16)


def test_run_command_starts_with_no_signal_ignored_or_blocked(run):
    res = run("--rm", "busybox", "grep", "Sig", "/proc/self/status", timeout=60)
    assert res.returncode == 0, res.stderr
    assert _signal_masks(res.stdout) == (0, 0), res.stdout


def test_run_from_a_background_job_still_starts_clean(busybox_image):
    res = _pydock_as_background_job("run", "--rm", "--network", "none", "busybox",
                                    "grep", "Sig", "/proc/self/status")
    assert res.returncode == 0, res.stderr
    assert _signal_masks(res.stdout) == (0, 0), res.stdout


def test_exec_command_starts_clean_also_from_a_background_job(pydock, create):
    cid = create("busybox", "sleep", "60")
    try:
        pydock("start", cid, check=True)
        for res in (pydock("exec", cid, "grep", "Sig", "/proc/self/status", timeout=60),
                    _pydock_as_background_job("exec", cid, "grep", "Sig", "/proc/self/status")):
            assert res.returncode == 0, res.stderr
            assert _signal_masks(res.stdout) == (0, 0), res.stdout
    finally:
        pydock("rm", "-f", cid, timeout=60)


def test_a_trap_on_sigpipe_fires(run):
    res = run("--rm", "busybox", "sh", "-c", "trap 'echo trapped' PIPE; kill -PIPE $$; echo after",
              timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["trapped", "after"], res.stdout


def test_yes_into_head_ends_by_sigpipe(run):
    res = run("--rm", "busybox", "sh", "-c", "yes | head -1; echo done", timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["y", "done"], res.stdout


def test_build_run_step_starts_clean(pydock, busybox_image, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        # Exec form: a shell would change its own dispositions (busybox sh as PID 1 ignores SIGQUIT);
        # cp copies the status of cp itself, the RUN step's first process.
        'FROM busybox\nRUN ["cp", "/proc/self/status", "/signals"]\nCMD ["cat", "/signals"]\n')
    tag = "sec-life-signals:1"
    res = pydock("build", "--no-cache", "-t", tag, str(tmp_path), timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    try:
        out = pydock("run", "--rm", "--network", "none", tag, timeout=60)
        assert out.returncode == 0, out.stderr
        assert _signal_masks(out.stdout) == (0, 0), out.stdout
    finally:
        pydock("rmi", tag, timeout=60)
