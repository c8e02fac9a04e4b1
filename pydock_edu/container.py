"""A container's record on disk, shared by the engine and the container's shim.

``<root>/containers/<id>/config.v2.json`` holds the container in the shape ``docker inspect``
shows (Id, Name, Config, HostConfig, State, ...). Its State is changed only under the store lock,
so the shim recording an exit and the CLI stopping the container never overwrite each other.
"""

import os

from . import explain, state

ACTIVE = ("running", "paused", "restarting")


def directory(container_id):
    return state.path("containers", container_id)


def record_file(container_id):
    return os.path.join(directory(container_id), "config.v2.json")


def load(container_id):
    return state.read_json(record_file(container_id))


def save(record):
    state.write_json(record_file(record["Id"]), record)


def update(container_id, change):
    """Apply ``change(record)`` to the stored record under the lock; return the new record."""
    with state.locked():
        record = load(container_id)
        if record is None:
            return None
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
    shutil.rmtree(directory(container_id), ignore_errors=True)
    if record and record["HostConfig"].get("AutoRemove") and record.get("AnonymousVolumes"):
        from .volume.store import Volumes

        Volumes().remove_anonymous(record)
