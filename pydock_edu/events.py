"""The event stream, like ``docker events``: one JSON line per thing the engine did.

Events are appended to ``<root>/events.jsonl`` with a single ``write(2)`` on a file opened with
O_APPEND, so lines from the CLI, kernels and shims never interleave. Readers (``pydock events``,
the widgets) follow the file and skip a damaged line (reported once). An event that cannot be
written (a full disk) is reported and dropped: the change it describes has been made and stays.
"""

import json
import os
import time

from . import state


def emit(type, action, actor, attributes=None):
    """Record one event: ``type`` (container, image, network, volume), ``action``, the actor's ID."""
    now = time.time_ns()
    event = {"Type": type, "Action": action, "Actor": {"ID": actor, "Attributes": attributes or {}},
             "time": now // 1_000_000_000, "timeNano": now}
    line = json.dumps(event, separators=(",", ":")).encode() + b"\n"
    path = state.path("events.jsonl")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError as e:
        if e.errno not in state.WRITE_FAILURES:
            raise
        state.report_damage("events not written", f"{type} {action} event not recorded: {state.write_failed(e, path)}")


def read(since=None, until=None, follow=False, poll=0.1, stop=None):
    """Yield events (dicts) with ``since <= time <= until``; with ``follow``, wait for new ones."""
    path = state.path("events.jsonl")
    position = 0
    while True:
        try:
            with open(path, "rb") as f:
                f.seek(position)
                for line in f:
                    if not line.endswith(b"\n"):
                        break
                    position += len(line)
                    event = _parse(line, path)
                    if event is None:
                        continue
                    seconds = event["timeNano"] / 1e9
                    if since is not None and seconds < since:
                        continue
                    if until is not None and seconds > until:
                        return
                    yield event
        except FileNotFoundError:
            pass
        if not follow or (until is not None and time.time() > until) or (stop and stop()):
            return
        time.sleep(poll)


def _parse(line, path):
    """One event line, or None (reported once) if it is not an event as :func:`emit` writes them."""
    try:
        event = json.loads(line)
        actor = event["Actor"]
        if (isinstance(event["Type"], str) and isinstance(event["Action"], str) and isinstance(actor["ID"], str)
                and isinstance(actor["Attributes"], dict) and isinstance(event["time"], int)
                and isinstance(event["timeNano"], int)):
            return event
    except (ValueError, TypeError, KeyError):
        pass
    state.report_damage(path, f"{path}: damaged lines skipped")
    return None
