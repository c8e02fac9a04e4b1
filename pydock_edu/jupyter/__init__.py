"""The notebook front end: the ``%docker`` magics, and pictures of what the engine did.

:mod:`.magics` runs pydock command lines in the kernel; :mod:`.widgets` draws layers, networks,
mounts and the container lifecycle with graphviz, live from the engine's events.
"""
