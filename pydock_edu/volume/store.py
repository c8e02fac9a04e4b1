"""The volume store: a volume is a directory on the host, ``<root>/volumes/<name>/_data``.

``<root>/volumes/<name>/volume.json`` holds its name, driver, labels, options and creation time;
``volume inspect`` adds its ``Mountpoint``, the ``_data`` directory that containers bind-mount.
Volume records change under ``<root>/volumes.lock``. Whether a volume is in use is read from the
container records (their ``Mounts``), so deleting a volume also holds the engine's own lock: no
container can be created with the volume while it is being deleted.

A volume's directory appears and disappears whole: it is made under a hidden name (``.new-<random>``)
and renamed into place once its record is written, and renamed to ``.rm-<random>`` before it is
deleted. A volume directory whose record is missing or damaged is listed (reported once), and can be
removed.

Deleting never follows a symbolic link out of the volume (``shutil.rmtree`` works on directory file
descriptors and unlinks symlinks instead of following them), and never deletes through a mount:
the volume's own filesystem (``-o device=...``) is unmounted first, and any other mount below the
volume makes the deletion fail.
"""

import os
import re
import time

from .. import container, events, explain, state
from ..errors import Conflict, InvalidArgument, NotFound, PydockError
from . import local

NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
NAME_PATTERN = re.compile(f"{NAME_CHARS}+")
ANONYMOUS = "com.docker.volume.anonymous"  # the label Docker puts on anonymous volumes
FILTERS = ("dangling", "name", "label", "driver")
MAX_NAME = 255  # a directory name
SHAPE = {"Name": str, "Driver": str, "Labels": dict, "Options": dict, "CreatedAt": str, "Scope": str}


def validate_name(name):
    """A volume name is a directory name: ``[a-zA-Z0-9][a-zA-Z0-9_.-]+``, so no ``/`` and no ``..``,
    and at most NAME_MAX (255) bytes."""
    if len(name) > MAX_NAME:
        raise InvalidArgument(f"create {name[:32]}...: volume name is too long ({len(name)} characters, "
                              f"at most {MAX_NAME} are allowed)")
    if len(name) == 1:
        raise InvalidArgument(f"create {name}: volume name is too short, names should be at least two "
                              "alphanumeric characters")
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidArgument(f'create {name}: "{name}" includes invalid characters for a local volume name, '
                              f'only "{NAME_CHARS}" are allowed. If you intended to pass a host directory, '
                              "use absolute path")


def check_driver(name, driver):
    if driver != "local":
        raise NotFound(f'create {name}: error looking up volume plugin {driver}: plugin "{driver}" not found')


def is_anonymous(volume):
    return ANONYMOUS in (volume.get("Labels") or {})


