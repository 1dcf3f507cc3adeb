"""The code under test cannot break the run through processes or global state: a child that
hangs (ignoring SIGTERM, with a grandchild) is killed at its timeout, at exit, on SIGTERM and
on Ctrl-C; ``os._exit`` and segfaults in an isolated run are one error row; settings a layer
changes reach neither the caller nor the next target. No test leaves a process or a file:
each run gets a private TMPDIR, asserted empty afterwards, and a marker in its environment,
which every process it starts inherits: none may carry it after the run.
"""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import tensorflow as tf

import keras_compat as compat
from keras_compat import keras
from conformance import isolation
from conformance.loading import load_target
from conformance.parallel import run_specs
from conformance.runner import check_layer, run_spec
from conformance.spec import CheckSpec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROCESSES = os.path.join(ROOT, "examples", "hostile", "processes.py")
AT_IMPORT = os.path.join(ROOT, "examples", "hostile", "changes_globals_at_import.py")
MARKER = "KERAS_CONFORMANCE_TEST_RUN"


def _marked_processes(marker):
    """The pids of live processes (zombies aside) whose environment carries ``marker``."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
            with open(f"/proc/{entry}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ and state != b"Z":
            found.append(int(entry))
    return found


def _assert_nothing_left(marker, temp, wait=10.0):
    deadline = time.monotonic() + wait
    while _marked_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _marked_processes(marker)
    for pid in left:  # never leave them to the next test, then fail
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert left == [], f"processes left behind: {left}"
    assert os.listdir(temp) == [], f"files left in the temp folder: {os.listdir(temp)}"


@pytest.fixture
def run_env(tmp_path):
    """``(environment, marker, temp folder, flag folder)`` for one command run."""
    marker = uuid.uuid4().hex
    temp, flags = tmp_path / "tmp", tmp_path / "flags"
    temp.mkdir()
    flags.mkdir()
    env = dict(os.environ, TMPDIR=str(temp), HOSTILE_FLAG_DIR=str(flags), TF_CPP_MIN_LOG_LEVEL="2",
               TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", PYTHONPATH=ROOT)
    env[MARKER] = marker
    return env, marker, str(temp), str(flags)


def _command(*arguments):
    return [sys.executable, "-m", "conformance.cli", "check", *arguments]


def _wait_for_flag(flags, process, seconds=240.0):
    deadline = time.monotonic() + seconds
    while not os.listdir(flags):
        assert process.poll() is None, f"the run ended before the layer hung: {process.communicate()}"
        assert time.monotonic() < deadline, "the layer never started hanging"
        time.sleep(0.2)


def test_a_hung_child_is_killed_at_its_timeout_and_nothing_outlives_the_run(run_env):
    env, marker, temp, _ = run_env
    done = subprocess.run(
        _command(f"{PROCESSES}:HangsInChildProcess", "--input-shape", "3,4", "--tier", "full",
                 "--check", "check_fresh_process_load", "--timeout", "4", "--format", "json"),
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert '"check_fresh_process_load"' in done.stdout and "within 4 s" in done.stdout
    _assert_nothing_left(marker, temp)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_to_the_checker_ends_a_hung_child_and_its_group(run_env, signum, code):
    env, marker, temp, flags = run_env
    process = subprocess.Popen(
        _command(f"{PROCESSES}:HangsInChildProcess", "--input-shape", "3,4", "--tier", "full",
                 "--check", "check_fresh_process_load", "--format", "json"),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)  # its own group: the signal goes to it as a terminal's Ctrl-C would
    try:
        _wait_for_flag(flags, process)
        os.killpg(process.pid, signum)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == code, err
    _assert_nothing_left(marker, temp)


def _config(folder, *targets):
    """A pyproject.toml in ``folder`` whose table lists ``targets``, TOML lines each."""
    path = folder / "pyproject.toml"
    path.write_text("[tool.keras-conformance]\n" + "".join(
        f"[[tool.keras-conformance.targets]]\n{target}\n" for target in targets))
    return str(path)


def test_an_interrupted_parallel_run_leaves_no_target_process_and_no_file(run_env, tmp_path):
    env, marker, temp, flags = run_env
    config = _config(tmp_path, f'target = "{PROCESSES}:HangsInChildProcess"\ninput_shapes = [[3, 4]]',
                     'target = "keras.layers:Dense"\nkwargs = {units = 2}\ninput_shapes = [[3, 4]]')
    process = subprocess.Popen(
        _command("--jobs", "2", "--tier", "full", "--check", "check_fresh_process_load",
                 "--check", "check_keras_save_load", "--config", config),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        _wait_for_flag(flags, process)
        os.kill(process.pid, signal.SIGTERM)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 143
    _assert_nothing_left(marker, temp)


def test_a_full_tier_run_leaves_no_autograph_file(run_env):
    env, marker, temp, _ = run_env
    done = subprocess.run(
        _command("keras.layers:Dense", "--kwargs", '{"units": 2}', "--input-shape", "3,4", "--tier", "full",
                 "--family", "graph", "--family", "distribution"),
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    _assert_nothing_left(marker, temp)


def test_a_target_whose_module_changes_globals_at_import_does_not_change_the_next_ones(run_env, tmp_path):
    env, marker, temp, _ = run_env
    config = _config(tmp_path, f'target = "{AT_IMPORT}:Plain"\ninput_shapes = [[3, 4]]',
                     'target = "keras.layers:Conv2D"\nkwargs = {filters = 2, kernel_size = 3}\n'
                     'input_shapes = [[2, 6, 6, 1]]')  # channels_first would make it unbuildable
    selection = ["--check", "check_build_runs_once", "--check", "check_keras_save_load",
                 "--check", "check_graph_matches_eager", "--format", "json"]
    together = subprocess.run(_command("--config", config, *selection), cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
    found = {t["target"]: {r["check"]: r["status"] for r in t["results"]}
             for t in json.loads(together.stdout)["targets"]}
    conv = [t for t in found if "Conv2D" in t][0]
    alone = _statuses(check_layer(keras.layers.Conv2D, [(2, 6, 6, 1)], {"filters": 2, "kernel_size": 3},
                                  checks=[c for c in selection if c.startswith("check_")]))
    assert found[conv] == alone
    assert set(alone.values()) == {"passed"}
    _assert_nothing_left(marker, temp)


# -- in this process: the Python API -----------------------------------------------------

_FEW_CHECKS = ["check_build_runs_once", "check_keras_save_load", "check_graph_matches_eager",
               "check_output_shapes_agree"]


def _settings():
    return {
        "floatx": keras.backend.floatx(),
        "epsilon": keras.backend.epsilon(),
        "data_format": keras.backend.image_data_format(),
        "policy": compat.global_policy_name(),
        "safe_mode": compat.safe_mode_setting(),
        "eagerly": tf.config.functions_run_eagerly(),
        "environ": dict(os.environ),
    }


def _statuses(report):
    """Check id -> status of a :class:`Report` or a :class:`TargetReport`."""
    results = report.results() if callable(report.results) else report.results
    return {r.check: r.status for r in results}


def test_settings_a_layer_changes_reach_neither_the_caller_nor_the_next_target():
    changes = load_target(f"{PROCESSES}:ChangesGlobalsInCall")
    lambda_kwargs = {"function": lambda x: x * 2}
    conv_alone = _statuses(check_layer(keras.layers.Conv2D, [(2, 6, 6, 3)], {"filters": 2, "kernel_size": 3},
                                       checks=_FEW_CHECKS))
    lambda_alone = _statuses(check_layer(keras.layers.Lambda, [(3, 4)], lambda_kwargs, checks=_FEW_CHECKS))
    before = _settings()
    check_layer(changes, [(3, 4)], checks=_FEW_CHECKS)
    assert _settings() == before
    conv_after = _statuses(check_layer(keras.layers.Conv2D, [(2, 6, 6, 3)], {"filters": 2, "kernel_size": 3},
                                       checks=_FEW_CHECKS))
    lambda_after = _statuses(check_layer(keras.layers.Lambda, [(3, 4)], lambda_kwargs, checks=_FEW_CHECKS))
    assert (conv_after, lambda_after) == (conv_alone, lambda_alone)
    assert lambda_alone["check_keras_save_load"] != "passed"  # safe mode refuses the lambda


def test_a_safe_mode_load_stays_safe_after_user_code_enabled_unsafe_deserialization(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2)])
    path = str(tmp_path / "lambda.keras")
    compat.save_model(model, path)
    with isolation.isolated():
        if not compat.enable_unsafe_deserialization():
            pytest.skip("this Keras has no global unsafe-deserialization switch")
        with pytest.raises(Exception, match="(?i)lambda|safe"):
            compat.load_model(path)
    assert compat.safe_mode_setting() is not False


def test_a_check_that_times_out_and_hangs_stops_its_target_and_ends_its_thread_later():
    hangs = load_target(f"{PROCESSES}:HangsInCall")
    spec = CheckSpec(hangs, [(3, 4)], timeout=1.0)
    count = isolation.abandoned_count()
    report = run_spec(spec, checks=["check_build_runs_once", "check_output_shapes_agree",
                                    "check_graph_matches_eager"])
    statuses = [r.status for r in report.results]
    assert statuses[0] == "failed" and "within 1 s" in report.results[0].message
    assert statuses[1:] == ["error", "error"]
    assert "check_build_runs_once timed out and may still be running" in report.results[1].message
    assert isolation.abandoned_count() == count + 1 and isolation.abandoned_threads_alive()
    alive = len(isolation.abandoned_threads())  # other tests' may be running too
    sys.modules[hangs.__module__].RELEASE.set()  # the hung call returns: its thread ends
    try:
        deadline = time.monotonic() + 10
        while len(isolation.abandoned_threads()) >= alive and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(isolation.abandoned_threads()) == alive - 1
    finally:
        sys.modules[hangs.__module__].RELEASE.clear()


def test_os_exit_and_a_segfault_in_an_isolated_run_are_one_error_row_each(tmp_path, monkeypatch):
    specs = [CheckSpec(load_target(f"{PROCESSES}:{name}"), [(3, 4)], import_path=f"{PROCESSES}:{name}",
                       label=name) for name in ("ExitsHardInCall", "SegfaultsInCall")]
    dense = CheckSpec(keras.layers.Dense, [(3, 4)], {"units": 2}, import_path="keras.layers:Dense")
    checks = ["check_build_runs_once", "check_output_shapes_agree"]
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the run puts its target processes' files
    reports = run_specs(specs + [dense], 1, checks=checks, isolate=True)
    assert os.listdir(tmp_path) == []  # the crashed target processes' files went with the run
    exits, segfaults, dense_report = reports
    assert [r.status for r in exits.results] == ["error"]
    assert "exited with status 0" in exits.results[0].message
    assert [r.status for r in segfaults.results] == ["error"]
    assert "SIGSEGV" in segfaults.results[0].message
    assert _statuses(dense_report) == _statuses(run_spec(dense, checks=checks))
    assert [p for p in multiprocessing.active_children() if p.name == "keras-conformance-job"] == []


def test_after_a_check_that_cannot_be_stopped_the_next_targets_are_checked_in_a_fresh_process(run_env, tmp_path):
    """The hung check's thread keeps running in the checking process: its target's other
    checks are errors, the next target is checked in a target process (with the verdicts it
    gets alone), and the command exits with the verdict, not an abort (134) at shutdown."""
    env, marker, temp, _ = run_env
    config = _config(tmp_path, f'target = "{PROCESSES}:HangsInCall"\ninput_shapes = [[3, 4]]',
                     'target = "keras.layers:Dense"\nkwargs = {units = 2}\ninput_shapes = [[3, 4]]')
    checks = ["check_build_runs_once", "check_output_shapes_agree"]
    done = subprocess.run(_command("--config", config, "--timeout", "3", "--format", "json",
                                   *[arg for check in checks for arg in ("--check", check)]),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    hung, dense = json.loads(done.stdout)["targets"]
    assert [r["status"] for r in hung["results"]] == ["failed", "error"]
    assert "timed out and may still be running" in hung["results"][1]["message"]
    alone = _statuses(check_layer(keras.layers.Dense, [(3, 4)], {"units": 2}, checks=checks))
    assert {r["check"]: r["status"] for r in dense["results"]} == alone
    _assert_nothing_left(marker, temp)


def test_end_children_ends_a_child_that_ignores_sigterm_and_its_grandchild(run_env):
    env, marker, temp, _ = run_env
    script = ("import signal, subprocess, sys, time\n"
              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
              "print('ready', flush=True)\n"
              "time.sleep(600)\n")
    child = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    isolation.adopt_child(child.pid, poll=child.poll, grace=0.2)
    assert child.stdout.readline().strip() == "ready"
    assert len(_marked_processes(marker)) == 2
    started = time.monotonic()
    isolation.end_children()
    assert time.monotonic() - started < 5
    assert child.poll() == -signal.SIGKILL and child.pid not in isolation.live_children()
    child.stdout.close()
    _assert_nothing_left(marker, temp)


def test_a_run_folder_holds_the_temp_files_and_goes_with_the_run(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = (os.environ.get("TMPDIR"), tempfile.tempdir)
    with isolation.run_scope():
        folder = isolation.run_folder()
        assert tempfile.gettempdir() == folder == os.environ["TMPDIR"]
        with tempfile.NamedTemporaryFile(prefix="__autograph_generated_file", suffix=".py", delete=False):
            pass
    assert (os.environ.get("TMPDIR"), tempfile.tempdir) == before
    assert os.listdir(tmp_path) == []
