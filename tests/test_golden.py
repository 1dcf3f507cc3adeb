"""Golden files: recorded on the first run (a skip), compared from then on, re-recorded on
request; the comparison names what differs and where, with dtype-aware tolerances."""

import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import keras_compat as compat
from conformance import golden
from conformance.catalogue import all_checks
from conformance.checks.golden import NO_DIRECTORY, golden_path
from conformance.runner import run_check, run_spec
from conformance.spec import CheckSpec
from examples.broken_layers import golden as broken
from keras_compat import keras
from tests.family_contract import family_tests

pytest_plugins = ["pytester"]

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHECK = "check_matches_golden"

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "golden", broken
)


def _spec(cls=broken.GatedResidual, directory=None, **fields):
    return CheckSpec(cls, inputs=broken.INPUTS, label=broken.LABEL, golden=str(directory), **fields)


def _files(directory):
    return sorted(os.listdir(directory))


def test_without_a_golden_folder_the_check_skips_saying_how_to_give_one():
    result = run_check(CHECK, CheckSpec(keras.layers.Dense, inputs=["3,6"], kwargs={"units": 4}))
    assert (result.status, result.reason) == ("skipped", NO_DIRECTORY)


def test_the_first_run_records_and_skips_the_next_compares_and_update_records_again(tmp_path):
    first = run_check(CHECK, _spec(directory=tmp_path))
    path = golden_path(_spec(directory=tmp_path))
    assert first.status == "skipped"
    assert first.reason.startswith(f"recorded {path} (first run")
    assert _files(tmp_path) == [os.path.basename(path)]  # no temporary file left behind
    assert run_check(CHECK, _spec(directory=tmp_path)).status == "passed"
    before = golden.read(path)
    with open(path, "ab") as stream:  # what --update-golden replaces, however damaged
        stream.write(b"junk")
    updated = run_check(CHECK, _spec(directory=tmp_path, update_golden=True))
    assert updated.status == "skipped" and "(--update-golden)" in updated.reason
    after = golden.read(path)
    for group in golden.GROUPS:
        assert [e.name for e in after.group(group)] == [e.name for e in before.group(group)]
    assert _files(tmp_path) == [os.path.basename(path)]


def test_the_committed_example_fails_the_changed_layer_and_passes_the_recorded_one():
    assert os.path.isfile(golden_path(broken.recorded_spec()))
    changed = run_check(CHECK, CheckSpec(broken.GatedResidualTypo, inputs=broken.INPUTS,
                                         **broken.SPEC_OPTIONS[broken.GatedResidualTypo]))
    assert changed.status == "failed"
    assert changed.seen.startswith("inference output '0' differing by up to ")
    assert "at index (" in changed.seen and "tolerance" in changed.seen
    assert "gradient w.r.t. weight 'kernel'" in changed.seen and "--update-golden" in changed.hint
    assert run_check(CHECK, broken.recorded_spec(update=False)).status == "passed"


def test_the_committed_example_is_what_the_layer_records_now(tmp_path):
    committed = golden.read(golden_path(broken.recorded_spec()))
    if golden.version_change(committed.about, golden.read(broken.record(tmp_path)).about):
        pytest.skip(f"the example was recorded with {golden.describe_versions(committed.about)}; "
                    "the weights Keras draws differ between versions")
    fresh = golden.read(golden_path(broken.recorded_spec(tmp_path)))
    assert set(fresh.groups) == set(committed.groups)
    for group in golden.GROUPS:
        for want, got in zip(committed.group(group), fresh.group(group)):
            assert (want.name, want.dtype) == (got.name, got.dtype)
            np.testing.assert_allclose(got.array, want.array, rtol=1e-6, atol=1e-7)


def test_the_one_character_change_is_seen_by_the_golden_file_alone():
    spec = CheckSpec(broken.GatedResidualTypo, inputs=broken.INPUTS,
                     **broken.SPEC_OPTIONS[broken.GatedResidualTypo])
    report = run_spec(spec, checks=all_checks("fast"))
    failed = [r.check for r in report.results if r.status in ("failed", "error")]
    assert failed == [CHECK], [r.message for r in report.results if r.status in ("failed", "error")]


class _WiderGate(broken.GatedResidual):
    """The recorded layer with its gate bias renamed: the weights no longer match the file."""

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(dim, dim), initializer="glorot_uniform")
        self.gate_kernel = self.add_weight(name="gate_kernel", shape=(dim, dim), initializer="glorot_uniform")
        self.gate_bias = self.add_weight(name="gate_offset", shape=(dim,), initializer="zeros")


