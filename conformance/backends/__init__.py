"""Running the target on Keras's JAX and PyTorch backends, beside the TensorFlow one.

Keras reads ``KERAS_BACKEND`` once, when it is imported, so each backend needs a process of
its own. Each is a :class:`conformance.check_host.CheckHost` started with ``KERAS_BACKEND`` set:
started once per checking process (on first use, or early by :func:`prestart`), reused for
every target, it imports Keras on its backend (and what every child needs) once, and forks
a fresh child per request, which imports the target by its ``import_path``, runs one
function of :mod:`conformance.backends.remote` and dies. The check host's own machinery
(process groups, timeouts, no files left behind, a hostile target's exit or prints) applies
as for the fresh-process load.

A backend whose package is not installed is not started: :func:`unavailable` says why and
how to install it.
"""

import atexit
import importlib.util
import os
import threading

from conformance.check_host import CheckHost, CheckHostError, CheckHostTimeout

#: The backends compared with TensorFlow, in report order: backend -> the package it needs.
BACKENDS = {"jax": "jax", "torch": "torch"}
#: How each backend is named in messages.
DISPLAY_NAMES = {"jax": "JAX", "torch": "PyTorch"}
#: The extra of this package that installs each backend.
EXTRAS = {"jax": "jax", "torch": "torch"}

_hosts = {}
_hosts_lock = threading.Lock()

__all__ = ["BACKENDS", "BackendError", "BackendTimeout", "available", "prestart", "run_on", "unavailable"]

BackendError, BackendTimeout = CheckHostError, CheckHostTimeout


def unavailable(backend):
    """Why ``backend`` cannot run here, or None when it can."""
    if not hasattr(os, "fork"):
        return f"backend {backend} runs in a child forked by a check host; this platform has no os.fork"
    if importlib.util.find_spec(BACKENDS[backend]) is None:
        return f"backend {backend} is not installed (pip install 'keras-conformance[{EXTRAS[backend]}]')"
    return None


def available():
    """The backends installed here, in :data:`BACKENDS` order."""
    return [backend for backend in BACKENDS if unavailable(backend) is None]


def _host(backend):
    with _hosts_lock:
        host = _hosts.get(backend)
        if host is None or not host.alive():
            host = CheckHost(environment={"KERAS_BACKEND": backend, "JAX_TRACEBACK_FILTERING": "off"})
            _hosts[backend] = host
            atexit.register(host.close)
        return host


def prestart():
    """Start the installed backends' check hosts now, so their imports overlap other work."""
    for backend in available():
        _host(backend)


def run_on(backend, function_path, *args, timeout=120.0):
    """``function_path(*args)`` in a fresh child of ``backend``'s check host; its return value,
    or :class:`BackendError` (:class:`BackendTimeout`) with the child's error and traceback."""
    outcome = _host(backend).run(function_path, args, timeout)
    if outcome[0] == "ok":
        return outcome[1]
    if outcome[0] == "timeout":
        raise BackendTimeout(outcome[1])
    raise BackendError(outcome[1], outcome[2] if len(outcome) > 2 else "")
