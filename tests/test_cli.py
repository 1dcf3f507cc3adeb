"""The keras-conformance command: exit codes, one-line errors, formats and pyproject targets."""

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

from conformance import cli

NOTES_SIMPLE_DENSE = "examples/notes_verbatim/simple_dense.py:SimpleDense"
REFERENCE_SIMPLE_DENSE = "reference_models.layers.simple_dense:SimpleDense"
FAST = ["--input-shape", "3,7", "--kwargs", '{"units": 4}']


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_correct_layer_passes_with_exit_0(capsys):
    code, out, _ = run(capsys, "check", REFERENCE_SIMPLE_DENSE, *FAST, "--reference", "simple_dense")
    assert code == 0, out
    assert "PASSED" in out


def test_a_broken_layer_fails_with_exit_1_and_names_the_contract(capsys):
    code, out, _ = run(capsys, "check", NOTES_SIMPLE_DENSE, *FAST)
    assert code == 1
    assert "FAIL  check_accepts_base_kwargs" in out
    assert "unexpected keyword argument 'name'" in out


def test_expected_failures_turn_failures_into_xfail_and_exit_0(capsys):
    failing = cli.main(["check", NOTES_SIMPLE_DENSE, *FAST, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    failed = [r["check"] for r in report["targets"][0]["results"] if r["status"] == "failed"]
    assert failing == 1 and failed
    argv = ["check", NOTES_SIMPLE_DENSE, *FAST, "--format", "json"]
    for check in failed:
        argv += ["--expect-fail", f"{check}=the notes' version is known broken"]
    code, out, _ = run(capsys, *argv)
    statuses = {r["check"]: r["status"] for r in json.loads(out)["targets"][0]["results"]}
    assert code == 0
    assert all(statuses[c] == "xfail" for c in failed)


def test_json_report_has_the_documented_shape(capsys):
    code, out, _ = run(capsys, "check", NOTES_SIMPLE_DENSE, *FAST, "--format", "json")
    report = json.loads(out)
    assert set(report) == {"tool", "environment", "complete", "stopped", "targets"}
    assert report["complete"] is True and report["stopped"] is None
    assert report["tool"]["name"] == "keras-conformance" and report["tool"]["version"]
    assert set(report["environment"]) == {"python", "tensorflow", "keras", "versions"}
    target = report["targets"][0]
    assert target["target"] == NOTES_SIMPLE_DENSE and target["passed"] is False
    for result in target["results"]:
        assert set(result) == {"check", "family", "status", "message", "seconds", "contract",
                               "expected", "seen", "hint", "reason", "note"}
        assert result["status"] in {"passed", "failed", "error", "skipped", "xfail", "xpass"}


def test_junit_and_markdown_reports_are_written_to_output(capsys, tmp_path):
    junit = tmp_path / "report.xml"
    code, out, _ = run(capsys, "check", NOTES_SIMPLE_DENSE, *FAST, "--format", "junit", "--output", str(junit))
    assert code == 1 and "report written to" in out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert int(suite.get("failures")) >= 1
    assert suite.find("testcase[@name='check_accepts_base_kwargs']/failure") is not None
    markdown = tmp_path / "report.md"
    run(capsys, "check", NOTES_SIMPLE_DENSE, *FAST, "--format", "markdown", "--output", str(markdown))
    text = markdown.read_text()
    assert "| `check_accepts_base_kwargs` | construction | failed |" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["check", "no_colon_here", "--input-shape", "3,7"], "TARGET must be"),
        (["check", "examples/missing.py:A", "--input-shape", "3,7"], "no such file"),
        (["check", "json:JSONDecoder", "--input-shape", "3,7"], "not a keras.layers.Layer"),
        (["check", NOTES_SIMPLE_DENSE, "--input-shape", "3,7", "--kwargs", "{units: 4}"], "not valid JSON"),
        (["check", NOTES_SIMPLE_DENSE, "--input-shape", "3,7", "--kwargs", "[4]"], "must be a JSON object"),
        (["check", NOTES_SIMPLE_DENSE, "--input-shape", "3,seven"], "--input-shape takes"),
        (["check", NOTES_SIMPLE_DENSE], "say what it is called with"),
        (["check", NOTES_SIMPLE_DENSE, "--input-shape", "3,7", "--reference", "nope"], "unknown reference 'nope'"),
        (["check", NOTES_SIMPLE_DENSE, "--input-shape", "3,7", "--expect-fail", "check_nope=x"], "unknown checks: check_nope"),
        (["check", NOTES_SIMPLE_DENSE, "--input-shape", "3,7", "--expect-fail", "no_reason"], "CHECK_ID=REASON"),
        (["check", NOTES_SIMPLE_DENSE, "--input-shape", "3,7", "--trait", "nope"], "unknown trait"),
        (["check", "--config", "missing.toml"], "no TARGET given"),
        ([], "choose a command"),
    ],
)
def test_usage_errors_exit_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) <= 2  # argparse may add its usage line
    assert "Traceback" not in err and out == ""


def test_check_without_target_reads_pyproject_targets(capsys, tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text(textwrap.dedent(f"""
        [tool.keras-conformance]
        format = "json"

        [[tool.keras-conformance.targets]]
        target = "{REFERENCE_SIMPLE_DENSE}"
        kwargs = {{units = 4}}
        input_shapes = [[3, 7]]

        [[tool.keras-conformance.targets]]
        target = "reference_models.layers.dropout:InvertedDropout"
        reference = "dropout"
    """))
    code, out, _ = run(capsys, "check", "--config", str(config))
    report = json.loads(out)
    assert code == 0, out
    assert [t["target"] for t in report["targets"]] == [
        REFERENCE_SIMPLE_DENSE, "reference_models.layers.dropout:InvertedDropout",
    ]


def test_catalogue_and_references_listings(capsys):
    code, out, _ = run(capsys, "checks")
    assert code == 0
    assert "check_variables_tracked" in out and "construction" in out and "declarable traits" in out
    code, out, _ = run(capsys, "references")
    assert code == 0 and "simple_dense" in out and "wide_and_deep" in out


def test_console_script_runs_in_a_real_process():
    completed = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "check", "nope:Nope", "--input-shape", "3,7"],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 2
    assert "keras-conformance: error: cannot import 'nope'" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_keras_module_path_names_the_keras_the_checker_runs():
    """With tf-keras (TF_USE_LEGACY_KERAS=1), ``import keras`` is still Keras 3 while the
    checker runs tf.keras: ``keras.layers:Dense`` must name tf.keras's Dense there too."""
    from conformance.loading import load_target
    from keras_compat import keras

    assert load_target("keras.layers:Dense") is keras.layers.Dense
