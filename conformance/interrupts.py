"""Telling a real signal to the checking process from what the code under test raises.

While :func:`signals_stop_the_run` is active, SIGINT (and the other signals it is given)
raise :class:`~conformance.outcomes.RunInterrupted` in the main thread: the run stops and
reports what finished. A ``KeyboardInterrupt`` or ``SystemExit`` that the code under test
raises is not one: it ends only the check it happened in.
"""

import contextlib
import signal
import threading

from conformance.outcomes import RunInterrupted

#: The handler each signal has when nobody changed it: only those are replaced.
_DEFAULT_HANDLERS = {signal.SIGINT: (signal.default_int_handler,), signal.SIGTERM: (signal.SIG_DFL,)}


def _raise_run_interrupted(signum, frame):
    raise RunInterrupted(signum)


def _ours(signum):
    return signal.getsignal(signum) is _raise_run_interrupted


def rearm(signums):
    """Install the handler again for ``signums`` (the code under test may have replaced it
    at import); main thread only."""
    if threading.current_thread() is threading.main_thread():
        for signum in signums:
            signal.signal(signum, _raise_run_interrupted)


@contextlib.contextmanager
def signals_stop_the_run(signums=(signal.SIGINT,), replace_any=False):
    """Within the block, each of ``signums`` raises :class:`RunInterrupted` in the main thread.

    A handler someone else installed (a test runner's) is left alone unless
    ``replace_any``; outside the main thread nothing changes (Python delivers signals to
    the main thread only). The previous handlers are put back at the end."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in signums:
            current = signal.getsignal(signum)
            if current is _raise_run_interrupted:
                continue  # an outer block already installed it
            if not replace_any and current not in _DEFAULT_HANDLERS.get(signum, ()):
                continue
            previous[signum] = current
            signal.signal(signum, _raise_run_interrupted)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
