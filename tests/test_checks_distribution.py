"""The distribution checks catch their broken layers and pass correct ones.

The family runs in a replica process that starts TensorFlow with its replicas (two logical
CPU devices, or two or more visible GPUs); the default run pays that start once, for the
broken layers and a handful of correct targets together (``distribution.prefetch``), and the
checks then read the cached results. ``--run-slow`` sweeps every known-good target (one more
replica process). The GPU test runs where two or more GPUs are visible.
"""

import dataclasses
import threading

import pytest

import keras_compat as compat
from conformance.catalogue import all_checks, get_check
from conformance.checks import distribution
from conformance.distributed import launcher
from conformance.distributed.devices import DEVICES_VARIABLE, NoReplicas, configure_replicas
from conformance.known_good import all_specs
from conformance.outcomes import ContractViolation, NotApplicable
from conformance.runner import run_check, run_spec
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import distribution as broken
from examples.hostile import processes as hostile
from examples.tricky_good import distribution as tricky
from examples.tricky_good import inputs_outputs
from examples.tricky_good.construction_graph import DropPath
from keras_compat import keras
from tests.family_contract import family_tests

# One xdist worker runs this module, so the checks of a target share its replica process.
pytestmark = pytest.mark.xdist_group("distribution")

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "distribution", broken
)


def _full(spec):
    return dataclasses.replace(spec, tier="full")


def _layer(cls, inputs, kwargs=None, **fields):
    return CheckSpec(cls, inputs=inputs, kwargs=kwargs or {}, tier="full",
                     import_path=f"{cls.__module__}:{cls.__qualname__}", **fields)


def _problems(spec, check_ids=CHECKS):
    results = [run_check(check_id, spec) for check_id in check_ids]
    return [f"{r.check}: {r.status}: {r.message}" for r in results if r.status != "passed"]


def test_every_check_runs_in_the_replicas_process_in_the_full_tier():
    assert {c.tier for c in all_checks(family="distribution")} == {"full"}
    assert all(callable(c.func.in_replicas) for c in all_checks(family="distribution"))


@pytest.mark.parametrize("check_id, cls, kwargs, inputs", [
    pytest.param(check_id, cls, kwargs, inputs, id=f"{check_id}-{cls.__name__}")
    for check_id, cases in broken.BROKEN.items() for cls, kwargs, inputs in cases])
def test_failures_name_the_replicas_and_the_difference(check_id, cls, kwargs, inputs):
    """Read from the runs the family tests made (the cache), at no cost."""
    spec = CheckSpec(cls, inputs=inputs, kwargs=kwargs, **broken.SPEC_OPTIONS[cls])
    devices = distribution.devices(spec)
    result = run_check(check_id, spec)
    assert f"with {len(devices)} replicas ({', '.join(devices)})" in result.message, result.message
    # The violation came back from the replicas' process whole: fields, not a parsed message.
    assert result.expected.endswith(f"with {len(devices)} replicas ({', '.join(devices)})"), result.expected
    assert result.seen and result.contract == get_check(check_id).contract


SYNCED_BATCH_NORMALIZATION, SYNCED_KWARGS = compat.synchronized_batch_normalization()

# Every check passed, none skipped: plain and synchronised batch normalisation (the
# per-replica expectation and the one-device one), keyword inputs with dropout inside (the
# training=False comparison), dropout inside a call without ``training``, drop path on a batch
# of two (random in training though two calls agree about half the time), and a multi-input,
# multi-output subclassed model.
PASSING = [
    pytest.param(_layer(keras.layers.BatchNormalization, ["8,7"]), id="BatchNormalization"),
    pytest.param(_layer(SYNCED_BATCH_NORMALIZATION, ["8,7"], SYNCED_KWARGS),
                 id="synchronized-BatchNormalization"),
    pytest.param(_layer(keras.layers.MultiHeadAttention, ["query=2,5,8", "value=2,5,8"],
                        {"num_heads": 2, "key_dim": 4, "dropout": 0.25}), id="MultiHeadAttention-dropout"),
    pytest.param(_layer(tricky.DropoutInsideWithoutTrainingArgument, ["8,7"], {"units": 4}),
                 id="dropout-inside-a-call-without-training"),
    pytest.param(_layer(DropPath, ["2,5"], {"rate": 0.5}), id="DropPath-batch-of-two"),
    pytest.param(_full(spec_for_reference("wide_and_deep")), id="wide_and_deep"),
]


@pytest.mark.parametrize("spec", PASSING)
def test_correct_targets_pass_every_check(spec):
    assert not _problems(spec)


