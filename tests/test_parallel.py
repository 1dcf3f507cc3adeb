"""``--jobs N``: targets checked in spawned target processes, one report in target order,
the same verdicts as in process; a crashed or hung target process is one error row; the target processes end
with the run, also when it is interrupted; bad ``jobs`` values are usage errors."""

import json
import multiprocessing
import pathlib
import pickle
import sys
import textwrap

import pytest

from keras_compat import keras
from conformance import cli, parallel
from conformance.loading import load_target
from conformance.report import UNUSABLE_CHECK
from conformance.runner import run_spec
from conformance.spec import CheckSpec, spec_from_payload

# Each spawned target process imports TensorFlow: keep these tests on one xdist worker, so that two
# sets of target processes do not compete for the same two cores.
pytestmark = pytest.mark.xdist_group("parallel")

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLE = f"{ROOT / 'examples' / 'broken_layers' / 'shapes.py'}:ShapeLyingDense"
HELPERS = "tests/parallel_targets.py"  # relative: the target processes start where the run started
LAYERS = f"{keras.__name__}.layers"
CHEAP_CHECKS = ["check_call_returns_tensors", "check_batch_sizes"]


def _pyproject(tmp_path, jobs_line):
    path = tmp_path / "pyproject.toml"
    path.write_text(textwrap.dedent(f"""\
        [tool.keras-conformance]
        {jobs_line}

        [[tool.keras-conformance.targets]]
        target = "keras.layers:Dense"
        kwargs = {{ units = 4 }}
        inputs = ["3,7"]

        [[tool.keras-conformance.targets]]
        target = "keras.layers:Activation"
        kwargs = {{ activation = "relu" }}
        inputs = ["3,7"]

        [[tool.keras-conformance.targets]]
        target = "{EXAMPLE}"
        input_shapes = [[3, 7]]
        expect_fail = {{ check_output_shapes_agree = "compute_output_shape returns the input shape" }}
        """))
    return str(path)


def _verdicts(report):
    return [(t["target"], t["error"], [(r["check"], r["status"]) for r in t["results"]])
            for t in report["targets"]]


def test_the_pyproject_jobs_give_the_serial_verdicts_in_target_order(tmp_path, capsys):
    config = _pyproject(tmp_path, "jobs = 2")
    serial = cli.main(["check", "--config", config, "--format", "json", "--jobs", "1"])
    serial_report = json.loads(capsys.readouterr().out)
    output = tmp_path / "report.json"
    jobs = cli.main(["check", "--config", config, "--format", "json", "--output", str(output)])
    progress = capsys.readouterr().err
    jobs_report = json.loads(output.read_text())
    assert jobs == serial == 0
    assert [t["target"] for t in jobs_report["targets"]] == [
        "keras.layers:Dense", "keras.layers:Activation", EXAMPLE]
    assert _verdicts(jobs_report) == _verdicts(serial_report)
    # One progress line per finished target, in the order they finished.
    finished = [line for line in progress.splitlines() if line.startswith("keras-conformance: [")]
    assert [line.split("]")[0] for line in finished] == [f"keras-conformance: [{k}/3" for k in "123"]
    assert all(" PASSED " in line for line in finished)


def _spec(cls, label, import_path, timeout=120.0, **kwargs):
    return CheckSpec(cls=cls, inputs=["3,7"], kwargs=kwargs, label=label,
                     import_path=import_path, timeout=timeout)


