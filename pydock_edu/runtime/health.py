"""HEALTHCHECK: run a container's check command now and then, and record whether it passes.

A container whose image (or ``run --health-cmd``) has a HEALTHCHECK gets a monitor: a small
process that the container's shim starts once the container runs. Every interval the monitor
runs the check inside the container as ``exec`` does (a helper joins the container's cgroup and
namespaces), waits at most the timeout, and records the result in the container's
``State.Health``, as Docker does:

* ``starting`` until a check passes; a failure in the start period does not count;
* ``healthy`` as soon as a check exits with 0 (the failing streak goes back to 0);
* ``unhealthy`` after ``Retries`` failures in a row (a non-zero exit, or the timeout).

``Health.Log`` keeps the last five results. ``ps`` shows the status beside ``Up ...``. The
monitor watches the container's first process through a pidfd and ends when it does.
"""

import os
import sys
import time

from .. import container, events
from ..timefmt import format_time

NANOSECONDS = 10**9
DEFAULTS = {"Interval": 30 * NANOSECONDS, "Timeout": 30 * NANOSECONDS, "StartPeriod": 0,
            "StartInterval": 5 * NANOSECONDS, "Retries": 3}
LOG_ENTRIES = 5
MAX_OUTPUT = 4096


def check_of(config):
    """The container's Healthcheck with defaults filled in, or None if it has none (or NONE)."""
    check = config.get("Healthcheck") or {}
    test = check.get("Test") or []
    if not test or test[0] == "NONE":
        return None
    return {**DEFAULTS, **{key: value for key, value in check.items() if value}}


def reset(record):
    """At start: ``Health`` begins as ``starting`` (or goes away if there is no check)."""
    if check_of(record["Config"]):
        record["State"]["Health"] = {"Status": "starting", "FailingStreak": 0, "Log": []}
    else:
        record["State"].pop("Health", None)


def start_monitor(record):
    """Start the health monitor of a container that has just started, if it has a check."""
    if record is None or not check_of(record["Config"]):
        return None
    from .spawn import helper

    return helper("pydock_edu.runtime.health", [record["Id"], str(record["State"]["Pid"])],
                  stdin=-3, stdout=-3, stderr=-3, start_new_session=True)  # -3: subprocess.DEVNULL


def main():
    Monitor(sys.argv[1], int(sys.argv[2])).run()


class Monitor:
    def __init__(self, container_id, pid):
        from ..engine import Engine

        self.id, self.pid = container_id, pid
        self.engine = Engine()
        self.started = time.monotonic()

    def run(self):
        import select

        try:
            pidfd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            return
        record = container.load(self.id)
        check = record and check_of(record["Config"])
        while check:
            starting = time.monotonic() - self.started < check["StartPeriod"] / NANOSECONDS
            wait = check["StartInterval" if starting else "Interval"] / NANOSECONDS
            if select.select([pidfd], [], [], wait)[0]:
                return  # the container's first process has exited
            record = container.load(self.id)
            if not record or record["State"].get("Pid") != self.pid:
                return
            if not record["State"].get("Paused"):
                result = self.probe(record, check)
                container.update(self.id, lambda r: self.record(r, check, result))

    def probe(self, record, check):
        """Run the check once in the container; return Docker's log entry for it."""
        import subprocess

        test = check["Test"]
        if test[0] == "CMD-SHELL":
            command = [*(record["Config"].get("Shell") or ["/bin/sh", "-c"]), test[1]]
        else:
            command = test[1:]
        start = time.time()
        timeout = check["Timeout"] / NANOSECONDS
        try:
            process = self.engine.exec(self.id, command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT)
        except Exception as e:  # the container stopped meanwhile, or exec could not start
            return _entry(start, -1, str(e))
        try:
            output, _ = process.communicate(timeout=timeout)
            code = process.returncode
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return _entry(start, -1, f"Health check exceeded timeout ({timeout:g}s)")
        return _entry(start, code, output[:MAX_OUTPUT].decode(errors="replace"))

    def record(self, record, check, result):
        """Add one result to ``State.Health`` and move the status as Docker does."""
        if record["State"].get("Pid") != self.pid:
            return
        health = record["State"].setdefault("Health", {"Status": "starting", "FailingStreak": 0, "Log": []})
        before = health["Status"]
        health["Log"] = [*health["Log"], result][-LOG_ENTRIES:]
        if result["ExitCode"] == 0:
            health["FailingStreak"] = 0
            health["Status"] = "healthy"
        elif not (before == "starting" and
                  time.monotonic() - self.started < check["StartPeriod"] / NANOSECONDS):
            health["FailingStreak"] += 1
            if health["FailingStreak"] >= check["Retries"]:
                health["Status"] = "unhealthy"
        if health["Status"] != before:
            events.emit("container", f"health_status: {health['Status']}", self.id,
                        {"name": record["Name"].lstrip("/")})


def _entry(start, code, output):
    return {"Start": format_time(start), "End": format_time(time.time()), "ExitCode": code, "Output": output}


if __name__ == "__main__":
    main()
