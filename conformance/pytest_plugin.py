"""The pytest plugin of keras-conformance: the ``--update-golden`` option.

Installing the package registers it (the ``pytest11`` entry point named
``conformance.pytest_plugin``), so ``pytest --update-golden`` records the golden files of
every :class:`~conformance.spec.CheckSpec` given a ``golden`` folder again instead of
comparing against them. Without the installed entry point, ``-p conformance.pytest_plugin``
or ``pytest_plugins = ["conformance.pytest_plugin"]`` in a conftest loads it. It imports
nothing but pytest, so it costs a session that checks no layer nothing.
"""

_update_golden = False


def pytest_addoption(parser):
    group = parser.getgroup("keras-conformance")
    group.addoption("--update-golden", action="store_true", default=False, dest="update_golden",
                    help="keras-conformance: record the golden files again instead of comparing "
                         "against them (check_matches_golden)")


def pytest_configure(config):
    global _update_golden
    _update_golden = bool(config.getoption("update_golden", default=False))


def pytest_unconfigure(config):
    global _update_golden
    _update_golden = False


def golden_update_requested():
    """Whether this pytest session was started with ``--update-golden``."""
    return _update_golden