def test_a_crashed_or_hung_target_process_is_one_error_row_and_the_rest_is_checked(monkeypatch):
    # A hung target is stopped after every check's timeout together, plus this allowance.
    monkeypatch.setattr(parallel, "START_UP_ALLOWANCE", 2.0)
    specs = [
        _spec(keras.layers.Dense, "dense", f"{LAYERS}:Dense", units=4),
        _spec(keras.layers.Activation, "activation", f"{LAYERS}:Activation", activation="relu"),
        _spec(keras.layers.Dense, "dense without import_path", None, units=2),
        _spec(load_target(f"{HELPERS}:CrashingLayer"), "crashing", f"{HELPERS}:CrashingLayer"),
        _spec(load_target(f"{HELPERS}:GilHoldingLayer"), "hanging", f"{HELPERS}:GilHoldingLayer",
              timeout=1.0),
    ]
    arrived = []
    reports = parallel.run_specs(specs, 2, checks=CHEAP_CHECKS,
                                 on_report=lambda index, report: arrived.append(index))
    assert sorted(arrived) == [0, 1, 2, 3, 4]
    assert [r.target for r in reports] == [s.label for s in specs]
    assert [r.passed for r in reports[:3]] == [True, True, True]
    assert [r.status for r in reports[0].results] == ["passed", "passed"]
    for report, what in zip(reports[3:], ("died (it was killed by SIGKILL)", "took over 5 s")):
        assert [(r.check, r.status) for r in report.results] == [(UNUSABLE_CHECK, "error")]
        assert what in report.error and "check it alone" in report.error
    assert multiprocessing.active_children() == []


def test_the_workers_are_spawned_and_end_when_the_run_is_interrupted(monkeypatch):
    methods = []
    get_context = multiprocessing.get_context
    monkeypatch.setattr(parallel.multiprocessing, "get_context",
                        lambda method=None: methods.append(method) or get_context(method))

    def interrupt(index, spec):
        if index == 1:  # the first target is with a target process, the second not yet
            raise KeyboardInterrupt

    specs = [_spec(keras.layers.Dense, f"dense {n}", f"{LAYERS}:Dense", units=n) for n in (2, 3)]
    with pytest.raises(KeyboardInterrupt):
        parallel.run_specs(specs, 2, checks=CHEAP_CHECKS, on_start=interrupt)
    assert methods == ["spawn"]
    assert multiprocessing.active_children() == []


def test_one_target_another_process_can_check_runs_in_this_process(monkeypatch):
    def no_worker(*args):
        raise AssertionError("no target process is needed")

    monkeypatch.setattr(parallel, "_TargetProcess", no_worker)
    specs = [_spec(keras.layers.Dense, "dense", f"{LAYERS}:Dense", units=4),
             _spec(keras.layers.Dense, "local", None, units=2)]
    reports = parallel.run_specs(specs, 4, checks=CHEAP_CHECKS)
    assert [(r.target, r.passed) for r in reports] == [("dense", True), ("local", True)]


def _in_main_module(monkeypatch, function, name):
    function.__module__, function.__qualname__ = "__main__", name
    monkeypatch.setattr(sys.modules["__main__"], name, function, raising=False)
    return function


def test_what_goes_to_a_worker_and_back_pickles(monkeypatch):
    spec = _spec(keras.layers.Dense, "dense", f"{LAYERS}:Dense", units=4)
    rebuilt = spec_from_payload(pickle.loads(parallel.transferable_payload(spec)))
    assert (rebuilt.cls, rebuilt.kwargs, rebuilt.label) == (keras.layers.Dense, {"units": 4}, "dense")
    assert parallel.transferable_payload(_spec(keras.layers.Dense, "x", None, units=4)) is None
    lambda_spec = CheckSpec(cls=keras.layers.Lambda, inputs=["3,7"], kwargs={"function": lambda x: x},
                            import_path=f"{LAYERS}:Lambda")
    assert parallel.transferable_payload(lambda_spec) is None  # checked in process instead
    # Target processes never import the __main__ script: what it defines is checked in process too.
    in_main = type("InMain", (keras.layers.Layer,), {"__module__": "__main__"})
    assert parallel.transferable_payload(CheckSpec(cls=in_main, inputs=["3,7"], import_path="__main__:InMain")) is None
    double = _in_main_module(monkeypatch, lambda x: 2 * x, "double")
    assert pickle.loads(pickle.dumps(double)) is double  # it would pickle, but by a name of __main__
    main_function = CheckSpec(cls=keras.layers.Lambda, inputs=["3,7"], kwargs={"function": double},
                              import_path=f"{LAYERS}:Lambda")
    assert parallel.transferable_payload(main_function) is None
    report = run_spec(spec, checks=CHEAP_CHECKS)
    assert pickle.loads(pickle.dumps(report)) == report