class Volumes:
    """The volume subsystem's API: create, list, inspect and remove volumes; prepare a container's
    mounts before it starts, report them when it stops, delete its anonymous volumes with it."""

    def __init__(self):
        self.root = state.path("volumes")

    def directory(self, name):
        return os.path.join(self.root, name)

    def mountpoint(self, name):
        return os.path.join(self.root, name, "_data")

    # The volumes themselves

    def create(self, name=None, driver="local", labels=None, options=None, anonymous=False):
        """``volume create``: the volume's directory and record. An existing volume is returned as it is;
        without a name the volume gets a random one (and with ``anonymous``, Docker's anonymous label)."""
        name = name or os.urandom(32).hex()
        check_driver(name, driver)
        validate_name(name)
        options = dict(options or {})
        local.validate(name, options)
        labels = dict(labels or {}, **({ANONYMOUS: ""} if anonymous else {}))
        with self._locked():
            existing = self._load(name)
            if existing:
                return self._view(existing)
            record = {"Name": name, "Driver": driver, "Labels": labels, "Options": options,
                      "CreatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "Scope": "local"}
            explain.step("volume", f"mkdir {self.mountpoint(name)}")
            self._sweep()
            hidden = os.path.join(self.root, ".new-" + os.urandom(8).hex())
            try:
                with state.writing():
                    os.makedirs(self.root, mode=0o701, exist_ok=True)
                    os.mkdir(hidden, 0o755)
                    os.mkdir(os.path.join(hidden, "_data"), 0o755)
                    state.write_json(os.path.join(hidden, "volume.json"), record)
                    os.rename(hidden, self.directory(name))  # the volume appears whole, or not at all
            except BaseException:
                self._sweep()
                raise
        events.emit("volume", "create", name, {"driver": driver})
        return self._view(record)

    def inspect(self, name):
        """A volume as ``volume inspect`` shows it."""
        record = self._load(name)
        if record is None:
            raise NotFound(f"get {name}: no such volume", 1)
        return self._view(record)

    def list(self, filters=()):
        """``volume ls``: every volume (``-f dangling=true|false``, ``name=``, ``label=``, ``driver=``),
        in natural order of names."""
        wanted = [f.partition("=")[::2] for f in filters]
        for key, value in wanted:
            if key not in FILTERS or key == "dangling" and value not in ("true", "false", "1", "0"):
                raise InvalidArgument(f"invalid filter '{key}={value}'" if key == "dangling" else
                                      f"invalid filter '{key}'")
        used = self._used_names()
        volumes = [self._view(r) for r in self._records()
                   if all(_matches(r, key, value, r["Name"] in used) for key, value in wanted)]
        return sorted(volumes, key=lambda v: _natural_key(v["Name"]))

    def users(self, name, exclude=None):
        """IDs of the containers (running or not) that mount the volume."""
        return [r["Id"] for r in _container_records() if r["Id"] != exclude and
                any(m.get("Type") == "volume" and m.get("Name") == name for m in r.get("Mounts") or [])]

    def remove(self, name, force=False):
        """``volume rm``: refused while a container uses the volume; ``force`` ignores a missing one."""
        with state.locked(), self._locked():
            record = self._load(name)
            if record is None:
                if force:
                    return
                raise NotFound(f"get {name}: no such volume", 1)
            users = self.users(name)
            if users:
                raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]", 1)
            self._delete(record)
        events.emit("volume", "destroy", name, {"driver": record["Driver"]})

    def prune(self, all_volumes=False, filters=()):
        """``volume prune``: remove the anonymous volumes no container uses (every unused volume with
        ``all_volumes``, only those with the given ``label=`` filters); return (names, bytes reclaimed)."""
        wanted = [f.partition("=")[::2] for f in filters]
        for key, _ in wanted:
            if key != "label":
                raise InvalidArgument(f"invalid filter '{key}'")
        removed, reclaimed = [], 0
        with state.locked(), self._locked():
            used = self._used_names()
            for record in self._records():
                if record["Name"] in used or not (all_volumes or is_anonymous(record)):
                    continue
                if not all(_matches(record, key, value, False) for key, value in wanted):
                    continue
                reclaimed += _disk_usage(self.mountpoint(record["Name"]))
                self._delete(record)
                removed.append(record)
        for record in removed:
            events.emit("volume", "destroy", record["Name"], {"driver": record["Driver"]})
        return [r["Name"] for r in removed], reclaimed

    # Volumes of containers

    def mount_for(self, record):
        """Before a container starts: make its missing ``-v`` bind sources, mount each of its volumes'
        filesystems on first use (local driver options) and report the mount (``volume mount``)."""
        from .mounts import prepare_bind_source

        for entry in record.get("RuntimeMounts") or []:
            prepare_bind_source(entry)
        for m in record.get("Mounts") or []:
            if m["Type"] != "volume":
                continue
            with self._locked():
                volume = self._load(m["Name"])
                if volume:
                    local.mount(volume["Options"] or {}, self.mountpoint(m["Name"]))
            events.emit("volume", "mount", m["Name"], {
                "container": record["Id"], "destination": m["Destination"], "driver": m["Driver"],
                "propagation": m["Propagation"], "read/write": "true" if m["RW"] else "false"})

    def unmount_for(self, record):
        """After a container stops: report that it no longer holds its volumes (``volume unmount``)."""
        for m in record.get("Mounts") or []:
            if m["Type"] == "volume":
                events.emit("volume", "unmount", m["Name"], {"container": record["Id"], "driver": m["Driver"]})

    def remove_anonymous(self, record):
        """``rm -v`` and ``--rm``: delete the container's anonymous volumes (its own and those it got
        through ``--volumes-from``) that no other container uses. Named volumes always stay."""
        with state.locked():
            self.discard_anonymous(record["Id"], record.get("AnonymousVolumes") or [])

    def discard_anonymous(self, container_id, names):
        """Delete the anonymous volumes ``names`` of the container that no other container uses (the
        caller holds the engine's lock): after ``rm -v``, or a create that failed."""
        removed = []
        with self._locked():
            for name in names:
                volume = self._load(name)
                if volume and not self.users(name, exclude=container_id):
                    self._delete(volume)
                    removed.append(volume)
        for volume in removed:
            events.emit("volume", "destroy", volume["Name"], {"driver": volume["Driver"]})

    # On disk

    def _locked(self):
        return state.locked("volumes.lock")

    def _load(self, name):
        """The volume's record; None if there is no such volume; a stand-in if its record is damaged."""
        if not NAME_PATTERN.fullmatch(name or "") or len(name) > MAX_NAME:
            return None  # never a path: "../x" or "a/b" name no volume
        filename = os.path.join(self.directory(name), "volume.json")
        try:
            record = state.read_json(filename)
            problem = None if record is None else state.shape_problem(record, SHAPE)
            if record is not None and not problem and record["Name"] != name:
                problem = "its Name is wrong"
        except state.Damaged as e:
            record, problem = {}, e.reason
        if record is None:
            if not os.path.isdir(self.directory(name)):
                return None
            problem = "volume.json is missing"
        if problem:
            state.report_damage(filename, f"volume {name}: damaged record {filename} ({problem}): "
                                          f"listed without its options; 'pydock volume rm {name}' removes it")
            return {"Name": name, "Driver": "local", "Labels": {}, "Options": {}, "CreatedAt": "", "Scope": "local"}
        return record

    def _sweep(self):
        """Delete the hidden directories that a killed create or remove left (under the volumes lock,
        which every create and remove holds: no other process is using them)."""
        import shutil

        for name in os.listdir(self.root) if os.path.isdir(self.root) else []:
            if name.startswith((".new-", ".rm-")):
                shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)

    def _records(self):
        names = os.listdir(self.root) if os.path.isdir(self.root) else []
        return [r for r in map(self._load, names) if r]

    def _used_names(self):
        return {m.get("Name") for r in _container_records() for m in r.get("Mounts") or []
                if m.get("Type") == "volume"}

    def _view(self, record):
        """The ``volume inspect`` shape, keys in Docker's order."""
        return {"CreatedAt": record["CreatedAt"], "Driver": record["Driver"], "Labels": record["Labels"],
                "Mountpoint": self.mountpoint(record["Name"]), "Name": record["Name"],
                "Options": record["Options"], "Scope": record["Scope"]}

    def _delete(self, record):
        """Unmount the volume's filesystem, then delete its directory without following symlinks."""
        import shutil

        name = record["Name"]
        directory = self.directory(name)
        local.unmount(self.mountpoint(name))
        mounted = local.mounts_below(directory)
        if mounted:
            raise PydockError(f"remove {name}: {mounted[0]} is a mount point", 1)
        explain.step("volume", f"rm -r {directory} (symbolic links inside are removed, never followed)")
        doomed = os.path.join(self.root, ".rm-" + os.urandom(8).hex())
        os.rename(directory, doomed)  # the volume disappears whole, whatever rmtree then meets
        shutil.rmtree(doomed, ignore_errors=True)


def _container_records():
    return [r for r in map(container.load, container.ids()) if r]


def _matches(volume, key, value, used):
    if key == "dangling":
        return used != (value in ("true", "1"))
    if key == "name":
        return value in volume["Name"]
    if key == "driver":
        return volume["Driver"] == value
    label, has_value, label_value = value.partition("=")
    labels = volume.get("Labels") or {}
    return label in labels and (not has_value or labels[label] == label_value)


def _natural_key(name):
    """Sort key that puts ``vol2`` before ``vol10``, as Docker's lists do."""
    return [int(chunk) if chunk.isdigit() else chunk for chunk in re.split(r"(\d+)", name)]


def _disk_usage(path):
    """Bytes of the regular files below ``path`` (symlinks not followed)."""
    import stat

    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            info = os.lstat(os.path.join(directory, name))
            total += info.st_size if stat.S_ISREG(info.st_mode) else 0
    return total
