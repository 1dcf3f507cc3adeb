"""The command's supervisor: a layer that ends the checking process (``os._exit``, a
segfault) cannot turn the run into a green one with no report; a normal run prints the same
bytes as without the supervisor; a signal to the supervisor reaches the command once, which
writes its partial report; no process and no file outlive any of these runs."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from xml.etree import ElementTree

from conformance import supervisor
from conformance.exit_codes import EXIT_TARGET_UNUSABLE
from tests.test_hostile_processes import PROCESSES, ROOT, _assert_nothing_left, _wait_for_flag, run_env  # noqa: F401

DENSE = ["keras.layers:Dense", "--kwargs", '{"units": 2}', "--input-shape", "3,4"]


def _supervised(*arguments):
    return [sys.executable, "-m", "conformance.supervisor", "check", *arguments]


def test_the_console_script_is_the_supervisor():
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as handle:
        assert 'keras-conformance = "conformance.supervisor:main"' in handle.read()


def test_the_supervisor_imports_nothing_heavy():
    done = subprocess.run([sys.executable, "-c", "import sys, conformance.supervisor; print(sorted(sys.modules))"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    loaded = set(eval(done.stdout))  # noqa: S307 - our own output, a list of names
    assert not {"tensorflow", "keras", "numpy", "keras_compat", "conformance.config", "conformance.cli"} & loaded


def test_os_exit_in_call_is_a_non_zero_exit_naming_the_target(run_env, tmp_path):
    env, marker, temp, _ = run_env
    output = tmp_path / "report.json"
    output.write_text('{"an old report": "that must not pass for this run\'s"}')
    done = subprocess.run(_supervised(f"{PROCESSES}:ExitsHardInCall", "--input-shape", "3,4", "--format", "json",
                                      "--output", str(output)),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_TARGET_UNUSABLE, done.stderr
    line = ("the checking process exited with status 0 without finishing its report, as os._exit in the "
            f"code under test does, while checking {PROCESSES}:ExitsHardInCall (building it and calling it once")
    assert line in done.stderr
    report = json.loads(output.read_text())
    assert report["complete"] is False and report["targets"] == [] and line in report["stopped"]
    _assert_nothing_left(marker, temp)


def test_os_exit_in_a_check_names_that_check(run_env, tmp_path):
    env, marker, temp, _ = run_env
    module = tmp_path / "exits_on_second_call.py"
    module.write_text(textwrap.dedent("""\
        import os
        from keras_compat import keras

        CALLS = []

        class ExitsOnSecondCall(keras.layers.Layer):
            def call(self, inputs):
                CALLS.append(1)
                if len(CALLS) > 1:
                    os._exit(0)
                return inputs
        """))
    done = subprocess.run(_supervised(f"{module}:ExitsOnSecondCall", "--input-shape", "3,4",
                                      "--check", "check_build_runs_once"),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_TARGET_UNUSABLE, done.stderr
    assert f"while checking {module}:ExitsOnSecondCall (" in done.stderr
    assert "check_build_runs_once" in done.stderr.rpartition("while checking")[2]
    _assert_nothing_left(marker, temp)


def test_a_segfault_in_call_is_a_non_zero_exit_naming_the_crash(run_env, tmp_path):
    env, marker, temp, _ = run_env
    output = tmp_path / "report.xml"
    done = subprocess.run(_supervised(f"{PROCESSES}:SegfaultsInCall", "--input-shape", "3,4",
                                      "--format", "junit", "--output", str(output)),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_TARGET_UNUSABLE, done.stderr
    line = (f"the checking process was killed by SIGSEGV, a crash in native code, while checking "
            f"{PROCESSES}:SegfaultsInCall")
    assert line in done.stderr
    error = ElementTree.parse(output).getroot().find("testsuite/testcase/error")
    assert line in error.get("message")
    _assert_nothing_left(marker, temp)


def test_a_normal_run_prints_the_same_report_and_exit_code_as_without_the_supervisor(run_env):
    env, marker, temp, _ = run_env
    selection = [*DENSE, "--check", "check_build_runs_once", "--format", "json"]
    supervised = subprocess.run(_supervised(*selection), cwd=ROOT, env=env, capture_output=True, timeout=300)
    alone = subprocess.run(_supervised(*selection), cwd=ROOT, env=dict(env, **{supervisor.MARKER: "off"}),
                           capture_output=True, timeout=300)
    assert supervised.returncode == alone.returncode == 0, supervised.stderr
    strip_seconds = [{**t, "results": [{**r, "seconds": 0} for r in t["results"]]}
                     for t in json.loads(supervised.stdout)["targets"]]
    assert strip_seconds == [{**t, "results": [{**r, "seconds": 0} for r in t["results"]]}
                             for t in json.loads(alone.stdout)["targets"]]
    assert b"checking process" not in supervised.stderr
    _assert_nothing_left(marker, temp)


def _terminated_report(run_env, send):
    env, marker, temp, flags = run_env
    process = subprocess.Popen(
        _supervised(f"{PROCESSES}:HangsInChildProcess", "--input-shape", "3,4", "--tier", "full",
                    "--check", "check_build_runs_once", "--check", "check_fresh_process_load", "--format", "json"),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_for_flag(flags, process)
        send(process)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 143, err
    report = json.loads(out)
    statuses = {r["check"]: r["status"] for t in report["targets"] for r in t["results"]}
    assert statuses.get("check_build_runs_once") == "passed", out
    assert "checking process" not in err
    _assert_nothing_left(marker, temp)


def test_sigterm_to_the_supervisor_alone_reaches_the_command_which_writes_its_partial_report(run_env):
    _terminated_report(run_env, lambda process: os.kill(process.pid, signal.SIGTERM))


def test_sigterm_to_the_whole_group_is_not_sent_twice(run_env):
    _terminated_report(run_env, lambda process: os.killpg(process.pid, signal.SIGTERM))


def test_the_command_ends_with_a_supervisor_killed_outright(run_env):
    """SIGKILL leaves the supervisor no way to forward anything: the command (and the
    children it started) must still end, not run on as orphans."""
    env, marker, temp, flags = run_env
    process = subprocess.Popen(
        _supervised(f"{PROCESSES}:HangsInChildProcess", "--input-shape", "3,4", "--tier", "full",
                    "--check", "check_build_runs_once", "--check", "check_fresh_process_load", "--format", "json"),
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_flag(flags, process)
        os.kill(process.pid, signal.SIGKILL)  # the supervisor only, not its group
        process.wait(timeout=30)
        _assert_nothing_left(marker, temp, wait=20.0)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass
