"""Building tar files by hand for the image tests: layers, crafted (hostile) archives, image tarballs."""

import hashlib
import io
import json
import os
import sys
import sysconfig
import tarfile


def pydock_command():
    """The ``pydock`` script of the venv running the tests."""
    script = os.path.join(sysconfig.get_path("scripts"), "pydock")
    return script if os.path.exists(script) else os.path.join(os.path.dirname(sys.executable), "pydock")


def entry(name, kind=tarfile.REGTYPE, data=None, **fields):
    """A (TarInfo, bytes or None) pair; ``fields`` set TarInfo attributes (linkname, mode, uid...)."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    for key, value in fields.items():
        setattr(info, key, value)
    if data is not None:
        info.size = len(data)
    return info, data


def make_tar(entries):
    """The bytes of a tar of ``entries`` (pairs from :func:`entry`)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def names(tar_bytes):
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        return [m.name for m in tar.getmembers()]


def members(tar_bytes):
    """{name: (TarInfo, content or None)} of a tar."""
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        return {m.name.rstrip("/"): (m, tar.extractfile(m).read() if m.isreg() else None) for m in tar.getmembers()}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image_tarball(layers, tags=("crafted:latest",), cmd=("sh",), layer_paths=None, diff_ids=None):
    """A ``docker save`` style tarball (manifest.json + blobs) of one image made of ``layers`` (tar bytes).

    ``layer_paths`` and ``diff_ids`` override what manifest.json and the config claim, to craft lies.
    """
    diff_ids = diff_ids or [sha256(layer) for layer in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                         "config": {"Cmd": list(cmd), "Env": ["PATH=/bin"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids},
                         "history": [{"created": "2024-01-01T00:00:00Z"} for _ in layers]}).encode()
    paths = layer_paths or [f"blobs/sha256/{sha256(layer)[7:]}" for layer in layers]
    manifest = [{"Config": f"blobs/sha256/{sha256(config)[7:]}", "RepoTags": list(tags), "Layers": paths}]
    files = [entry(f"blobs/sha256/{sha256(config)[7:]}", data=config)]
    files += [entry(f"blobs/sha256/{sha256(layer)[7:]}", data=layer) for layer in layers]
    files.append(entry("manifest.json", data=json.dumps(manifest).encode()))
    return make_tar(files), sha256(config)


def busybox_like_layer(binary="/bin/busybox"):
    """One layer with the host's static busybox as /bin/sh (enough to run a command)."""
    with open(binary, "rb") as f:
        data = f.read()
    return make_tar([entry("bin", tarfile.DIRTYPE), entry("bin/busybox", data=data, mode=0o755),
                     entry("bin/sh", tarfile.SYMTYPE, linkname="busybox"),
                     entry("bin/cat", tarfile.SYMTYPE, linkname="busybox"),
                     entry("etc", tarfile.DIRTYPE), entry("etc/motd", data=b"crafted\n")])


def store_state(root):
    """What an image store under ``root`` holds: (configs, layers, tags, files left in tmp/)."""
    image = os.path.join(root, "image")

    def listing(*parts):
        path = os.path.join(image, *parts)
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    tags_file = os.path.join(image, "repositories.json")
    tags = json.load(open(tags_file)) if os.path.exists(tags_file) else {}
    return listing("configs"), listing("layers"), tags, listing("tmp")
