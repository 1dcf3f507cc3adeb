"""The text report a person reads: a summary line per target, then only what needs a look."""

import json

from keras_compat import version_label
from conformance.formats import render
from conformance.report import UNUSABLE_CHECK, CheckResult, Report, TargetReport

CONTRACT = "Every variable the layer holds is tracked in its weights (no raw, untracked tf.Variable)."
VERSIONS = f" [{version_label()}]"


def _result(check, status, message="", family="construction", seconds=0.5):
    return CheckResult(check=check, family=family, status=status, message=message, seconds=seconds)


def _report():
    good = TargetReport("pkg.layers:Good", [
        _result("check_no_weights_after_init", "passed"),
        _result("check_training_argument_exposed", "skipped", "output does not depend on training", "modes"),
    ])
    broken = TargetReport("pkg.layers:Broken", [
        _result("check_no_weights_after_init", "passed"),
        _result("check_variables_tracked", "failed",
                f"check_variables_tracked: {CONTRACT} Expected add_weight(); saw layer.w untracked.{VERSIONS}"),
        _result("check_keras_save_load", "xfail",
                "expected to fail (not registered): check_keras_save_load: A model holding the target, "
                f"saved as .keras and loaded in safe mode, has the same weights and outputs. Expected "
                f"load_model() to rebuild the model; saw TypeError: Could not locate class.{VERSIONS}",
                "serialization"),
        _result("check_mixed_precision", "xpass", "expected to fail (pins float32) but passed", "dtype"),
    ])
    unusable = TargetReport("pkg.layers:Unbuildable", [
        _result(UNUSABLE_CHECK, "error", "pkg.layers:Unbuildable({'units': 4}) could not be built and "
                "called on inputs of shape (3, 7): TypeError: unexpected keyword argument 'units'"),
    ], error="pkg.layers:Unbuildable({'units': 4}) could not be built and called on inputs of shape "
             "(3, 7): TypeError: unexpected keyword argument 'units'")
    return Report(targets=[good, broken, unusable])


def test_one_summary_line_per_target_with_counts_and_seconds():
    lines = render(_report(), "text").splitlines()
    good, broken, unusable = lines[2:5]  # after the environment line and a blank one
    assert good.split()[:2] == ["PASSED", "pkg.layers:Good"]
    assert "1 passed, 1 skipped" in good and good.endswith("1.0s")
    assert broken.split()[:2] == ["FAILED", "pkg.layers:Broken"]
    assert "1 passed, 1 failed, 1 xpass, 1 xfail" in broken and broken.endswith("2.0s")
    assert unusable.startswith("ERROR") and "could not be built and called" in unusable
    assert lines[-1].startswith("1 of 3 target(s) passed, 1 could not be built and called")


def test_only_failures_errors_xpasses_and_xfails_are_listed_with_their_messages():
    text = render(_report(), "text")
    assert "output does not depend on training" not in text  # a skip's reason
    assert "check_no_weights_after_init" not in text  # a pass
    failed = next(l for l in text.splitlines() if "FAIL " in l)
    # The failure keeps its contract; the check id and the versions are not repeated.
    assert failed == f"  FAIL  check_variables_tracked: {CONTRACT} Expected add_weight(); saw layer.w untracked."
    xfail = next(l for l in text.splitlines() if "xfail check_keras_save_load" in l)
    assert xfail == ("  xfail check_keras_save_load: (not registered) Expected load_model() to rebuild "
                     "the model; saw TypeError: Could not locate class.")
    assert "  XPASS check_mixed_precision: expected to fail (pins float32) but passed" in text
    assert "  ERROR pkg.layers:Unbuildable({'units': 4}) could not be built" in text


def test_failures_come_before_expected_failures_within_a_target():
    lines = render(_report(), "text").splitlines()
    start = lines.index("pkg.layers:Broken")
    marks = [line.split()[0] for line in lines[start + 1:start + 4]]
    assert marks == ["FAIL", "XPASS", "xfail"]


def test_verbose_lists_every_check_and_whole_messages():
    text = render(_report(), "text", verbosity=1)
    assert "check_no_weights_after_init" in text and "output does not depend on training" in text
    assert "expected to fail (not registered): check_keras_save_load: A model holding" in text
    assert "pkg.layers:Unbuildable: ERROR" in text


def test_quiet_keeps_the_summary_lines_only():
    lines = render(_report(), "text", verbosity=-1).splitlines()
    assert len(lines) == 1 + 1 + 3 + 1 + 1  # header, blank, one per target, blank, total
    assert not any(line.startswith("  ") for line in lines)


def test_a_target_that_could_not_be_built_is_one_json_entry_with_its_error():
    report = json.loads(render(_report(), "json"))
    unusable = report["targets"][2]
    assert unusable["passed"] is False
    assert unusable["error"].startswith("pkg.layers:Unbuildable({'units': 4}) could not be built")
    assert [r["status"] for r in unusable["results"]] == ["error"]
    assert report["targets"][0]["error"] is None


def test_exit_code_precedence_broken_contract_then_unusable_target():
    good, broken, unusable = _report().targets
    assert Report(targets=[good]).exit_code == 0
    assert Report(targets=[good, unusable]).exit_code == 4
    assert Report(targets=[unusable, broken, good]).exit_code == 1
    broken_but_expected = TargetReport("pkg:X", [_result("check_a", "xpass", "but passed")])
    assert Report(targets=[broken_but_expected]).exit_code == 0
    broken_but_expected.strict = True
    assert Report(targets=[broken_but_expected]).exit_code == 1
