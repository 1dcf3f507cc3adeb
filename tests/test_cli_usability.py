"""The command as a user meets it: a target that cannot be checked, usage mistakes, the
report's folder, -v/-q, and a stderr free of TensorFlow's start-up lines."""

import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

from conformance import cli
from conformance.quiet_tensorflow import is_tensorflow_log_line, native_log_lines_filtered

DENSE = ["keras.layers:Dense", "--input-shape", "3,7"]
NOTES_SIMPLE_DENSE = ["examples/notes_verbatim/simple_dense.py:SimpleDense", "--input-shape", "3,7",
                      "--kwargs", '{"units": 4}']


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _target_file(tmp_path, body):
    """A TARGET file with a module name of its own (targets are imported by file name)."""
    name = f"usability_{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{name}.py"
    path.write_text("from keras_compat import keras\n\n" + textwrap.dedent(body))
    return str(path)


# -- a target that cannot be built and called: one row, exit 4 ---------------------------


def test_a_wrong_kwarg_is_one_error_row_with_the_cause_and_the_kwargs(capsys):
    code, out, _ = run(capsys, "check", *DENSE, "--kwargs", '{"units": 4, "nope": 1}')
    assert code == 4
    lines = out.splitlines()
    assert sum(1 for line in lines if line.startswith("ERROR")) == 1
    error_rows = [line for line in lines if line.startswith("  ERROR")]
    assert len(error_rows) == 1
    assert "keras.layers:Dense({'units': 4, 'nope': 1}) could not be built and called" in error_rows[0]
    assert "nope" in error_rows[0].split("could not be built and called", 1)[1]


def test_an_init_that_raises_is_one_json_entry_with_its_error(capsys, tmp_path):
    target = _target_file(tmp_path, """
        class Boom(keras.layers.Layer):
            def __init__(self, **kwargs):
                raise RuntimeError("the config server is down")
    """)
    code, out, _ = run(capsys, "check", f"{target}:Boom", "--input-shape", "3,7", "--format", "json")
    assert code == 4
    entry = json.loads(out)["targets"][0]
    assert entry["passed"] is False
    assert "RuntimeError: the config server is down" in entry["error"]
    assert [(r["check"], r["status"]) for r in entry["results"]] == [("build_and_call", "error")]


def test_a_target_that_hangs_is_stopped_by_the_timeout_and_reported_once(capsys, tmp_path):
    target = _target_file(tmp_path, """
        import time

        class Sleeper(keras.layers.Layer):
            def call(self, inputs):
                time.sleep(5)
                return inputs
    """)
    code, out, _ = run(capsys, "check", f"{target}:Sleeper", "--input-shape", "3,7", "--timeout", "0.5")
    assert code == 4
    assert "could not be built and called: it did not finish within 0.5 s" in out


