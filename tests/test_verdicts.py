"""A speed-up never changes a verdict: every check gives each broken layer and each
known-good target the status pinned in tests/verdicts/ (fast tier; the known-good sweep's
statuses are compared in test_known_good.py, which runs it anyway).

After a deliberate change of verdicts, regenerate with ``python scripts/pin_verdicts.py`` on
each Keras (tox -e tf215, tf221, tf221-legacy) and review the diff.
"""

import pytest

from tests.verdict_sweeps import broken_specs, pinned_statuses, target_statuses

BROKEN = broken_specs()


@pytest.mark.parametrize("label", sorted(BROKEN))
def test_broken_layer_verdicts_are_pinned(label):
    assert target_statuses(BROKEN[label]) == pinned_statuses(label)
