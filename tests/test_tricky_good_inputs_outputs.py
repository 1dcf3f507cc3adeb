"""Every check passes the correct layers of examples/tricky_good/inputs_outputs.py: outputs
without a batch axis or with None in them, nested outputs, keyword tensors, constructor
arguments that are layers or arrays, and every input kind of the input model."""

import pytest

from conformance.catalogue import all_checks
from conformance.runner import run_check, run_spec
from conformance.spec import CheckSpec
from examples.tricky_good import inputs_outputs as tricky

#: What these layers meet that is not the input model's to fix, with the reason (none now:
#: a dict nested in a tuple, which no SavedModel signature can return, makes
#: check_saved_model_export skip saying so; see test_nested_outputs_skip_the_export_saying_why).
KNOWN = set()


def _spec(label, tier="fast"):
    case = dict(tricky.CASES[label])
    cls = case.pop("cls")
    return CheckSpec(cls, label=f"tricky_good:{label}", tier=tier,
                     import_path=f"{tricky.__name__}:{cls.__name__}", **case)


@pytest.mark.parametrize("label", sorted(tricky.CASES))
def test_every_check_passes_the_tricky_layer(label):
    report = run_spec(_spec(label))
    failed = [f"{r.check}: {r.status}: {r.message}" for r in report.results
              if r.status not in ("passed", "skipped") and (label, r.check) not in KNOWN]
    assert not failed, failed


@pytest.mark.parametrize("label", ["AnchoredBoxes", "OptionalCache", "NestedHeads", "SegmentConcat",
                                   "AddPositionTable"])
def test_the_model_based_checks_run_and_pass(label):
    spec = _spec(label, tier="full")
    for check in ("check_keras_save_load", "check_fresh_process_load", "check_batch_sizes",
                  "check_batch_independent_inference", "check_fit_updates_trainable_weights"):
        result = run_check(check, spec)
        assert result.status == "passed", result.message


def test_the_inference_only_layer_skips_its_training_checks_with_the_reason():
    spec = _spec("CacheUpdate")
    for check in all_checks("fast", family="gradients"):
        result = run_check(check.id, spec)
        assert result.status == "skipped" and "declared inference_only" in result.message


def test_an_unbatched_output_as_long_as_the_batch_must_be_declared():
    case = dict(tricky.CASES["AnchoredBoxesAsManyAsTheBatch"])
    case.pop("unbatched_outputs")
    undeclared = CheckSpec(case.pop("cls"), **case)
    result = run_check("check_batch_sizes", undeclared)
    assert result.status == "failed" and "unbatched_outputs" in result.message
    assert run_check("check_batch_sizes", _spec("AnchoredBoxesAsManyAsTheBatch")).status == "passed"


def test_nested_outputs_skip_the_export_saying_why():
    """TensorFlow's SavedModel signatures return a flat structure of tensors, and Keras's
    export passes a model's outputs as they are: a (tensor, dict) output cannot be exported
    whatever the layer, so the check skips with that reason instead of blaming the layer."""
    result = run_check("check_saved_model_export", _spec("NestedHeads", tier="full"))
    assert result.status == "skipped", result.message
    assert "no SavedModel signature can return" in result.reason
