"""Starting the runtime's helper processes (the shim, exec) without forking the caller.

The caller may be a multi-threaded Jupyter kernel, where ``fork()`` is unsafe; so helpers are
new Python interpreters started with ``subprocess`` (fork+exec in one step). ``-S`` skips
site-packages processing, which makes them start in a few milliseconds; the caller's
``sys.path`` is handed over so they import the same pydock_edu.
"""

import json
import os
import subprocess
import sys

BOOT = "import json,os,sys;sys.path[:0]=json.loads(os.environ.pop('PYDOCK_SYS_PATH'));from {module} import main;main()"


def helper(module, args, env=None, pass_fds=(), **popen):
    """Start ``module.main()`` in a fresh interpreter; return the Popen."""
    environment = dict(os.environ, **(env or {}))
    environment["PYDOCK_SYS_PATH"] = json.dumps([p for p in sys.path if p])
    from .. import state

    environment["PYDOCK_ROOT"] = state.root()
    return subprocess.Popen([sys.executable, "-S", "-c", BOOT.format(module=module), *args],
                            env=environment, pass_fds=pass_fds, **popen)
