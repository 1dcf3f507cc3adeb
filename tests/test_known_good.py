"""No false alarms: every check passes every reference and every built-in layer the notes name.

The default run covers the fast tier on every target and the full tier (fresh process,
SavedModel export) on a few; ``--run-slow`` runs the full tier on all of them.
"""

import dataclasses

import pytest

from conformance.known_good import all_specs
from conformance.runner import run_spec

SPECS = all_specs()
FULL_TIER_SAMPLE = {"reference_models:simple_dense", "reference_models:wide_and_deep", "keras.layers:Dense"}


def _problems(spec, tier):
    report = run_spec(dataclasses.replace(spec, tier=tier))
    return [f"{r.check} [{r.status}]: {r.message}" for r in report.results
            if r.status not in ("passed", "skipped", "xfail")]


@pytest.mark.parametrize("spec", SPECS, ids=[s.label for s in SPECS])
def test_fast_tier_passes(spec):
    problems = _problems(spec, "fast")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "spec",
    [pytest.param(s, id=s.label, marks=() if s.label in FULL_TIER_SAMPLE else pytest.mark.slow) for s in SPECS],
)
def test_full_tier_passes(spec):
    problems = _problems(spec, "full")
    assert not problems, "\n".join(problems)
