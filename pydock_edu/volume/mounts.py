"""A container's mounts: what ``-v``, ``--mount``, ``--tmpfs``, ``--volumes-from`` and the image's
``VOLUME`` paths become when the container is created.

Three fields go into the container's record:

- ``Mounts``, as ``docker inspect`` shows them: Type, Name, Source, Destination, Driver, Mode, RW,
  Propagation (``--tmpfs`` mounts are not listed, as in Docker).
- ``RuntimeMounts``, what the container's init mounts over its root filesystem (see
  :func:`pydock_edu.runtime.rootfs.mount_volume`): ``{"type": "bind", "source": host path, "target":
  container path, "readonly": bool}`` plus ``"populate"`` for a volume and ``"make_source"`` for a bind
  mount of a host path, or ``{"type": "tmpfs", "target", "options", "readonly", "noexec"}``; shallowest
  target first, so that a mount inside a volume lands on it.
- ``AnonymousVolumes``, the anonymous volumes the container uses, which ``rm -v`` may delete.

Requests apply in Docker's order: the mounts of ``--volumes-from`` containers first, then ``-v`` and
``--mount`` (which replace those at the same path, but may not repeat a path among themselves),
then ``--tmpfs``, and last an anonymous volume for each ``VOLUME`` path still free. A volume is
filled with the image's files at its path when the container first mounts it empty
(``populate``; not with ``nocopy``, and not for volumes taken over with ``--volumes-from``).
"""

import os

from .. import explain
from ..errors import InvalidArgument, NotFound
from ..runtime import linux
from . import local, specs
from .store import check_driver, validate_name


def container_mounts(engine, host, config):
    """Check every mount request of a new container, then create the volumes they need; return the
    record fields ``Mounts``, ``RuntimeMounts`` and ``AnonymousVolumes``.

    ``host`` (the HostConfig) is rewritten in the Engine API's shapes: ``Binds`` with relative sources
    made absolute, ``Mounts`` as mount specs, ``Tmpfs`` as a dict; an anonymous ``-v /path`` moves to
    ``config["Volumes"]``, as Docker's CLI does.
    """
    plan = _Plan()
    for text in host.get("VolumesFrom") or []:
        plan.volumes_from(engine, text)
    if "Binds" in host:
        host["Binds"] = [b for b in (plan.bind(text, config) for text in host["Binds"] or []) if b]
    if "Mounts" in host:
        host["Mounts"] = [plan.mount(item) for item in host["Mounts"] or []]
    if "Tmpfs" in host:
        tmpfs = host["Tmpfs"] or {}
        pairs = tmpfs.items() if isinstance(tmpfs, dict) else map(specs.parse_tmpfs_flag, tmpfs)
        host["Tmpfs"] = {target: plan.tmpfs(target, options) for target, options in pairs}
    for path in sorted(config.get("Volumes") or {}):
        plan.image_volume(path)
    return plan.make(engine.volumes)


def prepare_bind_source(entry):
    """Before start: a ``-v`` bind source that does not exist is made (a directory), as Docker does;
    for ``--mount`` it is an error."""
    source = entry.get("source")
    if "make_source" not in entry or os.path.exists(source):
        return  # not a bind mount of a host path (a volume or a tmpfs), or its source is there
    if not entry.get("make_source"):
        raise InvalidArgument(f'invalid mount config for type "bind": bind source path does not exist: {source}')
    explain.step("volume", f"mkdir -p {source} (a -v bind source that did not exist)")
    if not linux.RECORD_ONLY:
        os.makedirs(source, 0o755)


def mount_points(record):
    """The container paths that something is mounted on (volumes, bind mounts, tmpfs).

    Their contents never reach the container's upper layer, but the empty directories made there to
    mount on do: ``container diff`` and ``commit`` leave these paths, and everything below them, out.
    """
    return [m["target"] for m in record.get("RuntimeMounts") or []]


