"""A run the code under test cannot break (issue 18): a layer that exits, raises
KeyboardInterrupt, prints, takes sys.stdout, leaves a thread running, raises what cannot be
printed or sleeps gets that check as its own row, and the report stays whole and parseable.

Each hostile layer (examples/hostile/) is checked by the real command in a subprocess with
a timeout, from an empty working folder and with an empty temporary folder of its own; no
file may be left in either."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET

import pytest

from conformance import cli

ROOT = pathlib.Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "examples" / "hostile"
LAYERS = f"{HOSTILE / 'hostile_layers.py'}"
#: Two cheap checks: one calls in inference, one trains.
FEW = ["--check", "check_inference_deterministic", "--check", "check_fit_updates_trainable_weights"]


@pytest.fixture
def place(tmp_path):
    """``(working folder, temporary folder)``, both empty, both checked empty afterwards
    (but for ``out/``, where a test asks for its report)."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    yield cwd, tmp
    left = [p for p in cwd.rglob("*") if p.is_file() and "out" not in p.relative_to(cwd).parts]
    assert not left, f"files left in the working folder: {left}"
    assert not list(tmp.iterdir()), f"files left in the temporary folder: {list(tmp.iterdir())}"


def _env(tmp):
    env = dict(os.environ)
    env.update(PYTHONPATH=str(ROOT), TMPDIR=str(tmp), TF_CPP_MIN_LOG_LEVEL="2",
               TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    env.pop("KERAS_CONFORMANCE_DEBUG", None)
    return env


def _command(*argv):
    return [sys.executable, "-m", "conformance.cli", "check", *argv]


def _run(place, *argv, timeout=180):
    cwd, tmp = place
    return subprocess.run(_command(*argv), cwd=cwd, env=_env(tmp), capture_output=True, text=True,
                          timeout=timeout)


def _config(place, targets, **table):
    lines = ["[tool.keras-conformance]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    for target in targets:
        lines += ["[[tool.keras-conformance.targets]]", f"target = {json.dumps(target)}", 'inputs = ["2,3"]']
    path = place[0].parent / "pyproject.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _statuses(target):
    return {r["check"]: r["status"] for r in target["results"]}


HOSTILE_TARGETS = {
    "ExitsInCall": "called sys.exit(0)",
    "ExitsWithThreeInCall": "called sys.exit(3)",
    "InterruptsInCall": "raised KeyboardInterrupt",
    "RaisesUnprintable": "<unprintable message>",
}


@pytest.mark.parametrize("jobs", [1, 2])
def test_exits_interrupts_prints_and_stolen_stdout_end_only_their_own_checks(place, jobs):
    names = ["_Dense", *HOSTILE_TARGETS, "ExitsInTrainingCall", "PrintsInCall", "TakesStdout"]
    config = _config(place, [f"{LAYERS}:{name}" for name in names], format="json")
    completed = _run(place, "--config", config, "--jobs", str(jobs), *FEW)
    report = json.loads(completed.stdout)  # the layer's print went elsewhere
    assert "hello from the layer's call" in completed.stderr
    assert completed.returncode == 1, completed.stderr
    targets = {t["target"].rpartition(":")[2]: t for t in report["targets"]}
    assert list(targets) == names
    for name in ("_Dense", "PrintsInCall", "TakesStdout"):
        assert targets[name]["passed"], targets[name]
    for name, what in HOSTILE_TARGETS.items():
        # The example call already meets it: one error row, the target could not be checked.
        assert [r["status"] for r in targets[name]["results"]] == ["error"]
        assert what in targets[name]["error"], targets[name]["error"]
    training = _statuses(targets["ExitsInTrainingCall"])
    assert training == {"check_inference_deterministic": "passed", "check_fit_updates_trainable_weights": "error"}
    row = targets["ExitsInTrainingCall"]["results"][1]
    assert "called sys.exit(0)" in row["reason"] and "called sys.exit(0)" in row["message"]


def test_an_import_that_exits_is_that_targets_error_and_the_next_is_unchanged(place):
    config = _config(place, [f"{HOSTILE / 'exits_at_import.py'}:Anything",
                             f"{HOSTILE / 'interrupts_at_import.py'}:Anything", f"{LAYERS}:_Dense"],
                     format="json")
    completed = _run(place, "--config", config, *FEW)
    first, second, good = json.loads(completed.stdout)["targets"]
    assert completed.returncode == 4, completed.stderr
    assert "called sys.exit(0) while it was imported" in first["error"]
    assert "raised KeyboardInterrupt while it was imported" in second["error"]
    assert good["passed"] and set(_statuses(good).values()) == {"passed"}


def test_sys_exit_in_init_is_exit_4(place):
    completed = _run(place, f"{LAYERS}:ExitsInInit", "--input", "2,3", *FEW)
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert "the target called sys.exit(0)" in completed.stdout


def test_a_thread_left_running_does_not_keep_the_command_alive(place):
    started = time.monotonic()
    completed = _run(place, f"{LAYERS}:LeavesThread", "--input", "2,3", *FEW, timeout=60)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "PASSED" in completed.stdout and time.monotonic() - started < 60


def test_control_characters_and_nan_leave_junit_and_json_parseable(place):
    junit = place[0] / "out" / "report.xml"
    completed = _run(place, f"{LAYERS}:RaisesControlCharacters", "--input", "2,3", *FEW,
                     "--format", "junit", "--output", str(junit))
    assert completed.returncode == 4, completed.stderr
    error = ET.parse(junit).getroot().find("testsuite/testcase/error")
    assert "\\x00 byte" in error.get("message") and "\\x07 bell" in error.get("message")
    completed = _run(place, f"{LAYERS}:TakesKwarg", "--input", "2,3", "--kwargs", '{"scale": NaN}', *FEW,
                     "--format", "json")
    report = json.loads(completed.stdout, parse_constant=lambda name: pytest.fail(f"{name} in strict JSON"))
    assert report["targets"][0]["kwargs"] == {"scale": "nan"}


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_and_writes_what_finished(place, signum, code):
    config = _config(place, [f"{LAYERS}:_Dense", f"{LAYERS}:SleepsInCall", f"{LAYERS}:TakesKwarg"],
                     format="json")
    output = place[0] / "out" / "report.json"
    errors = place[0].parent / "stderr.txt"
    with open(errors, "w") as stderr:
        process = subprocess.Popen(_command("--config", config, *FEW, "--output", str(output)),
                                   cwd=place[0], env=_env(place[1]), stdout=subprocess.PIPE, stderr=stderr,
                                   text=True)
        try:
            deadline = time.monotonic() + 120
            while "[2/3] checking" not in errors.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.0)  # inside SleepsInCall's example call
            process.send_signal(signum)
            out, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == code, errors.read_text()
    report = json.loads(output.read_text())
    assert report["complete"] is False and signal.Signals(signum).name in report["stopped"]
    first, cut, rest = report["targets"]
    assert first["passed"] and cut["stopped"] and rest["stopped"].startswith("not run")
    assert "report written to" in out


def test_a_targets_budget_turns_its_remaining_checks_into_errors(place):
    completed = _run(place, f"{LAYERS}:SlowCall", "--input", "2,3", "--family", "construction",
                     "--target-timeout", "2", "--format", "json")
    results = json.loads(completed.stdout)["targets"][0]["results"]
    assert completed.returncode == 1
    ran_out = [r for r in results if r["status"] == "error"]
    assert ran_out and all("the target's budget of 2 s ran out" in r["reason"] for r in ran_out)


def test_a_runs_budget_reports_the_rest_as_not_run_and_exits_5(place):
    config = _config(place, [f"{LAYERS}:SlowCall", f"{LAYERS}:_Dense"], format="json", run_timeout=2)
    completed = _run(place, "--config", config, "--family", "construction")
    report = json.loads(completed.stdout)
    assert completed.returncode == 5, completed.stderr
    assert report["complete"] is False and "the run's budget of 2 s ran out" in report["stopped"]
    assert report["targets"][1]["stopped"].startswith("not run")


def test_an_example_call_longer_than_the_timeout_is_one_error_row(place):
    completed = _run(place, f"{LAYERS}:SleepsInCall", "--input", "2,3", *FEW, "--timeout", "1",
                     "--format", "json")
    target = json.loads(completed.stdout)["targets"][0]
    assert completed.returncode == 4
    assert [r["status"] for r in target["results"]] == ["error"] and "1 s" in target["error"]


# -- configuration mistakes: exit 2 before any check, in this process ---------------------

def _main(capsys, *argv):
    code = cli.main(list(argv))
    return code, *capsys.readouterr()


def _table(tmp_path, table, target="reference_models.layers.simple_dense:SimpleDense"):
    path = tmp_path / "pyproject.toml"
    path.write_text(textwrap.dedent(table) + textwrap.dedent(f"""
        [[tool.keras-conformance.targets]]
        target = "{target}"
        kwargs = {{units = 4}}
        inputs = ["2,3"]
    """))
    return str(path)


@pytest.mark.parametrize("table, message", [
    ("[tool.keras-conformance]\nformt = 'json'\n", "'formt' (did you mean 'format'?)"),
    ("[tool.keras-conformance]\ntimeout = -5\n", "timeout in [tool.keras-conformance]"),
    ("[tool.keras-conformance]\nformat = 'jsn'\n", "(did you mean 'json'?)"),
    ("[tool.keras-conformance]\nrun_timeout = 0\n", "run_timeout"),
])
def test_a_bad_pyproject_table_is_exit_2_before_any_check(capsys, tmp_path, table, message):
    code, out, err = _main(capsys, "check", "--config", _table(tmp_path, table))
    assert code == 2 and message in err and out == ""


def test_an_unknown_key_of_a_target_entry_is_exit_2_with_a_suggestion(capsys, tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.keras-conformance]\n[[tool.keras-conformance.targets]]\ntarget = "a.b:C"\n'
                    'inputs = ["2,3"]\ntraits = []\nexpect_fails = {}\n')
    code, _, err = _main(capsys, "check", "--config", str(path))
    assert code == 2 and "'expect_fails' (did you mean 'expect_fail'?)" in err


