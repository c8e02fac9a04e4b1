"""How engine records look to a user: ``ps`` rows and ``inspect`` documents."""

import time

INTERNAL_KEYS = ("Shim", "ImageName", "RuntimeMounts", "NetworkingConfig", "AnonymousVolumes", "Damaged")


def inspect_container(record):
    """The record as ``docker inspect`` shows it (engine-private keys removed)."""
    return {key: value for key, value in record.items() if key not in INTERNAL_KEYS}


def command_text(record, no_trunc=False):
    """The COMMAND column: the command line, quoted and cut at 20 characters as Docker does."""
    text = " ".join([record["Path"], *record["Args"]])
    if not no_trunc and len(text) > 20:
        text = text[:19] + "…"
    return f'"{text}"'


def ports_text(record):
    """The PORTS column: ``0.0.0.0:8080->80/tcp, 443/tcp``."""
    settings = record.get("NetworkSettings") or {}
    parts = []
    for key, bindings in sorted((settings.get("Ports") or {}).items()):
        if bindings and record["State"]["Running"]:
            parts += [f"{b['HostIp'] or '0.0.0.0'}:{b['HostPort']}->{key}" for b in bindings]
        else:
            parts.append(key)
    return ", ".join(parts)


def container_row(record, no_trunc=False):
    from ..timefmt import parse_time
    from .table import ago, status_text

    created = parse_time(record["Created"])
    now = time.time()
    image = record.get("ImageName") or record["Image"][7:19]
    return {
        "ID": record["Id"] if no_trunc else record["Id"][:12],
        "Image": image,
        "Command": command_text(record, no_trunc),
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(created)),
        "RunningFor": ago(created, now),
        "Status": status_text(record["State"], now),
        "State": record["State"]["Status"],
        "Ports": ports_text(record),
        "Names": record["Name"][1:],
        "Labels": ",".join(f"{k}={v}" for k, v in (record["Config"].get("Labels") or {}).items()),
        "Networks": ",".join((record.get("NetworkSettings") or {}).get("Networks") or {}),
        "Mounts": ",".join(m.get("Name") or m.get("Source", "") for m in record.get("Mounts") or []),
    }
