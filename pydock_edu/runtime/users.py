"""Who the container's process runs as: ``-u``/``USER`` resolved in the container's /etc/passwd."""

from ..errors import PydockError


def _entries(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n").split(":") for line in f if line.strip() and not line.startswith("#")]
    except FileNotFoundError:
        return []


def resolve(user):
    """Turn ``name``, ``uid``, ``name:group`` or ``uid:gid`` into (uid, gid, groups, home).

    Call after pivot_root: names are looked up in the container's own /etc/passwd and /etc/group.
    """
    name, _, group = (user or "root").partition(":")
    passwd = _entries("/etc/passwd")
    entry = next((e for e in passwd if len(e) >= 7 and (e[0] == name or e[2] == name)), None)
    if entry:
        uid, gid, home, username = int(entry[2]), int(entry[3]), entry[5], entry[0]
    elif name.isdigit():
        uid, gid, home, username = int(name), 0, "/", None
    elif not user:  # no user asked for and no passwd file (an image FROM scratch): root, as in Docker
        uid, gid, home, username = 0, 0, "/root", None
    else:
        raise PydockError(f"unable to find user {name}: no matching entries in passwd file")
    groups = _entries("/etc/group")
    if group:
        match = next((g for g in groups if len(g) >= 3 and (g[0] == group or g[2] == group)), None)
        if match:
            gid = int(match[2])
        elif group.isdigit():
            gid = int(group)
        else:
            raise PydockError(f"unable to find group {group}: no matching entries in group file")
    extra = sorted({int(g[2]) for g in groups if len(g) >= 4 and username and username in g[3].split(",")})
    return uid, gid, extra, home