def test_weights_that_changed_name_fail_saying_the_weights_changed(tmp_path):
    run_check(CHECK, _spec(directory=tmp_path))
    result = run_check(CHECK, _spec(_WiderGate, directory=tmp_path))
    assert result.status == "failed"
    assert "gate_bias(6,)" in result.expected and "gate_offset(6,)" in result.seen
    assert "the layer's weights changed" in result.seen


def test_a_damaged_file_fails_saying_it_cannot_be_read(tmp_path):
    path = golden_path(_spec(directory=tmp_path))
    pathlib.Path(path).write_bytes(b"not a zip file")
    result = run_check(CHECK, _spec(directory=tmp_path))
    assert result.status == "failed" and "cannot be read as a golden file" in result.seen


def test_a_difference_across_versions_says_the_versions_differ(tmp_path):
    run_check(CHECK, _spec(directory=tmp_path))
    path = golden_path(_spec(directory=tmp_path))
    recording = golden.read(path)
    recording.about["keras"] = "2.0.0"
    golden.write(path, recording)
    result = run_check(CHECK, _spec(broken.GatedResidualTypo, directory=tmp_path))
    assert result.status == "failed"
    assert "recorded with Keras 2.0.0" in result.hint and "not the layer" in result.hint
    assert run_check(CHECK, _spec(directory=tmp_path)).status == "passed"


def test_training_outputs_are_recorded_only_when_deterministic(tmp_path):
    for cls, kwargs in ((keras.layers.Dropout, {"rate": 0.5}), (keras.layers.BatchNormalization, {})):
        spec = CheckSpec(cls, inputs=["8,6"], kwargs=kwargs, golden=str(tmp_path))
        assert run_check(CHECK, spec).status == "skipped"
        recording = golden.read(golden_path(spec))
        assert recording.has("training") == (cls is keras.layers.BatchNormalization)
        assert run_check(CHECK, spec).status == "passed"


def test_inference_only_records_no_training_outputs_nor_gradients(tmp_path):
    spec = _spec(directory=tmp_path, traits={"inference_only"})
    run_check(CHECK, spec)
    recording = golden.read(golden_path(spec))
    assert not recording.has("training") and not recording.has("gradients")
    assert any("inference_only" in note for note in recording.about["not_recorded"])


# -- the file: names, writing, tolerances ---------------------------------------------------


def test_file_names_are_safe_stable_and_differ_with_kwargs_and_inputs(tmp_path):
    identity = {"kwargs": {"units": 4, "activation": np.tanh}, "inputs": ["3,6"], "call_kwargs": {}}
    name = golden.file_name("my pkg/layers:Dense<x>", identity, str(tmp_path))
    assert name == golden.file_name("my pkg/layers:Dense<x>", dict(identity), str(tmp_path))
    assert name.startswith("my_pkg_layers_Dense_x-") and name.endswith(".npz")
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    other_kwargs = {**identity, "kwargs": {"units": 5, "activation": np.tanh}}
    other_inputs = {**identity, "inputs": ["3,7"]}
    assert len({name, golden.file_name("my pkg/layers:Dense<x>", other_kwargs, str(tmp_path)),
                golden.file_name("my pkg/layers:Dense<x>", other_inputs, str(tmp_path))}) == 3


def test_the_name_of_a_file_target_does_not_depend_on_the_working_folder(tmp_path, monkeypatch):
    (tmp_path / "src").mkdir()
    layers = tmp_path / "src" / "layers.py"
    folder = tmp_path / "tests" / "golden"
    names = []
    for cwd in (tmp_path, tmp_path / "src"):
        monkeypatch.chdir(cwd)
        names.append(golden.name_base(f"{os.path.relpath(layers)}:Block", os.path.relpath(folder)))
    assert names == ["src_layers.py_Block", "src_layers.py_Block"]


def test_a_failed_write_leaves_no_file_behind(tmp_path, monkeypatch):
    recording = golden.Recording(groups={"inputs": [golden.Entry("x", np.ones(3), "float32")]})

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(OSError, match="disk full"):
        golden.write(str(tmp_path / "a.npz"), recording)
    assert _files(tmp_path) == []


def test_bfloat16_survives_the_file_as_its_dtype_name(tmp_path):
    import ml_dtypes

    path = str(tmp_path / "b.npz")
    values = np.array([1.5, -2.25], dtype=ml_dtypes.bfloat16)
    golden.write(path, golden.Recording(groups={"weights": [golden.Entry("w", values, "bfloat16")]}))
    entry = golden.read(path).group("weights")[0]
    assert entry.dtype == "bfloat16" and entry.array.tolist() == [1.5, -2.25]


