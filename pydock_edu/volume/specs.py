"""Reading mount requests: ``-v``/``--volume``, ``--mount``, ``--tmpfs`` and ``--volumes-from``.

Each request becomes a *mount spec* shaped like an entry of the Engine API's ``HostConfig.Mounts``:
``Type`` (``bind``, ``volume`` or ``tmpfs``), ``Source``, ``Target``, ``ReadOnly`` and the options of its
type. Errors carry Docker's messages: the CLI's when a ``--mount`` value cannot be read, the daemon's
when a request is refused.
"""

import os
import posixpath

from ..errors import InvalidArgument

RW_MODES = ("rw", "ro")
LABEL_MODES = ("z", "Z")
PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
COPY_MODES = ("nocopy",)
CONSISTENCY_MODES = ("consistent", "cached", "delegated")
MODE_KINDS = (RW_MODES, LABEL_MODES, PROPAGATIONS, COPY_MODES, CONSISTENCY_MODES)

# tmpfs options that are mount(2) flags rather than tmpfs data: the flag each one sets.
TMPFS_FLAGS = {"ro": ("readonly", True), "rw": ("readonly", False),
               "noexec": ("noexec", True), "exec": ("noexec", False)}
ALWAYS_SET = ("nosuid", "nodev")  # the runtime mounts every tmpfs nosuid,nodev


def valid_mode(mode):
    """Docker's mode check: comma-separated words, at most one of each kind (rw/ro, z/Z, ...)."""
    if not mode:
        return True
    counts = [0] * len(MODE_KINDS)
    for word in mode.split(","):
        kinds = [i for i, kind in enumerate(MODE_KINDS) if word in kind]
        if not kinds:
            return False
        counts[kinds[0]] += 1
    return max(counts) <= 1


def _mode_word(mode, kind):
    return next((word for word in mode.split(",") if word in kind), "")


def clean_path(path):
    """A container path as Docker keeps it: ``/data/`` and ``//data`` become ``/data``."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("/") else cleaned


def from_current_directory(source):
    """A source given as ``.``, ``./dir``, ``..`` or ``../dir``, made absolute against the current
    directory, as Docker's CLI does before it sends the request."""
    if source in (".", "..") or source.startswith(("./", "../")):
        return os.path.abspath(source)
    return source


def parse_volume_flag(text):
    """``-v [SOURCE:]TARGET[:MODE]``: a bind mount when SOURCE is a path, else a named volume;
    no SOURCE means an anonymous volume. ``Mode`` keeps the mode as written."""
    parts = text.split(":")
    if len(parts) > 3 or "" in parts:
        raise InvalidArgument(f"invalid volume specification: '{text}'")
    mode = ""
    if len(parts) == 1:
        source, target = "", parts[0]
    elif len(parts) == 2:
        if valid_mode(parts[1]):  # "/data:ro": a mode needs a source
            raise InvalidArgument(f"invalid volume specification: '{text}'")
        source, target = parts
    else:
        source, target, mode = parts
    if not valid_mode(mode):
        raise InvalidArgument(f"invalid mode: {mode}")
    source = from_current_directory(source)
    spec = {"Type": "bind" if source.startswith("/") else "volume", "Source": source, "Target": target,
            "ReadOnly": _mode_word(mode, RW_MODES) == "ro", "Mode": mode}
    propagation = _mode_word(mode, PROPAGATIONS)
    if propagation:
        spec["BindOptions"] = {"Propagation": propagation}
    if "nocopy" in mode.split(","):
        spec["VolumeOptions"] = {"NoCopy": True}
    try:
        validate(spec, bind_source_must_exist=False)
    except InvalidArgument as e:
        raise InvalidArgument(f"invalid volume specification: '{text}': {e}") from None
    return spec


def parse_mount_flag(text):
    """``--mount type=bind|volume|tmpfs,source=...,target=...[,readonly][,...]`` (CSV, as Docker's CLI
    reads it) into an Engine API mount spec."""
    try:
        return _read_mount_fields(text)
    except ValueError as e:
        raise InvalidArgument(f'invalid argument "{text}" for "--mount" flag: {e}') from None


