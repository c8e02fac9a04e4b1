"""Kernel network switches under ``/proc/sys/net``.

Files below ``/proc/sys/net`` belong to the network namespace of the process that opens them, so
writing one here changes the host's (or the test session's) namespace, never a container's.
"""

from .. import explain


def write(key, value):
    """``sysctl -w key=value``: write ``value`` to ``/proc/sys/<key with dots as slashes>``."""
    explain.step("sysctl", f"sysctl -w {key}={value}")
    with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
        f.write(f"{value}\n")
