"""No false alarms: every check passes every reference and every built-in layer the notes name.

The default run covers the fast tier on every built-in layer, every layer reference and
two representative model references (a multi-input, multi-output one and a plain one),
and the full tier (fresh process, SavedModel export) on one layer: that keeps the default
suite inside its time budget on two cores. ``--run-slow`` (``tox -e slow``) runs both
tiers on every target.
"""

import dataclasses

import pytest

from conformance.known_good import all_specs
from conformance.runner import run_spec
from tests.verdict_sweeps import comparable, non_passing, pinned_statuses

SPECS = all_specs()
DEFAULT_MODELS = {"reference_models:wide_and_deep", "reference_models:my_model"}
FULL_TIER_SAMPLE = {"keras.layers:Dense"}


def _fast_marks(spec):
    heavy_model = spec.is_model and spec.label not in DEFAULT_MODELS
    return (pytest.mark.slow,) if heavy_model else ()


def _problems(report):
    return [f"{r.check} [{r.status}]: {r.message}" for r in report.results
            if r.status not in ("passed", "skipped", "xfail")]


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.label, marks=_fast_marks(s)) for s in SPECS])
def test_fast_tier_passes(spec):
    """... and gives the verdicts pinned in tests/verdicts/ (see test_verdicts.py)."""
    report = run_spec(dataclasses.replace(spec, tier="fast"))
    problems = _problems(report)
    assert not problems, "\n".join(problems)
    statuses = {result.check: result.status for result in report.results}
    assert comparable(non_passing(statuses)) == comparable(pinned_statuses(f"good:{spec.label}"))


@pytest.mark.parametrize(
    "spec",
    [pytest.param(s, id=s.label, marks=() if s.label in FULL_TIER_SAMPLE else pytest.mark.slow) for s in SPECS],
)
def test_full_tier_passes(spec):
    problems = _problems(run_spec(dataclasses.replace(spec, tier="full")))
    assert not problems, "\n".join(problems)
