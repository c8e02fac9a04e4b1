"""The built-in ``busybox`` image, made offline from the host's static busybox binary.

One layer: ``/bin/busybox`` with a symlink for every applet it offers (``sh``, ``ls``, ``httpd``...),
an ``/etc/passwd`` and ``/etc/group`` with root and nobody, and the usual empty directories.
"""

import os
import shutil
import subprocess
import tempfile

from ..errors import PydockError

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
GROUP = "root:x:0:\nnobody:x:65534:\n"


def find_busybox():
    for path in BUSYBOX_CANDIDATES:
        if os.path.isfile(path) and "statically linked" in _file_kind(path):
            return path
    raise PydockError("no static busybox on this host: install it with 'apt-get install busybox-static'")


def _file_kind(path):
    """Whether an ELF file is static: it has no PT_INTERP (program interpreter) header."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return ""
        phoff = int.from_bytes(head[32:40], "little")
        phentsize = int.from_bytes(head[54:56], "little")
        phnum = int.from_bytes(head[56:58], "little")
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    kinds = [int.from_bytes(table[i:i + 4], "little") for i in range(0, len(table), phentsize)]
    return "dynamically linked" if 3 in kinds else "statically linked"


def build_rootfs(directory):
    """Lay out the busybox root filesystem in ``directory``."""
    busybox = find_busybox()
    for name in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "home", "var", "usr"):
        os.makedirs(os.path.join(directory, name), exist_ok=True)
    os.chmod(os.path.join(directory, "tmp"), 0o1777)
    os.chmod(os.path.join(directory, "root"), 0o700)
    shutil.copy2(busybox, os.path.join(directory, "bin", "busybox"))
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", os.path.join(directory, "bin", applet))
    with open(os.path.join(directory, "etc", "passwd"), "w") as f:
        f.write(PASSWD)
    with open(os.path.join(directory, "etc", "group"), "w") as f:
        f.write(GROUP)


def bootstrap_busybox(engine, tag="busybox:latest"):
    """Build the rootfs, import it as a one-layer image with ``CMD ["sh"]``, tag it; return the ID."""
    from . import importer

    with tempfile.TemporaryDirectory() as work:
        rootfs = os.path.join(work, "rootfs")
        os.mkdir(rootfs)
        build_rootfs(rootfs)
        # Every file dated like the host's busybox: the same binary always gives the same layer,
        # which the store keeps once however often the image is made (as ``import``, each time
        # a new image, dated now).
        when = os.stat(find_busybox()).st_mtime
        for path in [rootfs, *_every_path(rootfs)]:
            os.utime(path, (when, when), follow_symlinks=False)
        return importer.import_directory(engine, rootfs, tag, changes=['CMD ["sh"]'],
                                         comment="pydock image bootstrap busybox")


def _every_path(directory):
    for parent, dirs, files in os.walk(directory):
        for name in dirs + files:
            yield os.path.join(parent, name)