@pytest.mark.parametrize("dtype, offset, off", [
    ("float64", 1e-7, True), ("float32", 1e-7, False), ("float32", 1e-3, True),
    ("float16", 1e-3, False), ("float16", 1e-1, True), ("bfloat16", 1e-2, False),
    ("int32", 1, True),
])
def test_tolerances_follow_the_dtype(dtype, offset, off):
    recorded = [golden.Entry("y", np.array([[1.0, 2.0], [3.0, 4.0]]), dtype)]
    seen = np.array([[1.0, 2.0], [3.0, 4.0 + offset * 4]])
    found = golden.worst_differences(lambda e: f"output {e.name!r}", recorded, [seen])
    assert bool(found) == off
    if off:
        assert found[0].index == (1, 1) and found[0].what == "output 'y'" and found[0].count == 1


def test_nan_agrees_with_nan_only():
    recorded = [golden.Entry("y", np.array([np.nan, 1.0]), "float32")]
    assert not golden.worst_differences(str, recorded, [np.array([np.nan, 1.0])])
    found = golden.worst_differences(str, recorded, [np.array([0.0, 1.0])])
    assert found and found[0].index == (0,) and found[0].difference == float("inf")


# -- the command line, pyproject, the Python API and pytest --------------------------------


def _run_options(argv):
    from conformance import cli, config

    return config.run_options(cli._build_parser().parse_args(argv))


def test_the_command_line_gives_golden_and_update_golden_to_the_spec():
    options = _run_options(["check", "keras.layers:Dense", "--input", "3,7", "--golden", "gold",
                            "--update-golden"])
    fields = options.targets[0].fields
    assert (fields["golden"], fields["update_golden"]) == ("gold", True)


def test_update_golden_without_a_golden_folder_is_a_usage_error():
    from conformance.config import UsageError

    with pytest.raises(UsageError, match="--update-golden needs --golden DIR"):
        _run_options(["check", "keras.layers:Dense", "--input", "3,7", "--update-golden"])


