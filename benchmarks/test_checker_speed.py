"""The checker's own cost, all in one run, next to Keras's internal layer-test harness.

- one ``keras.layers.Dense(4)`` on 3x7 inputs, fast tier and full tier, in this process
  after import and a warm-up call (what a user's CI pays per layer once TensorFlow is in);
- every bundled target (``conformance.known_good.all_specs()`` and the targets of
  ``examples/pyproject.toml``) in the fast tier: in this process, one target after the
  other (each timed), and with ``--jobs 2`` (two spawned worker processes, each importing
  TensorFlow: their start-up is part of every round, as it is of every ``--jobs 2``
  command); ``--jobs 2`` again on the targets the harness runs, since it times no target
  alone;
- Keras's internal harness (``keras_compat.keras_internal_layer_test()``) on the same
  Dense, and on every bundled target it can express: a layer (not a model) called on one
  positional float32 tensor, no call keywords. It takes ``(layer class, kwargs, input
  shape)`` only, so keyword, dict, integer and mask inputs and models are left out, and so
  is a target it raises on; both counts are recorded;
- the start-up a worker process pays: Python, TensorFlow and the checker imported.

The ratios (checker / harness) are in the last benchmark's ``extra_info`` and in a table
printed at the end of the run; ``python -m benchmarks.report`` computes the same table from
the JSON (``benchmarks/tables.py``, "The checker's own cost").
"""

import pathlib
import subprocess
import sys
import time
import warnings

import pytest

import keras_compat as compat
from keras_compat import keras
from benchmarks import tables

LAYER, KWARGS, SHAPE = keras.layers.Dense, {"units": 4}, (3, 7)
ONE_LAYER = "checker: one Dense(4) layer on 3x7 inputs, in process after import and warm-up"
MANY = "checker: every bundled target (known-good and examples/pyproject.toml), fast tier"
HARNESS_MANY = "checker: Keras's internal harness on the bundled targets it can express"
STARTUP = "checker: start-up of a process (Python, TensorFlow and the checker imported)"
EXAMPLES_CONFIG = str(pathlib.Path(__file__).resolve().parents[1] / "examples" / "pyproject.toml")
#: Rounds of one-layer checks (each after a warm-up call), and of the many-target runs
#: (each one already averages every bundled target: a minute or more per round on 2 cores).
ONE_LAYER_ROUNDS = {"fast": 5, "full": 3}
HARNESS_ROUNDS = 5
MANY_ROUNDS = 1

#: What the benchmarks of this module measured, for the ratios and the printed table.
MEASURED = {}


def _harness():
    run = compat.keras_internal_layer_test()
    if run is None:
        pytest.skip("this Keras does not ship its internal layer-test harness")
    return run


def _info(benchmark, group, what, targets, **extra):
    benchmark.group = group
    benchmark.extra_info.update(kind="checker", what=what, targets=targets, device="cpu", **extra)


@pytest.fixture(autouse=True)
def _as_the_command_runs():
    """Python warnings ignored and TensorFlow's logger quiet, as ``keras-conformance check``
    runs the checks (Keras's advice costs time to format and print)."""
    from conformance.quiet_tensorflow import tensorflow_logger_quiet

    with warnings.catch_warnings(), tensorflow_logger_quiet():
        warnings.simplefilter("ignore")
        yield


def _median(benchmark):
    """The median just measured (None under --benchmark-disable, which times nothing)."""
    stats = getattr(benchmark, "stats", None)
    return stats.stats.median if stats is not None else None


# -- one layer -------------------------------------------------------------------------

def forget_cached_results():
    """A user's run checks each target once, so no round may reuse what an earlier round
    of the same layer left behind: the distribution family caches its worker's results per
    target (the warm-up call still starts the processes a run starts once)."""
    try:
        from conformance.distributed import launcher
    except ImportError:  # a checker without the distribution family
        return
    with launcher._lock:
        launcher._cache.clear()


@pytest.mark.quick
@pytest.mark.parametrize("tier", ["fast", "full"])
def test_keras_conformance_check_one_layer(benchmark, tier):
    from conformance.runner import check_layer

    def check():
        return check_layer(LAYER, [SHAPE], KWARGS, tier=tier, import_path=f"{keras.__name__}.layers:Dense")

    started = time.perf_counter()
    check()  # warm-up: Keras's lazy imports, the fresh-process worker's start in the full tier
    _info(benchmark, ONE_LAYER, f"keras-conformance, {tier} tier", 1, scope="one layer", tier=tier,
          first_call_s=round(time.perf_counter() - started, 3))
    report = benchmark.pedantic(check, setup=forget_cached_results, rounds=ONE_LAYER_ROUNDS[tier],
                                iterations=1)
    full_tier_skipped = [r for r in report.results() if "full tier only" in r.message]
    assert report.passed and (tier == "fast" or not full_tier_skipped)
    MEASURED[f"one layer, {tier} tier"] = _median(benchmark)