def _example(cls, **fields):
    return CheckSpec(cls, inputs=["8,7"], kwargs={"units": 4}, **broken.SPEC_OPTIONS[cls], **fields)


def test_counters_aggregated_to_one_device_pass():
    assert not _problems(_example(broken.SamplesAndStepsCounted))


def test_declared_per_replica_statistics_are_compared_with_the_replicas_own_steps():
    assert not _problems(_example(broken.BatchCentring, traits={"per_replica_statistics"}))


def _inputs_outputs(label):
    case = dict(inputs_outputs.CASES[label])
    cls = case.pop("cls")
    return CheckSpec(cls, label=f"tricky_good:{label}", tier="full",
                     import_path=f"{inputs_outputs.__name__}:{cls.__name__}", **case)


#: Correct layers off the batch: an anchor table output (no loss on it; predict returns it
#: once per replica), a table input (whole in each replica), a loss on named outputs only,
#: in-batch logits (batch_dependent: no fit comparison, saved as built).
OFF_THE_BATCH = ["AnchoredBoxes", "AddPositionTable", "NestedHeadsLossOnHeads", "InBatchLogits"]


@pytest.mark.parametrize("label", OFF_THE_BATCH)
def test_inputs_and_outputs_off_the_batch_fail_no_check(label):
    results = [run_check(check_id, _inputs_outputs(label)) for check_id in CHECKS]
    assert not [f"{r.check}: {r.message}" for r in results if r.status not in ("passed", "skipped")]
    assert [r.status for r in results].count("passed") >= 2


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(inputs_outputs.CASES))
def test_every_tricky_input_and_output_fails_no_check(label):
    distribution.prefetch([_inputs_outputs(label) for label in inputs_outputs.CASES])
    results = [run_check(check_id, _inputs_outputs(label)) for check_id in CHECKS]
    assert not [f"{r.check}: {r.message}" for r in results if r.status not in ("passed", "skipped")]


#: What the default run checks in a replica process: one process for them all.
DEFAULT_TARGETS = (
    [CheckSpec(cls, inputs=inputs, kwargs=kwargs, **broken.SPEC_OPTIONS[cls])
     for cases in broken.BROKEN.values() for cls, kwargs, inputs in cases]
    + [param.values[0] for param in PASSING]
    + [_example(broken.SamplesAndStepsCounted),
       _example(broken.BatchCentring, traits={"per_replica_statistics"})]
    + [_inputs_outputs(label) for label in OFF_THE_BATCH]
)
_USING_DEFAULT_TARGETS = {
    "test_check_fails_its_broken_layer", "test_failures_name_the_replicas_and_the_difference",
    "test_correct_targets_pass_every_check", "test_counters_aggregated_to_one_device_pass",
    "test_declared_per_replica_statistics_are_compared_with_the_replicas_own_steps",
    "test_inputs_and_outputs_off_the_batch_fail_no_check",
}


@pytest.fixture(autouse=True)
def _one_replica_process_for_the_default_targets(request):
    if request.node.originalname in _USING_DEFAULT_TARGETS:
        distribution.prefetch(DEFAULT_TARGETS)  # at no cost once done


def test_a_spec_without_import_path_is_skipped_with_the_reason():
    result = run_check("check_distributed_variables",
                       CheckSpec(keras.layers.Dense, inputs=["8,7"], kwargs={"units": 4}, tier="full"))
    assert result.status == "skipped" and "import_path" in result.message


def test_the_family_runs_in_the_full_tier_only():
    result = run_check("check_distributed_fit_matches_one_device",
                       dataclasses.replace(_layer(keras.layers.Dense, ["8,7"], {"units": 4}), tier="fast"))
    assert result.status == "skipped" and "full tier" in result.message


