"""The distribution family's machinery: a process of its own, with several replicas.

TensorFlow fixes its devices when its runtime starts, so the replicas (two logical CPU
devices, or the visible GPUs) are configured in a worker process started for the purpose
(:mod:`~conformance.distributed.worker`), which runs every distribution contract
(:mod:`~conformance.distributed.contracts`) on one target and writes the results for the
checks in :mod:`conformance.checks.distribution`, started and cached by
:mod:`~conformance.distributed.launcher`. Importing this package imports nothing else.
"""
