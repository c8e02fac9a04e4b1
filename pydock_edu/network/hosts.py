"""A container's ``/etc/hosts``: how containers find each other by name.

Docker's user-defined networks answer container names and aliases from a DNS server embedded in
the daemon (127.0.0.11). pydock has no daemon, so it writes the same knowledge into each
container's hosts file: its own address with its hostname, then every peer sharing a
user-defined network with it, by name and aliases. The default ``bridge`` network gets no peer
names, as in Docker.

The file (``<root>/containers/<id>/hosts``) is bind-mounted onto the container's ``/etc/hosts``.
A bind mount pins the file's inode, so it is rewritten in place (``open`` for update, write,
truncate) and never replaced by ``rename(2)``, which the container would not see.
"""

import os

from .. import explain

LOCALHOST = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)


def render(entries):
    """The file's text: the localhost lines, then one ``ip<TAB>name alias...`` line per entry."""
    return LOCALHOST + "".join(f"{ip}\t{' '.join(names)}\n" for ip, names in entries)


def host_copy():
    """For ``--network host``: the host's own ``/etc/hosts``, as Docker gives."""
    with open("/etc/hosts") as f:
        return f.read()


def write_in_place(path, text):
    """Replace the content of ``path`` keeping its inode; do nothing if its container is gone."""
    if not os.path.isdir(os.path.dirname(path)):
        return
    explain.step("file", f"rewrite {path} in place (the container's /etc/hosts)")
    try:
        f = open(path, "r+")
    except FileNotFoundError:
        f = open(path, "w")
    with f:
        f.write(text)
        f.truncate()