def test_a_broken_contract_outranks_a_target_that_could_not_be_built(capsys, tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text(textwrap.dedent("""
        [tool.keras-conformance]
        format = "json"

        [[tool.keras-conformance.targets]]
        target = "keras.layers:Dense"
        kwargs = { units = 4, nope = 1 }
        input_shapes = [[3, 7]]

        [[tool.keras-conformance.targets]]
        target = "examples.notes_verbatim.simple_dense:SimpleDense"
        kwargs = { units = 4 }
        input_shapes = [[3, 7]]
    """))
    code, out, _ = run(capsys, "check", "--config", str(config))
    targets = json.loads(out)["targets"]
    assert [t["error"] is not None for t in targets] == [True, False]
    assert code == 1


# -- usage mistakes: one line, exit 2 ------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["check", *DENSE, "--timeout", "-1"], "--timeout takes a positive number of seconds, got -1"),
        (["check", *DENSE, "--timeout", "0"], "--timeout takes a positive number of seconds, got 0"),
        (["check", *DENSE, "--timeout", "nan"], "--timeout takes a positive number of seconds"),
        (["check", *DENSE, "--timeout", "soon"], "argument --timeout: invalid float value: 'soon'"),
        (["check", "keras.layers:Dense", "--input-shape", "-3,7"], "'-3,7'"),
        (["check", "keras.layers:Dense", "--input-shape", "3,-7"], "'3,-7'"),
        (["check", "keras.layers:Dense", "--input", "-3,7"], "-3,7"),
        (["check", *DENSE, "--format", "pdf"], "argument --format: invalid choice: 'pdf'"),
        (["check", *DENSE, "-v", "-q"], "not allowed with argument"),
        (["chekc"], "invalid choice: 'chekc'"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("keras-conformance: error: ")
    assert message in err
    assert "expected one argument" not in err and "Traceback" not in err and out == ""


def test_signed_values_are_attached_only_to_the_options_that_take_them():
    attach = cli._attach_signed_values
    assert attach(["--input-shape", "-3,7"]) == ["--input-shape=-3,7"]
    assert attach(["--input", "-3,6:int32@0..20", "--input", "q=2,5"]) == [
        "--input=-3,6:int32@0..20", "--input", "q=2,5"]
    assert attach(["--input-shape", "-v"]) == ["--input-shape", "-v"]
    assert attach(["--timeout", "-1"]) == ["--timeout", "-1"]
    assert attach(["--", "--input-shape", "-3"]) == ["--", "--input-shape", "-3"]


def test_help_exits_0_without_raising(capsys):
    code, out, _ = run(capsys, "check", "--help")
    assert code == 0 and "--verbose" in out and "html" in out


# -- the report file --------------------------------------------------------------------


def test_output_creates_the_folders_it_needs(capsys, tmp_path):
    report = tmp_path / "ci" / "artifacts" / "conformance.html"
    code, out, _ = run(capsys, "check", *DENSE, "--kwargs", '{"nope": 1}', "--format", "html",
                       "--output", str(report))
    assert code == 4
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "0 of 1 target(s) passed, 1 could not be built and called; html report written to" in out


def test_output_that_is_a_folder_is_a_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, "check", *DENSE, "--output", str(tmp_path))
    assert code == 2 and "is a folder" in err


# -- how much the text report says -----------------------------------------------------


def test_quiet_prints_the_summary_only_and_verbose_every_check(capsys):
    code, quiet, err = run(capsys, "check", *NOTES_SIMPLE_DENSE, "-q")
    assert code == 1 and err == ""  # no progress lines either
    assert len(quiet.splitlines()) == 5  # environment, blank, the target, blank, total
    code, verbose, _ = run(capsys, "check", *NOTES_SIMPLE_DENSE, "--verbose")
    assert code == 1
    assert "PASS  check_no_weights_after_init" in verbose and "skip  check_fresh_process_load" in verbose


def test_progress_is_one_plain_line_per_target_when_stderr_is_not_a_terminal(capsys):
    code, _, err = run(capsys, "check", *NOTES_SIMPLE_DENSE)
    assert code == 1
    assert err.splitlines() == [
        "keras-conformance: [1/1] checking examples/notes_verbatim/simple_dense.py:SimpleDense"]


# -- TensorFlow's own log lines ----------------------------------------------------------


def test_tensorflow_log_lines_are_recognised_and_other_lines_are_not():
    assert is_tensorflow_log_line("WARNING: All log messages before absl::InitializeLog() is called "
                                  "are written to STDERR")
    assert is_tensorflow_log_line("I0000 00:00:1796310599.696879    9184 device_compiler.h:186] "
                                  "Compiled cluster using XLA!")
    assert is_tensorflow_log_line("2026-12-03 15:09:59.697257: E external/local_xla/xla/stream_executor/"
                                  "stream_executor_internal.h:177] SetPriority unimplemented")
    assert is_tensorflow_log_line("2026-12-03 15:09:59.697257: I tensorflow/core/util/port.cc:153] "
                                  "oneDNN custom operations are on.")
    assert is_tensorflow_log_line("To enable the following instructions: AVX2 FMA, in other operations, "
                                  "rebuild TensorFlow with the appropriate compiler flags.")
    assert not is_tensorflow_log_line("F0000 00:00:1796310599.696879    9184 check.cc:1] aborting")
    assert not is_tensorflow_log_line("keras-conformance: error: --timeout takes a positive number")
    assert not is_tensorflow_log_line("Traceback (most recent call last):")


def test_the_filter_drops_tensorflow_lines_written_to_descriptor_2_and_keeps_the_rest(capfd):
    with native_log_lines_filtered():
        os.write(2, b"I0000 00:00:1796310599.696879    9184 device_compiler.h:186] Compiled cluster\n")
        os.write(2, b"a line of the user's own\n")
        os.write(2, b"2026-12-03 15:09:59.697257: E external/x.h:177] SetPriority unimplemented\n")
    err = capfd.readouterr().err
    assert err == "a line of the user's own\n"


def test_a_passing_run_prints_no_tensorflow_start_up_line():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    completed = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "check", "keras.layers:Dense",
         "--kwargs", '{"units": 4}', "--input-shape", "3,7"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.startswith("keras-conformance on Python")
    noise = [line for line in completed.stderr.splitlines() if is_tensorflow_log_line(line)]
    assert noise == []
    for marker in ("oneDNN", "cpu_feature_guard", "absl::InitializeLog", "XLA"):
        assert marker not in completed.stderr
    assert completed.stderr.splitlines() == ["keras-conformance: [1/1] checking keras.layers:Dense"]


# -- one options model: the command line, pyproject and CheckSpec -----------------------------


def _pending_inputs(argv):
    from conformance.config import run_options

    args = cli._build_parser().parse_args(cli._attach_signed_values(argv))
    return [pending.fields["inputs"] for pending in run_options(args).targets]


@pytest.mark.parametrize("table_line", ['inputs = ["3"]', "input_shapes = [[3]]"])
def test_pyproject_inputs_read_with_the_input_grammar_of_the_command_line(tmp_path, table_line):
    config = tmp_path / "pyproject.toml"
    config.write_text(textwrap.dedent(f"""
        [[tool.keras-conformance.targets]]
        target = "keras.layers:Dense"
        {table_line}
    """))
    from_table = _pending_inputs(["check", "--config", str(config)])
    from_input = _pending_inputs(["check", "keras.layers:Dense", "--input", "3"])
    from_shape = _pending_inputs(["check", "keras.layers:Dense", "--input-shape", "3"])
    assert from_table == from_input == from_shape
    assert from_input[0].texts() == ["3"]


@pytest.mark.parametrize("value, message", [
    ("3,7:int32", "--input-shape takes a shape only"),
    ("q=3,7", "--input-shape takes a shape only"),
    ("3,0", "every size must be a positive integer"),
])
def test_input_shape_takes_only_a_shape(value, message):
    from conformance.config import UsageError

    with pytest.raises(UsageError, match=message):
        _pending_inputs(["check", "keras.layers:Dense", "--input-shape", value])


def test_every_option_is_declared_once_and_the_parser_and_pyproject_keys_come_from_it():
    import dataclasses

    from conformance import config, options
    from conformance.spec import CheckSpec

    names = [option.name for option in options.OPTIONS]
    assert len(names) == len(set(names))
    parser = cli._build_parser()
    check = parser._subparsers._group_actions[0].choices["check"]
    parsed_flags = {flag for action in check._actions for flag in action.option_strings} - {"-h", "--help"}
    declared_flags = [flag for option in options.OPTIONS for flag in option.flags]
    assert sorted(parsed_flags) == sorted(declared_flags)
    assert len(declared_flags) == len(set(declared_flags))
    assert config.TARGET_KEYS == tuple(o.name for o in options.OPTIONS if o.target)
    assert config.TABLE_KEYS == ("targets",) + tuple(o.name for o in options.OPTIONS if o.table)
    spec_fields = {f.name for f in dataclasses.fields(CheckSpec)}
    assert {o.spec for o in options.OPTIONS if o.spec} <= spec_fields
    import inspect

    from conformance.runner import check_layer

    api = set(inspect.signature(check_layer).parameters)
    assert {o.api_argument for o in options.OPTIONS if o.api_argument} <= api
    # every per-target flag reaches the target entry the pyproject form is read from
    args = parser.parse_args(["check", "keras.layers:Dense", "--input", "3,7"])
    for option in options.TARGET_FLAGS:
        assert hasattr(args, option.attribute), option.name


def test_an_unknown_pyproject_key_is_refused_with_the_closest_declared_one(tmp_path):
    from conformance.config import UsageError

    config = tmp_path / "pyproject.toml"
    config.write_text(textwrap.dedent("""
        [tool.keras-conformance]
        run_timout = 5

        [[tool.keras-conformance.targets]]
        target = "keras.layers:Dense"
        inputs = ["3,7"]
        float32_output = ["0"]
    """))
    with pytest.raises(UsageError, match="did you mean 'run_timeout'"):
        _pending_inputs(["check", "--config", str(config)])
    config.write_text(config.read_text().replace("run_timout = 5", "run_timeout = 5"))
    with pytest.raises(UsageError, match="did you mean 'float32_outputs'"):
        _pending_inputs(["check", "--config", str(config)])


@pytest.mark.parametrize("field, value, said", [("tier", "slow", "CheckSpec tier must be 'fast' or 'full'"),
                                                ("timeout", -1, "CheckSpec timeout takes a positive number of seconds")])
def test_checkspec_validates_tier_and_timeout_by_the_options_own_rule(field, value, said):
    from conformance.spec import CheckSpec
    from keras_compat import keras

    with pytest.raises(ValueError, match=said):
        CheckSpec(keras.layers.Dense, inputs=["3,7"], kwargs={"units": 2}, **{field: value})
