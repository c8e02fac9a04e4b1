"""The event stream, like ``docker events``: one JSON line per thing the engine did.

Events are appended to ``<root>/events.jsonl`` with a single ``write(2)`` on a file opened with
O_APPEND, so lines from the CLI, kernels and shims never interleave. Readers (``pydock events``,
the widgets) follow the file.
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
    os.makedirs(state.root(), exist_ok=True)
    fd = os.open(state.path("events.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


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
                    event = json.loads(line)
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
