"""The tests every check family shares, made once: each check has a broken layer, fails it
with a message naming the contract, what was expected and what was seen, and (for families
that take a list of correct targets) passes or skips every correct one."""

import pytest

from conformance.catalogue import all_checks
from conformance.runner import run_check
from conformance.spec import CheckSpec


def family_tests(family, broken):
    """``(check ids, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer)``
    for ``family``, whose broken layers are in the module ``broken`` (``BROKEN``, and
    ``SPEC_OPTIONS`` where a case needs more than kwargs and shapes). Assign the two tests
    to module-level names of the same names so that pytest collects them."""
    checks = [c.id for c in all_checks(family=family)]
    options = getattr(broken, "SPEC_OPTIONS", {})
    cases = [
        pytest.param(check_id, cls, kwargs, inputs, id=f"{check_id}-{cls.__name__}")
        for check_id, family_cases in broken.BROKEN.items()
        for cls, kwargs, inputs in family_cases
    ]

    def test_every_check_has_a_broken_layer():
        assert set(checks) == set(broken.BROKEN)

    @pytest.mark.parametrize("check_id, cls, kwargs, inputs", cases)
    def test_check_fails_its_broken_layer(check_id, cls, kwargs, inputs):
        result = run_check(check_id, CheckSpec(cls, inputs=inputs, kwargs=kwargs, **options.get(cls, {})))
        assert result.status == "failed", result.message
        assert check_id in result.message and "Expected" in result.message
        assert "saw" in result.message

    return checks, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer


def passes_correct_targets(checks, good):
    """A test that runs each of ``checks`` on each spec in ``good`` and wants no failure."""

    @pytest.mark.parametrize("spec", good)
    @pytest.mark.parametrize("check_id", checks)
    def test_check_passes_correct_layers(check_id, spec):
        result = run_check(check_id, spec)
        assert result.status in ("passed", "skipped"), result.message

    return test_check_passes_correct_layers
