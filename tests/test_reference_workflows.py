"""Each form of each reference trains, evaluates, predicts, summarises and round-trips.

Training runs on one form of each reference in the default run (the subclassed one where
there is one: the form most likely to break); ``--run-slow`` trains every form.
(tests/test_reference_styles.py checks that the forms agree on outputs and gradients.)
"""

import json
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import reference_models
import keras_compat as compat
from conformance.tensors import as_arrays, max_abs_diff
from conformance.wrapping import ensure_model, targets_for
from reference_models.transfer import randomize_weights

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORMS = [
    pytest.param(name, style, id=f"{name}-{style}")
    for name in reference_models.names()
    for style in reference_models.get(name).styles
]


def _trained_in_the_default_run(name):
    styles = reference_models.get(name).styles
    return "subclassed" if "subclassed" in styles else styles[0]


TRAINED_FORMS = [
    pytest.param(name, style, id=f"{name}-{style}",
                 marks=() if style == _trained_in_the_default_run(name) else pytest.mark.slow)
    for name in reference_models.names()
    for style in reference_models.get(name).styles
]


def _model(name, style):
    ref = reference_models.get(name)
    return ref, ensure_model(ref.build(style), ref.shapes())


@pytest.mark.parametrize("name, style", TRAINED_FORMS)
def test_fit_evaluate_predict_and_summary_work(name, style):
    ref, model = _model(name, style)
    compile_kwargs = dict(ref.compile_kwargs) or {"optimizer": "adam", "loss": "mse"}
    model.compile(jit_compile=False, **compile_kwargs)
    x = ref.example_inputs(batch_size=8, seed=1)
    y = targets_for(model.predict(x, verbose=0), compile_kwargs["loss"])

    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    scores = model.evaluate(x, y, verbose=0, return_dict=True)
    assert np.isfinite(scores["loss"])
    predictions = as_arrays(model.predict(x, verbose=0))
    assert [p.shape[0] for p in predictions] == [8] * len(predictions)

    lines = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    text = "\n".join(lines)
    assert _summary_count(text, "Trainable") == _count(model.trainable_weights)
    assert _summary_count(text, "Non-trainable") == _count(model.non_trainable_weights)
    assert model.count_params() == _count(model.weights)


def _count(weights):
    return int(sum(np.prod(tuple(w.shape)) for w in weights))


def _summary_count(text, kind):
    # Keras 3 prints "Trainable params: 1,002 (3.91 KB)", Keras 2 "Trainable params: 1002".
    match = re.search(rf"^\s*{kind} params: ([\d,]+)", text, flags=re.MULTILINE)
    assert match, f"no '{kind} params' line in the summary:\n{text}"
    return int(match.group(1).replace(",", ""))


def _save_all_forms(directory):
    """Save every form with randomised weights, plus inputs and expected outputs."""
    manifest = {}
    for name in reference_models.names():
        for style in reference_models.get(name).styles:
            ref, model = _model(name, style)
            randomize_weights(model, seed=2)
            x = ref.example_inputs(seed=4)
            path = directory / f"{name}-{style}.keras"
            compat.save_model(model, path)
            np.savez(directory / f"{name}-{style}.npz", *as_arrays(x))
            np.savez(directory / f"{name}-{style}.expected.npz", *as_arrays(model(x, training=False)))
            manifest[f"{name}-{style}"] = str(path)
    return manifest


_FRESH_PROCESS_LOADER = """
import json, sys
import numpy as np
import reference_models  # registers the reference classes: nothing else is imported
import keras_compat as compat
from conformance.tensors import as_arrays, max_abs_diff, single_or_list
results = {}
for key, path in json.loads(sys.argv[1]).items():
    try:
        model = compat.load_model(path)  # safe mode stays on
        base = path[: -len(".keras")]
        x = np.load(base + ".npz"); x = [x[k] for k in sorted(x.files)]
        y = np.load(base + ".expected.npz"); y = [y[k] for k in sorted(y.files)]
        results[key] = max_abs_diff(model(single_or_list(x), training=False), y)
    except Exception as exc:
        results[key] = f"{type(exc).__name__}: {exc}"
print("RESULTS" + json.dumps(results))
"""


@pytest.fixture(scope="module")
def fresh_process_reload(tmp_path_factory):
    directory = tmp_path_factory.mktemp("saved")
    manifest = _save_all_forms(directory)
    run = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS_LOADER, json.dumps(manifest)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    marker = [line for line in run.stdout.splitlines() if line.startswith("RESULTS")]
    assert marker, f"loader process failed:\n{run.stderr[-3000:]}"
    return json.loads(marker[0][len("RESULTS"):])


@pytest.mark.xdist_group("fresh_process")
@pytest.mark.parametrize("name, style", FORMS)
def test_keras_file_reloads_in_a_fresh_process_in_safe_mode(fresh_process_reload, name, style):
    result = fresh_process_reload[f"{name}-{style}"]
    assert not isinstance(result, str), result
    assert result == 0.0


@pytest.mark.parametrize("name, style", FORMS)
def test_keras_and_weights_files_round_trip_in_process(tmp_path, name, style):
    ref, model = _model(name, style)
    randomize_weights(model, seed=9)
    x = ref.example_inputs(seed=5)
    expected = model(x, training=False)

    compat.save_model(model, tmp_path / "model.keras")
    reloaded = compat.load_model(tmp_path / "model.keras")
    assert max_abs_diff(reloaded(x, training=False), expected) == 0.0
    assert type(reloaded) is type(model)

    compat.save_weights(model, tmp_path / "model.weights.h5")
    _, fresh = _model(name, style)
    compat.load_weights(fresh, tmp_path / "model.weights.h5")
    assert max_abs_diff(fresh(x, training=False), expected) == 0.0


@pytest.mark.parametrize("name", reference_models.names())
def test_non_default_constructor_arguments_survive_reloading(tmp_path, name):
    ref = reference_models.get(name)
    overrides = _non_default_kwargs(ref)
    if not overrides:
        pytest.skip(f"{name} takes no constructor arguments")
    obj = ref.build(**overrides)
    model = ensure_model(obj, ref.shapes(**overrides))
    compat.save_model(model, tmp_path / "model.keras")
    reloaded = compat.load_model(tmp_path / "model.keras")
    target = reloaded if obj is model else reloaded.layers[-1]
    config = target.get_config()
    for key, value in overrides.items():
        assert config[key] == value, f"{key}: saved {value!r}, reloaded {config[key]!r}"


def _non_default_kwargs(ref):
    changed = {}
    for key, value in ref.default_kwargs.items():
        if isinstance(value, bool) or value is None:
            changed[key] = "tanh" if key == "activation" else value
        elif isinstance(value, int):
            changed[key] = value + 1 if key not in ("filters", "neurons") else value * 2
        elif isinstance(value, float):
            changed[key] = round(value / 2 + 0.1, 3)
        elif isinstance(value, str):
            changed[key] = "tanh" if key == "activation" else value
    return changed