def test_the_cpus_are_shared_between_the_workers():
    assert [parallel.threads_per_process(jobs, cpus=2) for jobs in (1, 2, 3)] == [2, 1, 1]
    assert parallel.threads_per_process(2, cpus=16) == 8


@pytest.mark.parametrize("argv, message", [
    (["--jobs", "0"], "--jobs takes a positive whole number of target processes, got 0"),
    (["--jobs", "-2"], "--jobs takes a positive whole number of target processes, got -2"),
    (["--jobs", "two"], "argument --jobs: invalid int value: 'two'"),
])
def test_a_bad_jobs_option_is_a_one_line_usage_error(capsys, argv, message):
    code = cli.main(["check", f"{LAYERS}:Dense", "--input", "3,7", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["0", '"2"', "true", "1.5"])
def test_a_bad_pyproject_jobs_is_a_one_line_usage_error(tmp_path, capsys, value):
    config = _pyproject(tmp_path, f"jobs = {value}")
    code = cli.main(["check", "--config", config])
    err = capsys.readouterr().err
    assert code == 2 and f"jobs in {config} takes a positive whole number" in err
    assert len(err.strip().splitlines()) == 1


def test_run_specs_refuses_a_bad_jobs_value():
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        parallel.run_specs([], 0)


def test_progress_shows_each_finished_target_once():
    import io

    from conformance.progress import LINES, LIVE, OFF, ParallelProgress
    from conformance.report import CheckResult, TargetReport

    spec = _spec(keras.layers.Dense, "pkg.layers:MyDense", f"{LAYERS}:Dense", units=4)
    report = TargetReport(target=spec.label, results=[
        CheckResult("check_a", "shapes", "passed", seconds=1.0),
        CheckResult("check_b", "shapes", "failed", "why", seconds=0.5)])
    shown = {}
    for mode in (LINES, LIVE, OFF):
        stream = io.StringIO()
        progress = ParallelProgress(stream, mode, 2)
        progress.start(0, spec)
        progress.report(0, report)
        progress.close()
        shown[mode] = stream.getvalue()
    assert shown[LINES] == "keras-conformance: [1/2] FAILED pkg.layers:MyDense (1 passed, 1 failed) 1.5s\n"
    assert "MyDense: FAILED" in shown[LIVE] and shown[LIVE].endswith("\r\033[K") and "\n" not in shown[LIVE]
    assert shown[OFF] == ""


def _slow_module(tmp_path, seconds):
    """A module with ``SlowDense``: every call takes ``seconds``."""
    module = tmp_path / "slow_layers.py"
    module.write_text(textwrap.dedent(f"""\
        import time
        from keras_compat import keras

        class SlowDense(keras.layers.Dense):
            def call(self, inputs):
                time.sleep({seconds})
                return super().call(inputs)
        """))
    return f"{module}:SlowDense"


def _config(tmp_path, *targets, table=""):
    path = tmp_path / "pyproject.toml"
    entries = "".join(f'\n[[tool.keras-conformance.targets]]\ntarget = "{target}"\nkwargs = {{ units = 2 }}\n'
                      f'inputs = ["3,4"]\n' for target in targets)
    path.write_text(f"[tool.keras-conformance]\n{table}\n{entries}")
    return str(path)


BUDGET_CHECKS = ["check_call_returns_tensors", "check_batch_sizes", "check_inference_deterministic",
                 "check_batch_independent_inference"]


def _checks_args(checks):
    return [arg for check in checks for arg in ("--check", check)]


def test_a_run_budget_that_ends_during_the_example_call_stops_the_run_without_blaming_the_target(tmp_path):
    """The probe's timeout is capped at what is left of the run's budget: when that ends the
    example call, the target is not run (exit 5), not "could not be built and called" (4)."""
    from conformance.report import Report
    from conformance.runner import Budget

    spec = CheckSpec(load_target(_slow_module(tmp_path, 2.0)), [(3, 4)], {"units": 2})
    target = run_spec(spec, checks=BUDGET_CHECKS, run_budget=Budget(1.0, "the run"))
    assert target.error is None and "the run's budget of 1 s ran out" in target.stopped
    assert [r.status for r in target.results] == ["skipped"] * len(BUDGET_CHECKS)
    assert Report(targets=[target]).exit_code == 5


def test_the_run_budget_holds_under_jobs(tmp_path, capsys):
    slow = _slow_module(tmp_path, 2.0)
    config = _config(tmp_path, slow, slow.replace("SlowDense", "SlowDense"), table="run_timeout = 3")
    output = tmp_path / "report.json"
    code = cli.main(["check", "--config", config, "--jobs", "2", "--format", "json", "--output", str(output),
                     *_checks_args(BUDGET_CHECKS)])
    report = json.loads(output.read_text())
    assert code == 5, capsys.readouterr().err
    assert report["complete"] is False and "the run's budget of 3 s ran out" in report["stopped"]
    assert len(report["targets"]) == 2
    for target in report["targets"]:
        assert "the run's budget of 3 s ran out" in target["stopped"]
        assert all(r["status"] != "passed" for r in target["results"][2:])
    assert multiprocessing.active_children() == []


def test_a_target_budget_holds_under_jobs_and_leaves_the_other_target_alone(tmp_path, capsys):
    slow = _slow_module(tmp_path, 1.5)
    dense = f"{LAYERS}:Dense"
    config = _config(tmp_path, slow, dense, table="target_timeout = 4")
    code = cli.main(["check", "--config", config, "--jobs", "2", "--format", "json",
                     *_checks_args(BUDGET_CHECKS)])
    report = json.loads(capsys.readouterr().out)
    alone = cli.main(["check", dense, "--kwargs", '{"units": 2}', "--input", "3,4", "--format", "json",
                      *_checks_args(BUDGET_CHECKS)])
    alone_report = json.loads(capsys.readouterr().out)
    assert alone == 0 and code == 1
    slow_rows = report["targets"][0]["results"]
    assert [r["check"] for r in slow_rows] == BUDGET_CHECKS
    assert slow_rows[-1]["status"] == "error" and "the target's budget of 4 s ran out" in slow_rows[-1]["message"]
    assert report["complete"] is True
    assert _verdicts({"targets": report["targets"][1:]}) == _verdicts(alone_report)
    assert multiprocessing.active_children() == []


def test_under_jobs_the_targets_are_imported_by_the_workers_only(tmp_path, capsys):
    records = tmp_path / "importers"
    records.mkdir()
    module = tmp_path / "records_its_importer.py"
    module.write_text(textwrap.dedent(f"""\
        import os
        open(os.path.join({str(records)!r}, str(os.getpid())), "w").close()
        from keras_compat import keras

        class RecordedDense(keras.layers.Dense):
            pass
        """))
    exits = ROOT / "examples" / "hostile" / "exits_at_import.py"
    config = _config(tmp_path, f"{exits}:Anything", f"{module}:RecordedDense")
    code = cli.main(["check", "--config", config, "--jobs", "2", "--format", "json", *_checks_args(CHEAP_CHECKS)])
    report = json.loads(capsys.readouterr().out)
    importers = {int(name) for name in __import__("os").listdir(records)}
    assert importers and __import__("os").getpid() not in importers
    alone = cli.main(["check", f"{module}:RecordedDense", "--kwargs", '{"units": 2}', "--input", "3,4",
                      "--format", "json", *_checks_args(CHEAP_CHECKS)])
    alone_report = json.loads(capsys.readouterr().out)
    assert code == 4 and alone == 0
    exited = report["targets"][0]
    assert [(r["check"], r["status"]) for r in exited["results"]] == [(UNUSABLE_CHECK, "error")]
    assert "while it was imported" in exited["error"]
    assert _verdicts({"targets": report["targets"][1:]}) == _verdicts(alone_report)
    assert multiprocessing.active_children() == []
