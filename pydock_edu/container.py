"""A container's record on disk, shared by the engine and the container's shim.

``<root>/containers/<id>/config.v2.json`` holds the container in the shape ``docker inspect``
shows (Id, Name, Config, HostConfig, State, ...). Its State is changed only under the store lock,
so the shim recording an exit and the CLI stopping the container never overwrite each other.

A container's directory appears and disappears whole: it is made under a hidden name and renamed
into place once its record is written (:func:`creating`), and renamed to a hidden name before it is
deleted. So a directory without a usable record is damage (a hand edit, a disk error), not a
container being born: it is shown as ``Dead`` with the reason (:func:`damaged`), and ``rm -f``
removes it.
"""

import contextlib
import os
import re

from . import explain, state

ACTIVE = ("running", "paused", "restarting")
STATUSES = ("created", "running", "paused", "restarting", "removing", "exited", "dead")
ID_PATTERN = re.compile("[0-9a-f]{64}")
SHAPE = {
    "Id": str, "Name": str, "Created": str, "Path": str, "Args": list, "Image": str, "ImageName?": str,
    "State": {"Status": str, "Running": bool, "Paused": bool, "Pid": int, "ExitCode": int,
              "StartedAt": str, "FinishedAt": str, "Error?": str},
    "Config": {"Labels?": (dict, type(None)), "Env?": (list, type(None)), "Hostname?": str},
    "HostConfig": {"NetworkMode?": str, "AutoRemove?": bool},
    "Mounts": list, "NetworkSettings": {"Networks?": (dict, type(None)), "Ports?": (dict, type(None))},
    "Shim?": {"Pid": int, "StartTime": (int, type(None)), "BootId": str}, "AnonymousVolumes?": list,
    "RuntimeMounts?": list,
}


def directory(container_id):
    return state.path("containers", container_id)


def record_file(container_id):
    return os.path.join(directory(container_id), "config.v2.json")


def ids():
    """The IDs of the containers on disk (hidden directories are being made or removed)."""
    try:
        return [name for name in os.listdir(state.path("containers")) if ID_PATTERN.fullmatch(name)]
    except FileNotFoundError:
        return []


def load(container_id):
    """The container's record; None if it has no directory; a ``Dead`` stand-in if the record is damaged."""
    filename = record_file(container_id)
    try:
        record = state.read_json(filename)
    except state.Damaged as e:
        return damaged(container_id, e.reason)
    if record is None:
        return damaged(container_id, "config.v2.json is missing") if os.path.isdir(directory(container_id)) else None
    problem = _problem(record, container_id)
    return damaged(container_id, problem, record) if problem else record


def _problem(record, container_id):
    """Why a record read from disk cannot be used, or None."""
    from .timefmt import parse_time

    problem = state.shape_problem(record, SHAPE)
    if problem:
        return problem
    if record["Id"] != container_id or not record["Name"].startswith("/"):
        return "its Id or Name is wrong"
    if not all(isinstance(a, str) for a in record["Args"]):
        return "record.Args is not a list of strings"
    if record["State"]["Status"] not in STATUSES:
        return f"unknown State.Status {record['State']['Status']!r}"
    try:
        for text in (record["Created"], record["State"]["StartedAt"], record["State"]["FinishedAt"]):
            parse_time(text)
    except ValueError as e:
        return str(e)
    return None


