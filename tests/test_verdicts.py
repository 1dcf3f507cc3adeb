"""A speed-up never changes a verdict: every check gives each broken layer and each
known-good target the status pinned in tests/verdicts/ (fast tier; the known-good sweep's
statuses are compared in test_known_good.py, which runs it anyway).

The default run pins a sample, the first broken layer of every family (every check on
each); ``--run-slow`` pins every broken layer. The pins hold each target's non-passing
statuses (a check absent passed); a target without a pin fails. After a deliberate change
of verdicts, or to pin a new target, regenerate with ``python scripts/pin_verdicts.py`` on
each Keras (tox -e tf215, tf221, tf221-legacy) and review the diff.
"""

import pytest

from tests.verdict_sweeps import broken_specs, comparable, pinned_statuses, target_statuses

BROKEN = broken_specs()


def _family(label):
    return label.split(":")[1]


def _marks(label, sampled):
    marks = [] if label in sampled else [pytest.mark.slow]
    if _family(label) == "distribution":
        # Beside tests/test_checks_distribution.py, which runs the family on these layers
        # in one replica process: the verdicts here then read its cached results.
        marks.append(pytest.mark.xdist_group("distribution"))
    return marks


def _first_of_each_family(labels):
    firsts = {}
    for label in labels:
        firsts.setdefault(_family(label), label)
    return set(firsts.values())


_SAMPLE = _first_of_each_family(BROKEN)


@pytest.mark.parametrize(
    "label", [pytest.param(label, marks=_marks(label, _SAMPLE)) for label in sorted(BROKEN)]
)
def test_broken_layer_verdicts_are_pinned(label):
    assert comparable(target_statuses(BROKEN[label])) == comparable(pinned_statuses(label))


def test_a_target_without_a_pin_fails_and_says_how_to_pin():
    with pytest.raises(pytest.fail.Exception, match="scripts/pin_verdicts.py"):
        pinned_statuses("broken:no-family:NoSuchLayer")
