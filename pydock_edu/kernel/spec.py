"""The kernelspec: ``kernel.json`` (how Jupyter starts the kernel) and the logos, and installing them.

Jupyter finds kernels in ``<data dir>/kernels/<name>/``: per user (``~/.local/share/jupyter``),
in an environment (``sys.prefix/share/jupyter``), under any prefix, or system-wide. The
``kernel/`` directory at the top of the repository is this same spec, with ``python`` for the
interpreter (Binder's, or whichever is first on PATH).
"""

import argparse
import json
import os
import sys
import tempfile

from .logo import png

NAME = "pydock"
DISPLAY_NAME = "pydock (Python 3)"
LOGO_SIZES = (32, 64)


def write(directory, python=None):
    """Write ``kernel.json`` and ``logo-32x32.png``/``logo-64x64.png`` into ``directory``."""
    spec = {
        "argv": [python or sys.executable, "-m", "pydock_edu.kernel", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"debugger": True},
    }
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "kernel.json"), "w") as f:
        json.dump(spec, f, indent=1)
        f.write("\n")
    for size in LOGO_SIZES:
        with open(os.path.join(directory, f"logo-{size}x{size}.png"), "wb") as f:
            f.write(png(size))


def install(user=False, prefix=None):
    """Install the kernelspec for this interpreter; return the directory it went to."""
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as source:
        os.chmod(source, 0o755)  # the copy keeps this mode: readable by every user of the kernel
        write(source)
        return KernelSpecManager().install_kernel_spec(source, NAME, user=user, prefix=prefix)


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m pydock_edu.kernel",
                                     description="Install the pydock kernelspec, or write it to a directory.")
    commands = parser.add_subparsers(dest="command", required=True)
    where = commands.add_parser("install", help="install the kernelspec for Jupyter").add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="for the current user (~/.local/share/jupyter)")
    where.add_argument("--sys-prefix", action="store_true", help=f"in this environment ({sys.prefix})")
    where.add_argument("--prefix", help="under PREFIX/share/jupyter/kernels")
    spec = commands.add_parser("spec", help="write kernel.json and the logos into DIRECTORY")
    spec.add_argument("directory")
    spec.add_argument("--python", default=None, help="the interpreter kernel.json names (default: this one)")
    options = parser.parse_args(argv)
    if options.command == "spec":
        write(options.directory, options.python)
        return 0
    prefix = sys.prefix if options.sys_prefix else options.prefix
    print(f"Installed kernelspec {NAME} in {install(user=options.user, prefix=prefix)}")
    return 0