@pytest.mark.quick
def test_keras_internal_harness_one_layer(benchmark):
    run = _harness()
    started = time.perf_counter()
    run(LAYER, KWARGS, SHAPE)
    _info(benchmark, ONE_LAYER, "Keras internal layer_test", 1, scope="one layer", baseline=True,
          harness="Keras internal layer_test", first_call_s=round(time.perf_counter() - started, 3))
    benchmark.pedantic(run, args=(LAYER, KWARGS, SHAPE), rounds=HARNESS_ROUNDS, iterations=1)
    MEASURED["one layer, harness"] = _median(benchmark)


# -- every bundled target ---------------------------------------------------------------

def harness_problem(spec):
    """Why Keras's harness cannot check ``spec`` as the checker does (None if it can)."""
    if spec.is_model:
        return "a model"
    inputs = list(spec.inputs.inputs)
    if len(inputs) != 1:
        return "several inputs"
    if inputs[0].name is not None:
        return "a keyword or dict input"
    if inputs[0].dtype != "float32" or inputs[0].low is not None or inputs[0].high is not None:
        return "integer, bool or bounded inputs"
    if spec.call_kwargs:
        return "call keywords"
    return None


@pytest.fixture(scope="module")
def bundled():
    """Every bundled target, and the ones Keras's harness runs (it is tried once on each
    it can express, which also warms it up)."""
    from conformance.config import read_config, spec_from_entry
    from conformance.known_good import all_specs

    section, base_dir = read_config(EXAMPLES_CONFIG)
    defaults = {"tier": "fast", "strict": False, "timeout": 180.0}
    specs = all_specs() + [spec_from_entry(entry, defaults, base_dir) for entry in section["targets"]]
    run = compat.keras_internal_layer_test()
    left_out, harnessed = {}, []
    for spec in specs:
        problem = harness_problem(spec) if run is not None else "no harness in this Keras"
        if problem is None:
            try:
                run(spec.cls, dict(spec.kwargs), tuple(spec.input_shapes[0]))
            except Exception as exc:  # noqa: BLE001 - the harness's verdict, not a crash
                problem = f"the harness raised {type(exc).__name__}"
        if problem is None:
            harnessed.append(spec)
        else:
            left_out[spec.label] = problem
    return {"specs": specs, "harnessed": harnessed, "left_out": left_out}


