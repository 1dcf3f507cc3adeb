"""Every check passes the correct layers of examples/tricky_good/masking_shapes.py: blocks
that take their masks as arguments, a layer whose output is a mask, layers that hand a mask
on or mix time steps, and the ways Keras lets a layer declare its output shapes."""

import pytest

from conformance.runner import run_spec
from conformance.spec import CheckSpec
from examples.tricky_good import masking_shapes as tricky


def tricky_spec(label):
    cls, kwargs, inputs, traits = tricky.CASES[label]
    return CheckSpec(cls, inputs=inputs, kwargs=kwargs, traits=traits, label=f"tricky_good:{label}",
                     import_path=f"{tricky.__name__}:{cls.__name__}", **tricky.SPEC_OPTIONS.get(label, {}))


@pytest.mark.parametrize("label", sorted(tricky.CASES))
def test_every_check_passes_the_tricky_layer(label):
    report = run_spec(tricky_spec(label))
    assert report.results
    failed = [f"{r.check}: {r.status}: {r.message}" for r in report.results
              if r.status not in ("passed", "skipped")]
    assert not failed, failed
