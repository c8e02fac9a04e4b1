"""The pydock Jupyter kernel: IPython with the ``%docker`` magics loaded, where a line that starts
with ``docker `` or ``pydock `` runs as a command, so the tutorial's commands can be pasted as they are.

``python -m pydock_edu.kernel install [--user|--sys-prefix|--prefix P]`` installs its kernelspec
(:mod:`.spec`); Jupyter starts it as ``python -m pydock_edu.kernel -f CONNECTION_FILE``
(:mod:`.kernel`).
"""
