"""The distribution family's machinery: a process of its own, with several replicas.

TensorFlow fixes its devices when its runtime starts, so the replicas (two logical CPU
devices, or the visible GPUs: :mod:`~conformance.distributed.devices`) are configured in a
replica process started for the purpose (:mod:`~conformance.distributed.replica_process`), started and
cached by :mod:`~conformance.distributed.launcher`. The replica process calls the function the family
names (:func:`conformance.checks.distribution.run_in_replicas`) on each target; the steps it
runs under the strategy and on one device are in :mod:`~conformance.distributed.steps` and
:mod:`~conformance.distributed.per_replica`. This package is infrastructure below the checks
and imports nothing from :mod:`conformance.checks`; importing it imports nothing else.
"""