def test_checks_of_one_target_share_one_replica_process(monkeypatch):
    started = []

    def fake_replica_process(run, payloads, timeout, where=None):
        started.append(payloads)
        passed = dict.fromkeys(CHECKS)
        return [launcher.FamilyResults(devices=["/cpu:0", "/cpu:1"], found=passed) for _ in payloads]

    monkeypatch.setattr(launcher, "_run_replica_process", fake_replica_process)
    spec = _layer(keras.layers.Dense, ["8,7"], {"units": 5})
    threads = [threading.Thread(target=run_check, args=(check_id, spec)) for check_id in CHECKS * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(started) == 1 and len(started[0]) == 1


def test_a_full_tier_run_starts_the_family_in_the_background_before_its_turn(monkeypatch):
    runs = []

    def fake_replica_process(run, payloads, timeout, where=None):
        runs.append(threading.current_thread().name)
        passed = dict.fromkeys(CHECKS)
        return [launcher.FamilyResults(devices=["/cpu:0", "/cpu:1"], found=passed) for _ in payloads]

    monkeypatch.setattr(launcher, "_run_replica_process", fake_replica_process)
    spec = _layer(keras.layers.Dense, ["8,7"], {"units": 7})
    report = run_spec(spec, checks=["check_no_weights_after_init", *CHECKS])
    assert [r.status for r in report.results] == ["passed"] * (1 + len(CHECKS))
    assert runs == ["keras-conformance-distribution"]


def test_what_a_check_raised_in_the_replicas_process_is_its_result(monkeypatch):
    found = dict.fromkeys(CHECKS)
    found["check_distributed_variables"] = ContractViolation("every variable mirrored, under two replicas",
                                                             "1 plain variable(s)", "use add_weight()")
    found["check_distributed_save_load"] = NotApplicable("declared stochastic_inference")

    def fake_replica_process(run, payloads, timeout, where=None):
        return [launcher.FamilyResults(devices=["/cpu:0", "/cpu:1"], found=found) for _ in payloads]

    monkeypatch.setattr(launcher, "_run_replica_process", fake_replica_process)
    spec = _layer(keras.layers.Dense, ["8,7"], {"units": 3})
    results = {r.check: r for r in (run_check(check_id, spec) for check_id in CHECKS)}
    variables = results["check_distributed_variables"]
    assert (variables.status, variables.expected, variables.seen, variables.hint) == (
        "failed", "every variable mirrored, under two replicas", "1 plain variable(s)", "use add_weight()")
    assert variables.contract.startswith("Built and called in a MirroredStrategy scope")
    saving = results["check_distributed_save_load"]
    assert (saving.status, saving.reason) == ("skipped", "declared stochastic_inference")
    assert results["check_distributed_predict_matches_one_device"].status == "passed"


def test_a_replica_process_past_the_timeout_is_killed_and_reported():
    # A layer that sleeps in the replicas' process: a plain Dense may finish within any
    # short timeout on a quiet machine, and the test must not depend on the machine's speed.
    spec = _layer(hostile.SleepsUnderAStrategy, ["8,7"], {"units": 6}, timeout=2.0)
    result = run_check("check_distributed_variables", spec)
    assert result.status == "failed", result.message
    assert "killed" in result.message or result.expected == "the check to finish within 2 s"


@pytest.mark.skipif(bool(compat.tf.config.list_physical_devices("GPU")), reason="this machine has GPUs")
def test_requiring_gpus_where_there_are_none_is_refused_with_the_reason():
    with pytest.raises(NoReplicas, match="two or more GPUs"):
        configure_replicas("gpu")


KNOWN_GOOD = [_full(s) for s in all_specs()]


@pytest.mark.slow
@pytest.mark.parametrize("spec", [pytest.param(s, id=s.label) for s in KNOWN_GOOD])
def test_every_known_good_target_passes(spec):
    distribution.prefetch(KNOWN_GOOD)  # one replica process for them all, the first time
    results = [run_check(check_id, spec) for check_id in CHECKS]
    assert not [f"{r.check}: {r.message}" for r in results if r.status not in ("passed", "skipped")]


@pytest.mark.slow
def test_undeclared_per_replica_statistics_fail_the_fit_check():
    result = run_check("check_distributed_fit_matches_one_device", _example(broken.BatchCentring))
    assert result.status == "failed" and "one fit step on one device" in result.message


def _visible_gpus():
    return len(compat.tf.config.list_physical_devices("GPU"))


@pytest.mark.gpu
@pytest.mark.skipif(_visible_gpus() < 2, reason="needs two or more visible GPUs as replicas")
def test_the_family_runs_over_the_visible_gpus(monkeypatch):
    monkeypatch.setenv(DEVICES_VARIABLE, "gpu")
    devices = ", ".join(f"/gpu:{index}" for index in range(_visible_gpus()))
    passing = [_layer(keras.layers.Dense, ["8,7"], {"units": 4}),
               _layer(keras.layers.BatchNormalization, ["8,7"]),
               _layer(SYNCED_BATCH_NORMALIZATION, ["8,7"], SYNCED_KWARGS),
               _example(broken.SamplesAndStepsCounted)]
    counter = _example(broken.SamplesSeenPerReplica)
    distribution.prefetch(passing + [counter])
    for spec in passing:
        assert not _problems(spec)
    result = run_check("check_distributed_fit_matches_one_device", counter)
    assert result.status == "failed" and f"replicas ({devices})" in result.message, result.message
