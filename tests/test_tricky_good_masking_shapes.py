"""The masking and shapes checks pass correct layers that do what Keras allows in ways a
naive check would blame (examples/tricky_good/masking_shapes.py)."""

import pytest

from conformance.catalogue import all_checks
from conformance.runner import run_check
from conformance.spec import CheckSpec
from examples.tricky_good import masking_shapes as tricky

CHECKS = [c.id for family in ("masking", "shapes") for c in all_checks(family=family)]


def tricky_spec(label):
    cls, kwargs, inputs, traits = tricky.CASES[label]
    return CheckSpec(cls, inputs=inputs, kwargs=kwargs, traits=traits, label=f"tricky_good:{label}",
                     **tricky.SPEC_OPTIONS.get(label, {}))


@pytest.mark.parametrize("check_id", CHECKS)
@pytest.mark.parametrize("label", sorted(tricky.CASES))
def test_masking_and_shapes_checks_pass_tricky_good_layers(label, check_id):
    result = run_check(check_id, tricky_spec(label))
    assert result.status in ("passed", "skipped"), result.message