@pytest.mark.parametrize("option", ["--timeout", "--target-timeout", "--run-timeout"])
def test_a_non_positive_time_option_is_exit_2(capsys, option):
    code, _, err = _main(capsys, "check", "reference_models.layers.simple_dense:SimpleDense",
                         "--input", "2,3", option, "-5")
    assert code == 2 and option in err


def test_an_unwritable_output_is_exit_2_before_the_run(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, out, err = _main(capsys, "check", "reference_models.layers.simple_dense:SimpleDense",
                           "--input", "2,3", "--kwargs", '{"units": 4}', "--output", str(blocker / "r.json"))
    assert code == 2 and "--output" in err and out == ""
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


def test_an_unknown_check_id_is_exit_2_with_a_suggestion(capsys):
    code, _, err = _main(capsys, "check", "reference_models.layers.simple_dense:SimpleDense",
                         "--input", "2,3", "--check", "check_call_returns_tensor")
    assert code == 2 and "did you mean 'check_call_returns_tensors'" in err


# -- pytest integration ------------------------------------------------------------------

pytest_plugins = ["pytester"]


def test_a_layers_keyboard_interrupt_fails_its_test_and_the_session_goes_on(pytester):
    pytester.makepyfile(test_user=textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(HOSTILE)!r})
        from conformance import CheckSpec, parametrize_with_checks
        from hostile_layers import InterruptsInCall, _Dense

        @parametrize_with_checks([CheckSpec(InterruptsInCall, ["2,3"]), CheckSpec(_Dense, ["2,3"])],
                                 checks=["check_call_returns_tensors"])
        def test_layers(spec, check):
            check(spec)
    """))
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*raised KeyboardInterrupt*"])
