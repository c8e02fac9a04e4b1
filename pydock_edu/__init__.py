"""pydock_edu: a readable container engine in Python, for learning Docker in Jupyter.

The engine lives in :mod:`pydock_edu.engine`; the command line in :mod:`pydock_edu.cli`.
Loading this package as an IPython extension (``%load_ext pydock_edu``) adds the
``%docker`` magics.
"""

__version__ = "0.1.0"
API_VERSION = "1.43"  # the Docker Engine API version whose shapes we follow


def load_ipython_extension(ipython):
    from .jupyter.magics import load_ipython_extension as load

    load(ipython)