class _Plan:
    """The mounts of one new container, by container path, checked before anything is made."""

    def __init__(self):
        self.points = {}  # target -> {"mount": inspect entry, "runtime": entry, "volume": request, ...}
        self.requested = set()  # targets of -v and --mount, which may not repeat

    def _claim(self, target):
        if target in self.requested:
            raise InvalidArgument(f"Duplicate mount point: {target}")
        self.requested.add(target)

    def volumes_from(self, engine, text):
        """The mounts of another container, at the same paths; ``:ro`` makes them all read-only."""
        ref, readonly = specs.parse_volumes_from(text)
        try:
            other = engine.container(ref)  # refused if its record is damaged
        except NotFound as e:
            raise NotFound(str(e)) from None
        runtime = {m["target"]: m for m in other.get("RuntimeMounts") or []}
        for m in other.get("Mounts") or []:
            rw = m["RW"] and not readonly
            entry = {key: value for key, value in runtime[m["Destination"]].items() if key != "populate"}
            self.points[m["Destination"]] = {
                "mount": dict(m, Mode="", RW=rw), "runtime": dict(entry, readonly=not rw),
                "anonymous": m.get("Name") if m.get("Name") in (other.get("AnonymousVolumes") or []) else None}

    def bind(self, text, config):
        """One ``-v``; return it as HostConfig.Binds keeps it (None for an anonymous volume)."""
        spec = specs.parse_volume_flag(text)
        target, readonly, mode = specs.clean_path(spec["Target"]), spec["ReadOnly"], spec["Mode"]
        if not spec["Source"]:
            config.setdefault("Volumes", {})[spec["Target"]] = {}
            return None
        self._claim(target)
        if spec["Type"] == "bind":
            propagation = (spec.get("BindOptions") or {}).get("Propagation") or "rprivate"
            self.points[target] = _bind_point(spec["Source"], target, mode, readonly, propagation, make_source=True)
        else:
            validate_name(spec["Source"])
            nocopy = (spec.get("VolumeOptions") or {}).get("NoCopy")
            self.points[target] = _volume_point(spec["Source"], target, mode or "z", readonly, not nocopy)
        return ":".join([spec["Source"], spec["Target"]] + ([mode] if mode else []))

    def mount(self, item):
        """One ``--mount`` (its text, or an Engine API mount spec); return the mount spec."""
        spec = specs.parse_mount_flag(item) if isinstance(item, str) else dict(item)
        specs.validate(spec, bind_source_must_exist=True)
        target, readonly = specs.clean_path(spec["Target"]), bool(spec.get("ReadOnly"))
        self._claim(target)
        if spec["Type"] == "bind":
            propagation = (spec.get("BindOptions") or {}).get("Propagation") or "rprivate"
            self.points[target] = _bind_point(spec["Source"], target, "", readonly, propagation)
        elif spec["Type"] == "volume":
            options = spec.get("VolumeOptions") or {}
            driver = options.get("DriverConfig") or {}
            name = spec.get("Source") or None
            check_driver(name or "", driver.get("Name") or "local")
            if name:
                validate_name(name)
                local.validate(name, driver.get("Options") or {})
            self.points[target] = _volume_point(name, target, "z", readonly, not options.get("NoCopy"),
                                                options.get("Labels"), driver.get("Options"))
        else:
            entry = specs.tmpfs_mount(specs.tmpfs_options(spec.get("TmpfsOptions")), readonly)
            self.points[target] = {
                "mount": {"Type": "tmpfs", "Source": "", "Destination": target, "Mode": "", "RW": not readonly,
                          "Propagation": ""},
                "runtime": dict(entry, type="tmpfs", target=target)}
        return spec

    def tmpfs(self, target, options):
        """One ``--tmpfs PATH[:OPTIONS]``: a fresh tmpfs, replacing a volume taken over at that path."""
        specs.check_container_path(target)
        target = specs.clean_path(target)
        self._claim(target)
        self.points[target] = {"mount": None, "runtime": dict(specs.tmpfs_mount(options), type="tmpfs",
                                                                target=target)}
        return options

    def image_volume(self, path):
        """A ``VOLUME`` of the image (or ``-v /path``): an anonymous volume, unless the path is taken."""
        specs.check_container_path(path)
        target = specs.clean_path(path)
        if target not in self.points:
            self.points[target] = _volume_point(None, target, "", False, True)

    def make(self, volumes):
        """Create the volumes the plan needs (new named ones and anonymous ones); return the record fields.
        If one cannot be made, the anonymous ones made before it are deleted again."""
        made = []
        for point in self.points.values():
            request = point.pop("volume", None)
            if request:
                try:
                    volume = volumes.create(request["name"], labels=request["labels"], options=request["options"],
                                            anonymous=request["name"] is None)
                except BaseException:
                    volumes.discard_anonymous("", made)
                    raise
                point["mount"].update(Name=volume["Name"], Source=volume["Mountpoint"])
                point["runtime"]["source"] = volume["Mountpoint"]
                if request["name"] is None:
                    point["anonymous"] = volume["Name"]
                    made.append(volume["Name"])
        points = list(self.points.values())
        by_depth = sorted(points, key=lambda p: p["runtime"]["target"].count("/"))
        return {"Mounts": [p["mount"] for p in points if p["mount"]],
                "RuntimeMounts": [p["runtime"] for p in by_depth],
                "AnonymousVolumes": [p["anonymous"] for p in points if p.get("anonymous")]}


def _bind_point(source, target, mode, readonly, propagation, make_source=False):
    """A host path at ``target``; with ``make_source`` (``-v``) a missing source is made at start."""
    return {"mount": {"Type": "bind", "Source": source, "Destination": target, "Mode": mode, "RW": not readonly,
                      "Propagation": propagation},
            "runtime": {"type": "bind", "source": source, "target": target, "readonly": readonly,
                        "make_source": make_source}}


def _volume_point(name, target, mode, readonly, populate, labels=None, options=None):
    """A volume at ``target``: ``name`` None means a new anonymous one. Its host path is known once made."""
    return {"mount": {"Type": "volume", "Name": name, "Source": "", "Destination": target, "Driver": "local",
                      "Mode": mode, "RW": not readonly, "Propagation": ""},
            "runtime": {"type": "bind", "source": "", "target": target, "readonly": readonly, "populate": populate},
            "volume": {"name": name, "labels": labels, "options": options}}
