"""Functions shared by the build tests (a module name of its own: pytest imports test dirs flat)."""

import os
import subprocess
import sysconfig
import time

import pytest


def wait_for(condition, timeout=30, interval=0.2):
    """Poll ``condition()`` until it returns something true; return it (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {condition.__doc__ or condition}")


def steps(output):
    """The ``Step N/M : ...`` lines of a build's output, and what each step printed after it."""
    found = []
    for line in output.splitlines():
        if line.startswith("Step "):
            found.append([line.split(" : ", 1)[1], []])
        elif found:
            found[-1][1].append(line)
    return found


def built_id(output):
    """The short image ID of ``Successfully built <id>``."""
    return next(line.split()[-1] for line in output.splitlines() if line.startswith("Successfully built "))



def pydock_binary(*args, input=b""):
    """``pydock ARGS`` with bytes on stdin (the ``pydock`` fixture speaks text)."""
    return subprocess.run([os.path.join(sysconfig.get_path("scripts"), "pydock"), *map(str, args)],
                          input=input, capture_output=True, timeout=300)
