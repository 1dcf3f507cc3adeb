"""The distribution family's replica process: a process whose TensorFlow runtime has several replicas.

``python -m conformance.distributed.replica_process RUN PAYLOADS RESULTS`` configures the replicas
first (before anything that could start TensorFlow's runtime, the targets' own modules
included), rebuilds each spec from the pickled list of payloads
(:meth:`CheckSpec.to_payload`), calls the family's function ``RUN`` (``"module:function"``,
called as ``function(spec, replicas)``) on each, and writes a pickled document to RESULTS::

    {"devices": ["/cpu:0", "/cpu:1"], "skipped": None,
     "targets": [{"unusable": None, "found": what the function returned}, ...]}

``skipped`` is why nothing ran (fewer than two GPUs where GPUs were required);
a target's ``unusable`` why it could not be rebuilt here (its module does not import).
"""

import importlib
import pickle
import sys


def _write(path, document):
    with open(path, "wb") as handle:
        pickle.dump(document, handle)


def run_payloads(run, payloads, mode=None):
    """The results document of ``run`` on the pickled ``payloads``, in a process whose
    TensorFlow runtime has not started yet (a child of :mod:`conformance.check_host`, or :func:`main`)."""
    document = {"devices": [], "skipped": None, "targets": []}
    from conformance.distributed.devices import NoReplicas, configure_replicas

    try:
        document["devices"] = configure_replicas(mode)
    except NoReplicas as exc:
        document["skipped"] = str(exc)
        return document
    from conformance.distributed.steps import Replicas

    replicas = Replicas(document["devices"])
    module, _, name = run.partition(":")
    function = getattr(importlib.import_module(module), name)
    document["targets"] = [_run_target(function, payload, replicas) for payload in payloads]
    return document


def main(argv):
    run, payloads_path, results_path = argv[1:4]
    with open(payloads_path, "rb") as handle:
        payloads = pickle.load(handle)  # one pickle each: unpickling imports what it refers to
    _write(results_path, run_payloads(run, payloads))
    return 0


def _run_target(function, pickled_payload, replicas):
    from conformance.outcomes import describe_exception
    from conformance.spec import spec_from_payload

    try:
        spec = spec_from_payload(pickle.loads(pickled_payload))
    except Exception as exc:  # noqa: BLE001 - the user's module failing to import here
        return {"unusable": describe_exception(exc), "found": None}
    return {"unusable": None, "found": function(spec, replicas)}


if __name__ == "__main__":
    sys.exit(main(sys.argv))
