"""No false alarms on real layers (issue 17): the corpus of realworld/corpus.py, fast tier.

Each public layer of keras-hub, keras-rs and Keras's less common built-ins, called as its own
documentation calls it, passes every check but those its library really fails (each an
``expected_failures`` entry pointing at docs/real-world-findings.md, reported as xfail), and
gives the verdicts pinned in realworld/verdicts/ (re-pin: ``python -m realworld.pin``).

Slow: runs under ``pytest --run-slow tests/test_realworld.py`` or ``tox -e realworld``.
"""

import pytest

from realworld.corpus import all_targets, missing_library

TARGETS = all_targets()


def _unexpected(report):
    return [f"{r.check} [{r.status}]: {r.message}" for r in report.results
            if r.status not in ("passed", "skipped", "xfail")]


@pytest.mark.slow
@pytest.mark.parametrize("target", [pytest.param(t, id=t.label) for t in TARGETS])
def test_corpus_target(target):
    from realworld.pin import pinned, run, statuses, verdicts_path

    missing = missing_library(target)
    if missing is not None:
        pytest.skip(missing)
    pins = pinned()
    if target.label not in pins:
        pytest.skip(f"no pinned verdicts for {target.label} on this Keras ({verdicts_path().name}); "
                    "pin them with `python -m realworld.pin`")
    report = run(target)
    problems = _unexpected(report)
    assert not problems, "\n".join(problems)
    assert statuses(report) == pins[target.label]


def test_corpus_is_well_formed():
    """Cheap, in the default run: at least 30 targets, unique labels, and every declaration
    and expected failure carries its reason."""
    labels = [t.label for t in TARGETS]
    assert len(labels) >= 30
    assert len(set(labels)) == len(labels)
    for target in TARGETS:
        assert target.doc_call, target.label
        for reasons in (target.traits, target.expected_failures):
            assert all(isinstance(why, str) and why.strip() for why in reasons.values()), target.label
