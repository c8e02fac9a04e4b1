"""The image config: the JSON document whose sha256 is an image's ID, checked before pydock trusts it.

A config comes from the OCI image spec (or Docker's older copy of it)::

    {"created": "2024-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
     "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"], "Labels": {...}, "Volumes": {...}, ...},
     "rootfs": {"type": "layers", "diff_ids": ["sha256:...", ...]},
     "history": [{"created": "...", "created_by": "...", "empty_layer": true}, ...]}

Configs arrive from archives (``load``), registries (``pull``) and the engine itself (``build``,
``commit``, ``import``); every one passes :func:`parse` on its way into the store, and again when
it is read back (a state file may have been damaged since). :func:`parse` refuses a document whose
fields have the wrong types (``"Cmd": 5``, ``"history": "x"``), a layer digest that is not a
digest, a time that is not RFC 3339; it keeps fields it does not know, as Docker does; it returns
the document with the optional parts filled in (``config`` ``{}``, ``history`` ``[]``, ``created``
None when the image does not say), so readers need no checks of their own. The stored bytes stay
as they came: they are what the image ID is the digest of.
"""

import json
import re

from ..errors import PydockError
from . import digest

STRINGS = ("author", "architecture", "os", "variant", "comment", "docker_version", "container", "os.version")
CONFIG_STRINGS = ("User", "WorkingDir", "StopSignal", "Hostname", "Domainname", "Image", "MacAddress")
CONFIG_BOOLS = ("Tty", "OpenStdin", "StdinOnce", "AttachStdin", "AttachStdout", "AttachStderr", "ArgsEscaped",
                "NetworkDisabled")
CONFIG_WORD_LISTS = ("Env", "Entrypoint", "Cmd", "OnBuild", "Shell")
CONFIG_SETS = ("ExposedPorts", "Volumes")  # {key: {}}, Go's map[string]struct{}
HEALTH_DURATIONS = ("Interval", "Timeout", "StartPeriod", "StartInterval")
HISTORY_STRINGS = ("created_by", "author", "comment")
PORT = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?(?:/(tcp|udp|sctp))?")


class InvalidImageConfig(PydockError):
    """An image config that pydock will not store or use (the request fails: exit 1)."""

    exit_code = 1


def parse(data, what="image config"):
    """The config in ``data`` (bytes) as a checked, completed dict; ``what`` names it in errors."""
    try:
        document = json.loads(data)
    except (ValueError, TypeError) as e:
        raise InvalidImageConfig(f"invalid {what}: not JSON ({e})") from None
    return check(document, what)


def check(document, what="image config"):
    """A checked, completed copy of the config ``document`` (a dict), or :class:`InvalidImageConfig`."""
    problem = _Checker(what)
    if not isinstance(document, dict):
        problem("the document", "must be a JSON object")
    checked = dict(document)
    for key in STRINGS:
        _optional(checked, key, str, "a string", problem)
    checked["created"] = _time(checked.get("created"), "created", problem)
    checked["config"] = _container_config(checked.get("config"), problem)
    rootfs = checked.get("rootfs")
    if not isinstance(rootfs, dict):
        problem("rootfs", "is missing (it names the image's layers)")
    if rootfs.get("type") != "layers":
        problem("rootfs.type", f"is {rootfs.get('type')!r}, not 'layers'")
    diff_ids = rootfs.get("diff_ids") if rootfs.get("diff_ids") is not None else []
    if not isinstance(diff_ids, list):
        problem("rootfs.diff_ids", "must be a list of digests")
    for index, value in enumerate(diff_ids):
        if not digest.is_digest(value):
            problem(f"rootfs.diff_ids[{index}]", f"{_shown(value)} is not a digest (sha256: and 64 hex digits)")
    checked["rootfs"] = {**rootfs, "diff_ids": list(diff_ids)}
    history = checked.get("history") if checked.get("history") is not None else []
    if not isinstance(history, list):
        problem("history", "must be a list")
    checked["history"] = [_history_entry(entry, index, problem) for index, entry in enumerate(history)]
    return checked