def test_keras_conformance_many_targets_in_one_process(benchmark, bundled):
    from conformance.runner import run_spec

    specs, rounds = bundled["specs"], []

    def run_all():
        seconds, verdicts = {}, {}
        for spec in specs:
            started = time.perf_counter()
            report = run_spec(spec)
            seconds[spec.label] = time.perf_counter() - started
            verdicts[spec.label] = report.passed
        rounds.append((seconds, verdicts))

    _info(benchmark, MANY, "keras-conformance, fast tier, one process", len(specs), scope="many targets",
          baseline=True)
    benchmark.pedantic(run_all, rounds=MANY_ROUNDS, iterations=1)
    seconds, verdicts = rounds[-1]
    harnessed = {spec.label for spec in bundled["harnessed"]}
    same_targets = sorted(sum(s[label] for label in harnessed) for s, _ in rounds)[len(rounds) // 2]
    benchmark.extra_info.update(
        same_targets_s=round(same_targets, 3), harness_targets=len(harnessed),
        per_target_s={label: round(value, 3) for label, value in seconds.items()},
        not_passed=sorted(label for label, passed in verdicts.items() if not passed),
    )
    MEASURED["many, one process"] = _median(benchmark)
    MEASURED["many, one process, harnessed targets"] = same_targets
    MEASURED["targets"] = len(specs)


@pytest.mark.parametrize("which", ["every target", "the harness's targets"])
def test_keras_conformance_many_targets_jobs_2(benchmark, bundled, which):
    """Every bundled target, and the targets Keras's harness runs alone: --jobs 2 times no
    target on its own, so its ratio to the harness needs a run on the harness's targets."""
    from conformance.parallel import run_specs

    specs = bundled["specs"] if which == "every target" else bundled["harnessed"]
    verdicts = []

    def run_all():
        verdicts[:] = [report.passed for report in run_specs(specs, 2)]

    extra = {} if which == "every target" else {"harness_targets_only": True}
    _info(benchmark, MANY, f"keras-conformance, fast tier, --jobs 2, {which}", len(specs),
          scope="many targets", jobs=2, **extra)
    benchmark.pedantic(run_all, rounds=MANY_ROUNDS, iterations=1)
    benchmark.extra_info["not_passed"] = [s.label for s, ok in zip(specs, verdicts) if not ok]
    MEASURED[f"many, --jobs 2, {which}"] = _median(benchmark)


def test_keras_internal_harness_many_targets(benchmark, bundled, capsys):
    run = _harness()
    harnessed = bundled["harnessed"]

    def run_all():
        for spec in harnessed:
            run(spec.cls, dict(spec.kwargs), tuple(spec.input_shapes[0]))

    _info(benchmark, HARNESS_MANY, "Keras internal layer_test", len(harnessed), scope="many targets",
          harness="Keras internal layer_test", bundled_targets=len(bundled["specs"]),
          left_out=bundled["left_out"])
    benchmark.pedantic(run_all, rounds=MANY_ROUNDS, iterations=1)
    MEASURED["many, harness"] = _median(benchmark)
    ratios = checker_ratios(MEASURED)
    benchmark.extra_info["ratios"] = {name: round(value, 2) for name, value in ratios.items()}
    with capsys.disabled():
        print("\n" + summary_table(MEASURED, len(harnessed), ratios))


# -- start-up ---------------------------------------------------------------------------

def test_process_start_up(benchmark):
    command = [sys.executable, "-c", "import conformance.runner, conformance.spec"]
    _info(benchmark, STARTUP, "python -c 'import conformance.runner'", 0, scope="start-up")
    benchmark.pedantic(subprocess.run, args=(command,), kwargs={"check": True}, rounds=2, iterations=1)


# -- the ratios -------------------------------------------------------------------------

def checker_ratios(measured):
    """checker / harness on the same layer and on the same targets (for the run in one
    process, its seconds on the targets the harness ran), where both were measured in this
    run; and --jobs 2 / one process on every target."""
    def ratio(numerator, denominator):
        if numerator is None or not denominator:
            return None
        return numerator / denominator

    get = measured.get
    ratios = {
        "one layer, fast tier": ratio(get("one layer, fast tier"), get("one layer, harness")),
        "one layer, full tier": ratio(get("one layer, full tier"), get("one layer, harness")),
        "harness's targets, one process": ratio(
            get("many, one process, harnessed targets"), get("many, harness")),
        "harness's targets, --jobs 2": ratio(
            get("many, --jobs 2, the harness's targets"), get("many, harness")),
        "every target, --jobs 2 / one process": ratio(
            get("many, --jobs 2, every target"), get("many, one process")),
    }
    return {name: value for name, value in ratios.items() if value is not None}


def summary_table(measured, harnessed, ratios):
    targets = measured.get("targets") or 0

    def seconds(key, count=1):
        value = measured.get(key)
        return tables.format_seconds(value / count if value is not None and count else None)

    rows = [
        ("one Dense(4), fast tier", seconds("one layer, fast tier"), "", ratios.get("one layer, fast tier")),
        ("one Dense(4), full tier", seconds("one layer, full tier"), "", ratios.get("one layer, full tier")),
        ("one Dense(4), Keras harness", seconds("one layer, harness"), "", None),
        (f"{targets} targets, one process", seconds("many, one process"),
         seconds("many, one process", targets), None),
        (f"{targets} targets, --jobs 2", seconds("many, --jobs 2, every target"),
         seconds("many, --jobs 2, every target", targets), None),
        (f"{harnessed} of them, one process", seconds("many, one process, harnessed targets"),
         seconds("many, one process, harnessed targets", harnessed),
         ratios.get("harness's targets, one process")),
        (f"{harnessed} of them, --jobs 2", seconds("many, --jobs 2, the harness's targets"),
         seconds("many, --jobs 2, the harness's targets", harnessed), ratios.get("harness's targets, --jobs 2")),
        (f"{harnessed} of them, Keras harness", seconds("many, harness"),
         seconds("many, harness", harnessed), None),
    ]
    lines = [f"{'what ran':<34} {'median':>9} {'per target':>11} {'checker / harness':>18}"]
    lines += [f"{what:<34} {median:>9} {per:>11} {tables.format_ratio(ratio):>18}"
              for what, median, per, ratio in rows]
    speed_up = ratios.get("every target, --jobs 2 / one process")
    if speed_up is not None:
        lines.append(f"--jobs 2 / one process, every target: {tables.format_ratio(speed_up)}")
    return "\n".join(lines)
