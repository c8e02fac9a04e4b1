"""Fixtures for the volume tests: real containers (``--network none``) and an image with a VOLUME.

After each test every container is force-removed with its anonymous volumes, then every volume
is removed (which unmounts the filesystems of ``-o type=...`` volumes), so nothing stays mounted.
"""

import io
import subprocess
import sys
import tarfile

import pytest

from pydock_edu.image.bootstrap import find_busybox

SEED = b"seeded by the image\n"


@pytest.fixture(autouse=True)
def _clean_up(request):
    yield
    if request.node.get_closest_marker("privileged") is None:
        return
    from pydock_edu.engine import Engine

    engine = Engine()
    for record in engine.containers(all=True):
        engine.remove(record["Id"], force=True, volumes=True)
    for volume in engine.volumes.list():
        engine.volumes.remove(volume["Name"], force=True)


def _add(tar, name, data=None, mode=0o755, uid=0, gid=0, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.mode, info.uid, info.gid, info.type, info.linkname = mode, uid, gid, kind, link
    info.size = len(data) if data is not None else 0
    tar.addfile(info, io.BytesIO(data) if data is not None else None)


@pytest.fixture(scope="session")
def seeded_image(busybox_image, tmp_path_factory):
    """``seeded``: busybox plus ``/data`` (owner 123:45, mode 0750) holding ``seed.txt`` (owner
    1000:1000, mode 0640), a symlink and a directory, with ``VOLUME /data`` in its config, made with
    ``pydock import --change 'VOLUME /data'``; and a symlink ``/hostetc -> /etc``."""
    with open(find_busybox(), "rb") as f:
        busybox = f.read()
    path = tmp_path_factory.mktemp("seeded") / "rootfs.tar"
    with tarfile.open(path, mode="w") as tar:
        for directory in ("bin", "etc", "tmp"):
            _add(tar, directory, kind=tarfile.DIRTYPE)
        _add(tar, "bin/busybox", busybox)
        for applet in ("sh", "cat", "ls", "stat", "readlink", "touch", "echo", "md5sum"):
            _add(tar, f"bin/{applet}", kind=tarfile.SYMTYPE, link="busybox")
        _add(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", mode=0o644)
        _add(tar, "etc/group", b"root:x:0:\n", mode=0o644)
        _add(tar, "data", kind=tarfile.DIRTYPE, mode=0o750, uid=123, gid=45)
        _add(tar, "data/seed.txt", SEED, mode=0o640, uid=1000, gid=1000)
        _add(tar, "data/link", kind=tarfile.SYMTYPE, link="seed.txt")
        _add(tar, "data/sub", kind=tarfile.DIRTYPE)
        _add(tar, "hostetc", kind=tarfile.SYMTYPE, link="/etc")
    subprocess.run([sys.executable, "-m", "pydock_edu.cli.main", "import", "--change", "VOLUME /data",
                    "--change", 'CMD ["sh"]', str(path), "seeded"], check=True, capture_output=True)
    return "seeded"
