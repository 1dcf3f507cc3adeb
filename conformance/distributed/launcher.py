"""Starting the replica process once per target, and keeping what it found.

The family names the function the replica process runs on each target with the replicas (``run``,
a ``"module:function"`` path, called as ``function(spec, replicas)``); this package never
imports the checks. The runner starts the replica process in the background when a run that
includes the family begins (:func:`start`), or else the first distribution check of a spec
does; the replica process runs the whole family, and the checks read the cached results. The cache
is keyed on the spec's payload (the function and the requested devices), keeps the last
:data:`CACHE_SIZE` targets, and lets
one thread run a given target while the others wait for its results. A replica process that
outlives its timeout (90% of the spec's) is killed, and every check of its targets reports
it. :func:`prefetch` runs several targets in one replica process, paying TensorFlow's start-up
once (the test-suite does).
"""

import collections
import os
import pickle
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from conformance.distributed.devices import DEVICES_VARIABLE
from conformance.check_host import CheckHostError, CheckHostTimeout, calling_context, run_in_fresh_process

CACHE_SIZE = 64
#: The share of the spec's timeout the replica process may use: the first check's own timeout
#: (the whole timeout) must not fire before the replica process has been killed and reported.
TIMEOUT_SHARE = 0.9

_cache = collections.OrderedDict()
_lock = threading.Lock()


@dataclass
class FamilyResults:
    """What the replica process found for one target: what the family's function returned for it
    (``found``), or why there is nothing."""

    devices: list = field(default_factory=list)
    found: object = None
    skipped: Optional[str] = None  # no contract could run here, by design
    problem: Optional[tuple] = None  # (expected, seen): the run itself failed
    seconds: float = 0.0


class _Pending:
    def __init__(self, spec):
        self.spec = spec
        self.done = threading.Event()
        self.results = None


def family_results(spec, run):
    """The replica process's :class:`FamilyResults` for ``spec`` (``run`` being the family's function),
    from the cache when another check of the same target already ran it. ``ValueError``
    when the spec cannot be sent to another process (no ``import_path``, or kwargs pickle
    cannot carry)."""
    return _results_for([spec], run)[0]


def start(spec, run):
    """Begin running ``run`` on ``spec`` in a background thread; :func:`family_results`
    then waits for it. A spec that cannot be sent is left to the checks to report."""
    try:
        _key(spec, run)
    except ValueError:
        return
    # The folder and import path now, not when the thread gets to it: a check may move.
    threading.Thread(target=_start_quietly, args=(spec, run, calling_context()),
                     name="keras-conformance-distribution", daemon=True).start()


def _start_quietly(spec, run, where):
    try:
        _results_for([spec], run, where)
    except Exception:  # noqa: BLE001 - the family's checks run it again and report why
        pass


def prefetch(specs, run):
    """Run ``run``, in one replica process, on each of ``specs`` not cached yet."""
    _results_for(specs, run)


def _key(spec, run):
    payload = spec.to_payload()
    try:
        return pickle.dumps((payload, run, os.environ.get(DEVICES_VARIABLE)))
    except Exception as exc:  # noqa: BLE001 - lambdas and local objects do not pickle
        raise ValueError(f"its kwargs cannot be sent to another process ({exc})") from exc


def _results_for(specs, run, where=None):
    keys = [_key(spec, run) for spec in specs]
    owned, entries = {}, []
    with _lock:
        for key, spec in zip(keys, specs):
            if key in _cache:
                _cache.move_to_end(key)
            else:
                _cache[key] = owned[key] = _Pending(spec)
            entries.append(_cache[key])
        finished = [key for key, entry in _cache.items() if entry.done.is_set()]
        for key in finished[:max(0, len(_cache) - CACHE_SIZE)]:
            del _cache[key]
    if owned:
        _run_owned(owned, run, where)
    for entry in entries:
        entry.done.wait()
    if any(entry.results is None for entry in entries):
        raise RuntimeError("the replica process could not be started")
    return [entry.results for entry in entries]


def _run_owned(owned, run, where=None):
    """Run the replica process for the entries this thread created, and hand out its results."""
    try:
        timeout = TIMEOUT_SHARE * sum(entry.spec.timeout for entry in owned.values())
        payloads = [pickle.dumps(pickle.loads(key)[0]) for key in owned]
        for entry, results in zip(owned.values(), _run_replica_process(run, payloads, timeout, where)):
            entry.results = results
    finally:
        with _lock:
            for key, entry in owned.items():
                if entry.results is None:  # the launch itself raised: a later check retries
                    _cache.pop(key, None)
                entry.done.set()


def _run_replica_process(run, payloads, timeout, where=None):
    """One :class:`FamilyResults` per pickled payload, from one fresh process (a child of
    the checker's check host: TensorFlow imported, its runtime not yet started,
    so the child can still configure the replicas) that calls ``run`` on each."""
    started = time.perf_counter()
    try:
        document = run_in_fresh_process("conformance.distributed.replica_process:run_payloads", run, payloads,
                                        os.environ.get(DEVICES_VARIABLE), timeout=timeout, where=where)
    except CheckHostTimeout:
        problem = (f"the distributed runs to finish within {timeout:g} s ({TIMEOUT_SHARE:.0%} of the "
                   "timeout)", "the process still running; it was killed")
        return [FamilyResults(problem=problem, seconds=round(time.perf_counter() - started, 3))] * len(payloads)
    except CheckHostError as exc:
        problem = ("the distribution process to run the contracts",
                   f"it failed: {_first_error_line(exc.details) if exc.details else exc}")
        return [FamilyResults(problem=problem, seconds=round(time.perf_counter() - started, 3))] * len(payloads)
    return _results_of(document, len(payloads), round(time.perf_counter() - started, 3))


def _results_of(document, count, seconds):
    if document["skipped"] is not None:
        skipped = FamilyResults(devices=document["devices"], skipped=document["skipped"], seconds=seconds)
        return [skipped] * count
    results = []
    for target in document["targets"]:
        found = FamilyResults(devices=document["devices"], found=target["found"], seconds=seconds)
        if target["unusable"] is not None:
            found.problem = ("the target to import in the replica process", target["unusable"])
        results.append(found)
    return results


def _first_error_line(stderr):
    """The first exception line of a traceback, or the last line written."""
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit):", line)]
    text = errors[0] if errors else (lines or ["no error output"])[-1]
    return text if len(text) <= 300 else text[:297] + "..."
