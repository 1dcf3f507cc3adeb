"""pytest integration: one test per (target, check), selectable with ``-k``.

Usage, in a user's test module::

    from conformance import CheckSpec, parametrize_with_checks

    @parametrize_with_checks([CheckSpec(MyDense, input_shapes=[(3, 7)], kwargs={"units": 4})])
    def test_my_layers(spec, check):
        check(spec)
"""

from conformance.catalogue import all_checks
from conformance.report import result_text
from conformance.runner import run_check


class _PytestCheck:
    """Runs one check; pytest sees a failure, a skip or a pass."""

    def __init__(self, check):
        self.check = check
        self.__name__ = check.id

    def __call__(self, spec):
        import pytest

        # Expected failures are pytest xfail marks here, so the check runs unmodified. A
        # SystemExit or KeyboardInterrupt the layer raises is this test's error, not the
        # session's end; a real Ctrl-C still ends the session.
        plain = _with_golden_update(_without_expectations(spec))
        result = run_check(self.check, plain)
        if result.status == "skipped":
            pytest.skip(result_text(result))
        if result.status in ("failed", "error"):
            pytest.fail(f"{result.check}: {result_text(result)}", pytrace=False)

    def __repr__(self):
        return self.check.id


def _without_expectations(spec):
    import dataclasses

    return dataclasses.replace(spec, expected_failures={})


def _with_golden_update(spec):
    """``spec`` recording its golden files again when pytest runs with ``--update-golden``
    (the option of :mod:`conformance.pytest_plugin`)."""
    import dataclasses

    from conformance.pytest_plugin import golden_update_requested

    if golden_update_requested() and not spec.update_golden:
        return dataclasses.replace(spec, update_golden=True)
    return spec


def _expected_for(spec, expected_failures):
    expected = dict(spec.expected_failures)
    if callable(expected_failures):
        expected.update(expected_failures(spec) or {})
    elif expected_failures:
        expected.update(expected_failures)
    return expected


def parametrize_with_checks(specs, expected_failures=None, checks=None, golden=None):
    """A ``pytest.mark.parametrize`` over every (spec, check) pair.

    ``expected_failures`` is ``{check_id: reason}`` for every spec, or a callable taking a
    spec and returning such a dict; those tests are marked xfail (strict when the spec
    is strict). ``checks`` limits the run to some check ids. Test ids read
    ``ClassName-check_id``, so ``-k check_id`` or ``-k ClassName`` selects them.
    ``golden`` is the folder of golden files of every spec that names none itself
    (check_matches_golden; ``pytest --update-golden`` records them again).
    """
    import dataclasses

    import pytest

    if golden is not None:
        specs = [spec if spec.golden else dataclasses.replace(spec, golden=golden) for spec in specs]

    selected = all_checks("full")
    if checks is not None:
        wanted = set(checks)
        selected = [c for c in selected if c.id in wanted]
    params = []
    for spec in specs:
        expected = _expected_for(spec, expected_failures)
        for check in selected:
            marks = []
            if check.id in expected:
                marks.append(pytest.mark.xfail(reason=expected[check.id], strict=spec.strict))
            params.append(
                pytest.param(spec, _PytestCheck(check), id=f"{spec.cls.__name__}-{check.id}", marks=marks)
            )
    return pytest.mark.parametrize("spec, check", params)
