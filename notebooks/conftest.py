"""The notebooks run under nbval (``bash test.sh`` or ``bash test.sh notebooks``) inside the test harness.

Each notebook is a test and each cell one of its items. They share the sandbox of ``tests/conftest.py``:
its own network and mount namespaces and its own ``PYDOCK_ROOT``, which the kernels that nbval starts
inherit through the environment, and the check that nothing is left behind. When ``tests`` is not among
the paths, the harness is loaded here, under the name pytest gives that conftest, so it is loaded once.
Every cell counts as a privileged test: without root it is skipped (a failure in CI).
"""

import importlib.util
import pathlib

import pytest

HARNESS = pathlib.Path(__file__).parent.parent / "tests" / "conftest.py"


def _harness(config):
    """The harness module, loading and registering it if pytest has not."""
    plugin = config.pluginmanager.get_plugin(str(HARNESS))
    if plugin is None:
        spec = importlib.util.spec_from_file_location("pydock_test_harness", HARNESS)
        plugin = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(plugin)
        config.pluginmanager.register(plugin, name=str(HARNESS))  # its pytest_configure runs now
    return plugin


def pytest_configure(config):
    _harness(config)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.privileged)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """The harness's privilege gate, for the cells (its own hooks see only the items under tests/)."""
    _harness(item.config).pytest_runtest_setup(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    yield from _harness(item.config).pytest_runtest_makereport(item, call)