def _read_mount_fields(text):
    import csv

    fields = next(csv.reader([text]), [])
    spec = {"Type": "volume"}

    def options(kind):
        return spec.setdefault(kind, {})

    for field in fields:
        key, has_value, value = field.partition("=")
        key = key.lower()
        if not has_value:
            if key in ("readonly", "ro"):
                spec["ReadOnly"] = True
            elif key == "volume-nocopy":
                options("VolumeOptions")["NoCopy"] = True
            else:
                raise ValueError(f"invalid field '{field}' must be a key=value pair")
        elif key == "type":
            spec["Type"] = value.lower()
        elif key in ("source", "src"):
            spec["Source"] = from_current_directory(value)
        elif key in ("target", "dst", "destination"):
            spec["Target"] = value
        elif key in ("readonly", "ro"):
            spec["ReadOnly"] = _parse_bool(key, value)
        elif key == "consistency":
            spec["Consistency"] = value
        elif key == "bind-propagation":
            options("BindOptions")["Propagation"] = value.lower()
        elif key == "volume-nocopy":
            options("VolumeOptions")["NoCopy"] = _parse_bool(key, value)
        elif key == "volume-label":
            label, _, label_value = value.partition("=")
            options("VolumeOptions").setdefault("Labels", {})[label] = label_value
        elif key == "volume-driver":
            options("VolumeOptions").setdefault("DriverConfig", {})["Name"] = value
        elif key == "volume-opt":
            name, _, option_value = value.partition("=")
            driver = options("VolumeOptions").setdefault("DriverConfig", {})
            driver.setdefault("Options", {})[name] = option_value
        elif key == "tmpfs-size":
            options("TmpfsOptions")["SizeBytes"] = _parse_size(key, value)
        elif key == "tmpfs-mode":
            try:
                options("TmpfsOptions")["Mode"] = int(value, 8)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {value}") from None
        else:
            raise ValueError(f"unexpected key '{key}' in '{field}'")
    if not spec["Type"]:
        raise ValueError("type is required")
    if not spec.get("Target"):
        raise ValueError("target is required")
    for kind, prefix in (("VolumeOptions", "volume"), ("BindOptions", "bind"), ("TmpfsOptions", "tmpfs")):
        if kind in spec and spec["Type"] != prefix:
            raise ValueError(f"cannot mix '{prefix}-*' options with mount type '{spec['Type']}'")
    return spec


def _parse_bool(key, value):
    lowered = value.lower()
    if lowered in ("1", "t", "true"):
        return True
    if lowered in ("0", "f", "false"):
        return False
    raise ValueError(f"invalid value for {key}: {value}")


def _parse_size(key, value):
    from ..cli.table import parse_size

    try:
        return parse_size(value)
    except InvalidArgument:
        raise ValueError(f"invalid value for {key}: {value}") from None


def validate(spec, bind_source_must_exist):
    """The daemon's checks of a mount spec (Docker's ``invalid mount config`` errors)."""
    kind = spec["Type"]

    def refuse(reason):
        raise InvalidArgument(f'invalid mount config for type "{kind}": {reason}')

    target, source = spec.get("Target") or "", spec.get("Source") or ""
    if not target:
        refuse("field Target must not be empty")
    try:
        check_container_path(target)
    except InvalidArgument as e:
        refuse(e)
    if kind == "bind":
        if not source:
            refuse("field Source must not be empty")
        if "VolumeOptions" in spec:
            refuse("field VolumeOptions must not be specified")
        if not source.startswith("/"):
            refuse(f"invalid mount path: '{source}' mount path must be absolute")
        if bind_source_must_exist and not os.path.exists(source):
            refuse(f"bind source path does not exist: {source}")
    elif kind == "volume":
        if spec.get("BindOptions"):
            refuse("field BindOptions must not be specified")
        if not source and spec.get("ReadOnly"):
            refuse("must not set ReadOnly mode when using anonymous volumes")
    elif kind == "tmpfs":
        if source:
            refuse("field Source must not be specified")
    else:
        refuse("mount type unknown")


def check_container_path(path):
    """A mount's destination must be absolute and must not be ``/`` itself."""
    if clean_path(path) == "/":
        raise InvalidArgument("invalid specification: destination can't be '/'")
    if not path.startswith("/"):
        raise InvalidArgument(f"invalid mount path: '{path}' mount path must be absolute")


def parse_tmpfs_flag(text):
    """``--tmpfs /path[:options]``: (target, options as written)."""
    target, _, options = text.partition(":")
    check_container_path(target)
    return clean_path(target), options


def tmpfs_mount(options, readonly=False):
    """Split tmpfs options into the runtime's flags and the data string tmpfs itself reads
    (``size=64m,mode=1777``); every tmpfs is ``noexec`` unless ``exec`` is asked for, as in Docker."""
    entry = {"readonly": readonly, "noexec": True}
    data = []
    for word in filter(None, options.split(",")):
        if word in TMPFS_FLAGS:
            key, value = TMPFS_FLAGS[word]
            entry[key] = value
        elif word not in ALWAYS_SET:
            data.append(word)
    entry["options"] = ",".join(data)
    return entry


def tmpfs_options(tmpfs):
    """The ``--mount type=tmpfs`` options (TmpfsOptions) written as tmpfs data, as Docker does:
    ``size`` with the largest binary suffix that divides it, ``mode`` in octal."""
    words = []
    size = (tmpfs or {}).get("SizeBytes") or 0
    if size:
        suffix = ""
        for unit in "kmg":
            if size % 1024:
                break
            size //= 1024
            suffix = unit
        words.append(f"size={size}{suffix}")
    if (tmpfs or {}).get("Mode"):
        words.append(f"mode={tmpfs['Mode']:o}")
    return ",".join(words)


def parse_volumes_from(text):
    """``--volumes-from CONTAINER[:ro|:rw]``: (container, read-only?)."""
    if not text:
        raise InvalidArgument("volumes-from specification cannot be an empty string")
    ref, _, mode = text.partition(":")
    if mode and (not valid_mode(mode) or _mode_word(mode, PROPAGATIONS) or "nocopy" in mode.split(",")):
        raise InvalidArgument(f"invalid mode: {mode}")
    return ref, _mode_word(mode, RW_MODES) == "ro"