def test_pyproject_golden_is_relative_to_the_pyproject_folder(tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text(textwrap.dedent("""
        [tool.keras-conformance]
        golden = "tests/golden"

        [[tool.keras-conformance.targets]]
        target = "keras.layers:Dense"
        inputs = ["3,7"]

        [[tool.keras-conformance.targets]]
        target = "keras.layers:ReLU"
        inputs = ["3,7"]
        golden = "other"
    """))
    options = _run_options(["check", "--config", str(config)])
    assert [t.fields["golden"] for t in options.targets] == [
        os.path.join(str(tmp_path), "tests/golden"), os.path.join(str(tmp_path), "other")]


def test_the_python_api_and_the_payload_carry_golden(tmp_path):
    from conformance.runner import check_layer
    from conformance.spec import spec_from_payload

    report = check_layer(broken.GatedResidual, inputs=broken.INPUTS, label=broken.LABEL,
                         golden=tmp_path, checks=[CHECK])
    assert report.targets[0].results[0].reason.startswith("recorded ")
    spec = _spec(directory=tmp_path, import_path="examples.broken_layers.golden:GatedResidual")
    again = spec_from_payload(spec.to_payload())
    assert (again.golden, again.update_golden) == (str(tmp_path), False)


def test_pyproject_registers_the_pytest_plugin_by_its_module_name():
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["pytest11"] == {"conformance.pytest_plugin": "conformance.pytest_plugin"}


_USER_TESTS = """
from conformance import CheckSpec, parametrize_with_checks
from examples.broken_layers.golden import GatedResidual, INPUTS, LABEL


@parametrize_with_checks([CheckSpec(GatedResidual, inputs=INPUTS, label=LABEL)],
                         checks=["check_matches_golden"], golden={folder!r})
def test_layers(spec, check):
    check(spec)
"""


def test_pytest_update_golden_records_and_a_plain_run_compares(pytester, tmp_path):
    folder = tmp_path / "golden"
    pytester.makepyfile(test_user=_USER_TESTS.format(folder=str(folder)))
    options = ("-q", "-rs", "-p", "no:cacheprovider", "-p", "conformance.pytest_plugin")
    recorded = pytester.runpytest_inprocess(*options, "--update-golden")
    recorded.assert_outcomes(skipped=1)
    assert "(--update-golden)" in recorded.stdout.str()
    assert len(os.listdir(folder)) == 1
    pytester.runpytest_inprocess(*options).assert_outcomes(passed=1)


@pytest.mark.slow
def test_pytest_update_golden_in_a_fresh_process(tmp_path):
    folder = tmp_path / "golden"
    (tmp_path / "test_user.py").write_text(_USER_TESTS.format(folder=str(folder)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "2"}

    def pytest_run(*options):
        command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                   "-p", "conformance.pytest_plugin", "test_user.py", *options]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    recorded = pytest_run("--update-golden")
    assert "1 skipped" in recorded.stdout and "(--update-golden)" in recorded.stdout, recorded.stdout
    assert len(os.listdir(folder)) == 1
    compared = pytest_run()
    assert "1 passed" in compared.stdout, compared.stdout + compared.stderr


def test_the_pytest_plugin_imports_nothing_so_it_costs_other_sessions_nothing():
    import ast

    tree = ast.parse((ROOT / "conformance" / "pytest_plugin.py").read_text(encoding="utf-8"))
    assert not [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]


def test_values_computed_in_a_16_bit_dtype_get_its_tolerance(tmp_path):
    spec = CheckSpec(keras.layers.Dense, inputs=["3,6"], kwargs={"units": 4, "dtype": "mixed_bfloat16"},
                     golden=str(tmp_path))
    run_check(CHECK, spec)
    recording = golden.read(golden_path(spec))
    assert {e.dtype for e in recording.group("weights")} == {"float32"}
    assert {e.dtype for e in recording.group("inference") + recording.group("gradients")} == {"bfloat16"}
    assert run_check(CHECK, spec).status == "passed"


class _SeesTensorFloat32(keras.layers.Layer):
    """Records whether TensorFloat-32 was on during each call."""

    seen = []

    def call(self, inputs):
        import tensorflow as tf

        _SeesTensorFloat32.seen.append(tf.config.experimental.tensor_float_32_execution_enabled())
        return inputs * 2.0


def test_tensor_float_32_is_off_while_recording_and_comparing_and_restored(tmp_path):
    import tensorflow as tf

    spec = CheckSpec(_SeesTensorFloat32, inputs=["3,6"], golden=str(tmp_path))
    before = tf.config.experimental.tensor_float_32_execution_enabled()
    _SeesTensorFloat32.seen.clear()
    assert run_check(CHECK, spec).status == "skipped" and run_check(CHECK, spec).status == "passed"
    assert _SeesTensorFloat32.seen and not any(_SeesTensorFloat32.seen)
    assert tf.config.experimental.tensor_float_32_execution_enabled() == before


_PROJECT_LAYER = """
import tensorflow as tf
from keras_compat import keras


class Block(keras.layers.Layer):
    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(int(input_shape[-1]), 4))

    def call(self, inputs):
        return tf.nn.gelu(tf.matmul(inputs, self.kernel))
"""


@pytest.mark.slow
def test_the_command_records_then_catches_a_one_character_change_then_records_again(tmp_path):
    (tmp_path / "layers.py").write_text(_PROJECT_LAYER)
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.keras-conformance]
        golden = "tests/golden"

        [[tool.keras-conformance.targets]]
        target = "layers.py:Block"
        inputs = ["3,6"]
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "2"}

    def check(*options):
        command = [sys.executable, "-m", "conformance.supervisor", "check", "--check", CHECK, "-v", *options]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    first = check()
    assert first.returncode == 0 and "recorded " in first.stdout, first.stdout + first.stderr
    recorded = os.listdir(tmp_path / "tests" / "golden")  # relative to the pyproject's folder
    assert len(recorded) == 1 and recorded[0].startswith("layers.py_Block-"), recorded
    (tmp_path / "layers.py").write_text(_PROJECT_LAYER.replace("gelu(tf", "gelu(-tf"))
    changed = check()
    assert changed.returncode == 1 and "inference output '0' differing by up to" in changed.stdout, changed.stdout
    again = check("--update-golden")
    assert again.returncode == 0 and "(--update-golden)" in again.stdout, again.stdout + again.stderr


def test_a_folder_that_cannot_be_written_is_said_not_blamed_on_the_layer(tmp_path, monkeypatch):
    def refuse(path, recording):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(golden, "write", refuse)
    result = run_check(CHECK, _spec(directory=tmp_path))
    assert result.status == "skipped" and result.reason.startswith("could not record ")
    assert "PermissionError" in result.reason
