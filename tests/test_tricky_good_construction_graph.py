"""Every check passes correct layers that look broken to a naive construction,
serialization, graph or modes check (examples/tricky_good/construction_graph.py)."""

import pytest

import keras_compat as compat
from conformance.checks._common import random_in_training
from conformance.runner import run_check, run_spec
from conformance.spec import CheckSpec
from examples.tricky_good import construction_graph as tricky

def _spec(label):
    cls, kwargs, inputs, traits = tricky.CASES[label]
    return CheckSpec(cls, inputs=inputs, kwargs=kwargs, traits=traits, label=f"tricky_good:{label}")


@pytest.mark.parametrize("label", sorted(tricky.CASES))
def test_every_check_passes_the_tricky_layer(label):
    report = run_spec(_spec(label))
    failed = [result.message for result in report.results if result.status not in ("passed", "skipped")]
    assert not failed, failed
    assert sum(result.status == "passed" for result in report.results) > 20


def test_drop_path_on_a_batch_of_two_is_random_in_training_under_every_seed():
    spec = _spec("DropPath")
    for seed in range(20):
        with compat.seeded_draws(seed):
            layer = spec.built()
            assert random_in_training(spec, layer), seed


def test_a_layer_without_randomness_is_not_random_in_training():
    spec = _spec("InitKernelDense")
    assert not random_in_training(spec, spec.built())


def test_the_kernel_made_in_init_is_checked_and_passes():
    result = run_check("check_no_weights_after_init", _spec("InitKernelDense"))
    assert result.status == "passed", result.message
