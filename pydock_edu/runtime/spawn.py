"""Starting the runtime's helper processes (the shim, exec) without forking the caller.

The caller may be a multi-threaded Jupyter kernel, where ``fork()`` is unsafe; so helpers are
new Python interpreters started with ``subprocess`` (fork+exec in one step). ``-S`` skips
site-packages processing, which makes them start in a few milliseconds; the caller's
``sys.path`` is handed over so they import the same pydock_edu and its dependencies.

``sys.path`` alone is not enough: an editable install (``pip install -e .``, setuptools' default
mode) finds pydock_edu through an import hook that a ``.pth`` file installs at start-up, and ``-S``
skips those files. So the directory that holds the running pydock_edu package (the checkout, or
site-packages for a wheel) goes first: a wheel, an editable install of any mode and a source
checkout on PYTHONPATH all start the same helpers.
"""

import json
import os
import subprocess
import sys

BOOT = "import json,os,sys;sys.path[:0]=json.loads(os.environ.pop('PYDOCK_SYS_PATH'));from {module} import main;main()"


def helper(module, args, env=None, pass_fds=(), **popen):
    """Start ``module.main()`` in a fresh interpreter; return the Popen."""
    environment = dict(os.environ, **(env or {}))
    environment["PYDOCK_SYS_PATH"] = json.dumps(import_path())
    from .. import state

    environment["PYDOCK_ROOT"] = state.root()
    return subprocess.Popen([sys.executable, "-S", "-c", BOOT.format(module=module), *args],
                            env=environment, pass_fds=pass_fds, **popen)


def import_path():
    """The helper's ``sys.path``: the directory holding this pydock_edu, then the caller's own entries."""
    home = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return [home] + [p for p in sys.path if p and os.path.abspath(p) != home]
