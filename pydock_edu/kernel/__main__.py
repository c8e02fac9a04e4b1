"""``python -m pydock_edu.kernel``: ``install`` or ``spec`` the kernelspec, or (as Jupyter does) run the kernel."""

import sys

if sys.argv[1:2] in (["install"], ["spec"], ["-h"], ["--help"]):
    from .spec import main

    sys.exit(main(sys.argv[1:]))
else:
    from .kernel import launch

    launch()