def damaged(container_id, reason, found=None):
    """A ``Dead`` record standing in for one that cannot be used (keeping the readable name, image and
    command of ``found``), reported once: the container can only be inspected and removed."""
    from .timefmt import ZERO, format_time

    path = directory(container_id)
    state.report_damage(record_file(container_id), f"container {container_id[:12]} has a damaged record "
                        f"({reason}): shown as Dead; 'pydock rm -f {container_id[:12]}' removes it")
    try:
        created = format_time(os.stat(path).st_mtime)
    except OSError:
        created = ZERO
    record = {"Id": container_id, "Created": created, "Path": "", "Args": [], "Image": "", "ImageName": "",
              "Name": "", "Damaged": reason}
    found = found if isinstance(found, dict) else {}
    for key in ("Name", "Created", "Path", "Args", "Image", "ImageName"):
        if _salvageable(key, found.get(key)):
            record[key] = found[key]
    record.update({
        "State": {"Status": "dead", "Running": False, "Paused": False, "Restarting": False, "OOMKilled": False,
                  "Dead": True, "Pid": 0, "ExitCode": 0, "Error": f"damaged record: {reason}",
                  "StartedAt": ZERO, "FinishedAt": ZERO},
        "Config": {}, "HostConfig": {}, "Mounts": [], "NetworkSettings": {"Networks": {}, "Ports": {}},
        "LogPath": os.path.join(path, container_id + "-json.log"),
        "GraphDriver": {"Name": "overlay", "Data": {"UpperDir": f"{path}/diff", "WorkDir": f"{path}/work",
                                                     "MergedDir": f"{path}/merged"}},
    })
    return record


def _salvageable(key, value):
    """Whether one field of a damaged record can still be shown."""
    from .timefmt import parse_time

    if key == "Args":
        return isinstance(value, list) and all(isinstance(a, str) for a in value)
    if not isinstance(value, str):
        return False
    if key == "Created":
        try:
            parse_time(value)
        except ValueError:
            return False
    return key != "Name" or value.startswith("/")


def save(record, path=None):
    """Write the record (into ``path`` instead of its directory while :func:`creating` it)."""
    state.write_json(os.path.join(path, "config.v2.json") if path else record_file(record["Id"]), record)


@contextlib.contextmanager
def creating(container_id):
    """Make the container's directory whole or not at all: the block fills a hidden directory (its path
    is given), which is renamed into place when the block succeeds and deleted when it fails. Called
    under the store lock, which also makes any other hidden ``.new-`` directory a leftover of a killed
    process, removed here (as is a ``.rm-`` directory that a killed ``rm`` left)."""
    import shutil

    parent = state.path("containers")
    for name in os.listdir(parent):
        if name.startswith((".new-", ".rm-")):  # left by a killed create or rm
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
    hidden = os.path.join(parent, ".new-" + container_id)
    try:
        with state.writing():
            os.mkdir(hidden, 0o700)
            yield hidden
            os.rename(hidden, directory(container_id))
    except BaseException:
        shutil.rmtree(hidden, ignore_errors=True)
        raise


def update(container_id, change):
    """Apply ``change(record)`` to the stored record under the lock; return the new record.

    A damaged record is returned as its stand-in, never written over."""
    with state.locked():
        record = load(container_id)
        if record is None or record.get("Damaged"):
            return record
        change(record)
        save(record)
        return record


def attach_socket(container_id):
    """Where the shim listens for ``attach`` clients (short: unix socket paths are limited)."""
    return state.path("run", container_id[:32] + ".sock")


def remove_files(container_id):
    """Delete the container's directory: its writable layer, logs and record; for a ``--rm``
    container, also its anonymous volumes that no other container uses, as Docker does."""
    import shutil

    record = load(container_id)
    if os.path.exists(attach_socket(container_id)):
        os.unlink(attach_socket(container_id))
    explain.step("file", f"rm -r {directory(container_id)} (the writable layer, the log, the record)")
    doomed = os.path.join(state.path("containers"), ".rm-" + container_id)
    try:
        os.rename(directory(container_id), doomed)  # gone from listings at once, whatever rmtree meets
    except FileNotFoundError:
        return
    except OSError:
        doomed = directory(container_id)
    shutil.rmtree(doomed, ignore_errors=True)
    if record and record["HostConfig"].get("AutoRemove") and record.get("AnonymousVolumes"):
        from .volume.store import Volumes

        Volumes().remove_anonymous(record)