class _Checker:
    """Raises the one-line error about a field: ``invalid image config X: config.Cmd must be ...``."""

    def __init__(self, what):
        self.what = what

    def __call__(self, field, text):
        raise InvalidImageConfig(f"invalid {self.what}: {field} {text}")


def _optional(mapping, key, kind, description, problem, prefix=""):
    """A field that may be missing or null (and is then dropped), else of type ``kind``."""
    if mapping.get(key) is None:
        mapping.pop(key, None)
    elif not isinstance(mapping[key], kind) or (kind is int and isinstance(mapping[key], bool)):
        problem(prefix + key, f"must be {description}, not {_shown(mapping[key])}")


def _time(value, field, problem):
    """An RFC 3339 time as text, or None when there is none."""
    from ..timefmt import parse_time

    if value is None or value == "":
        return None
    if not isinstance(value, str):
        problem(field, f"must be an RFC 3339 time, not {_shown(value)}")
    try:
        parse_time(value)
    except ValueError:
        problem(field, f"must be an RFC 3339 time, not {_shown(value)}")
    return value


def _container_config(config, problem):
    """``config``: what a container of this image runs, and how."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        problem("config", f"must be a JSON object, not {_shown(config)}")
    config = dict(config)
    for key in CONFIG_STRINGS:
        _optional(config, key, str, "a string", problem, "config.")
    for key in CONFIG_BOOLS:
        _optional(config, key, bool, "true or false", problem, "config.")
    _optional(config, "StopTimeout", int, "a number of seconds", problem, "config.")
    for key in CONFIG_WORD_LISTS:
        _optional(config, key, list, "a list of strings", problem, "config.")
        if any(not isinstance(word, str) for word in config.get(key, [])):
            problem(f"config.{key}", f"must be a list of strings, not {_shown(config[key])}")
    for key in CONFIG_SETS:
        _optional(config, key, dict, "a JSON object", problem, "config.")
        if any(not name or not isinstance(value, dict) for name, value in config.get(key, {}).items()):
            problem(f"config.{key}", f"must map names to {{}}, not {_shown(config[key])}")
    for port in config.get("ExposedPorts", {}):
        match = PORT.fullmatch(port)
        if not match or not all(0 < int(n) < 65536 for n in match.groups()[:2] if n):
            problem("config.ExposedPorts", f"holds {_shown(port)}, not a port such as 80/tcp")
    _optional(config, "Labels", dict, "a JSON object", problem, "config.")
    if any(not isinstance(value, str) for value in config.get("Labels", {}).values()):
        problem("config.Labels", f"must map names to strings, not {_shown(config['Labels'])}")
    if any(item.split("=", 1)[0] == "" for item in config.get("Env", [])):
        problem("config.Env", f"holds a variable without a name: {_shown(config['Env'])}")
    _optional(config, "Healthcheck", dict, "a JSON object", problem, "config.")
    if "Healthcheck" in config:
        _healthcheck(dict(config["Healthcheck"]), problem)
    return config


def _healthcheck(check, problem):
    _optional(check, "Test", list, "a list of strings", problem, "config.Healthcheck.")
    if any(not isinstance(word, str) for word in check.get("Test", [])):
        problem("config.Healthcheck.Test", f"must be a list of strings, not {_shown(check['Test'])}")
    for key in (*HEALTH_DURATIONS, "Retries"):
        _optional(check, key, int, "a whole number", problem, "config.Healthcheck.")
        if check.get(key, 0) < 0:
            problem(f"config.Healthcheck.{key}", "must not be negative")


def _history_entry(entry, index, problem):
    field = f"history[{index}]"
    if not isinstance(entry, dict):
        problem(field, f"must be a JSON object, not {_shown(entry)}")
    entry = dict(entry)
    for key in HISTORY_STRINGS:
        _optional(entry, key, str, "a string", problem, field + ".")
    _optional(entry, "empty_layer", bool, "true or false", problem, field + ".")
    created = _time(entry.get("created"), field + ".created", problem)
    entry.pop("created", None)
    if created is not None:
        entry["created"] = created
    return entry


def _shown(value):
    text = json.dumps(value) if not isinstance(value, (set, bytes)) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
