"""The kernel itself: ipykernel's IPython kernel with the extension and the command-line transformer."""

from ipykernel.ipkernel import IPythonKernel

from .. import __version__
from .transform import CommandLine


class PydockKernel(IPythonKernel):
    """An IPython kernel (language: python) where ``docker ...`` and ``pydock ...`` lines are commands."""

    implementation = "pydock_edu"
    implementation_version = __version__

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.shell.extension_manager.load_extension("pydock_edu")
        self.shell.input_transformer_manager.token_transformers.append(CommandLine)


def launch():
    """Start the kernel as Jupyter asks (``-f CONNECTION_FILE`` on the command line)."""
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(kernel_class=PydockKernel)
