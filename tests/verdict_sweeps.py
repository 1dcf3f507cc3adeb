"""The broken-layer and known-good sweeps whose verdicts are pinned in tests/verdicts/."""

import functools
import importlib
import json
import pathlib
import pkgutil
import warnings

import examples.broken_layers
import keras_compat as compat

VERDICTS = pathlib.Path(__file__).resolve().parent / "verdicts"


def verdicts_path():
    """One file per Keras major version (and for tf_keras): their verdicts differ by design."""
    name = "keras3" if compat.KERAS_3 else ("tf-keras" if compat.USES_LEGACY_KERAS else "keras2")
    return VERDICTS / f"{name}.json"


def broken_specs():
    """A spec per broken layer of examples/broken_layers (once per class and inputs)."""
    from conformance.spec import CheckSpec

    specs = {}
    for info in pkgutil.iter_modules(examples.broken_layers.__path__):
        module = importlib.import_module(f"examples.broken_layers.{info.name}")
        options = getattr(module, "SPEC_OPTIONS", {})
        for cases in getattr(module, "BROKEN", {}).values():
            for cls, kwargs, inputs in cases:
                spec = CheckSpec(cls, inputs=inputs, kwargs=kwargs, **options.get(cls, {}))
                specs.setdefault(f"broken:{info.name}:{cls.__name__}", spec)
    return specs


def known_good_specs():
    from conformance.known_good import all_specs

    return {f"good:{spec.label}": spec for spec in all_specs()}


def target_statuses(spec):
    from conformance.runner import run_spec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = run_spec(spec)
    return non_passing({result.check: result.status for result in report.results})


def non_passing(statuses):
    """The pinned form of ``{check id: status}``: a check absent from it passed."""
    return {check: status for check, status in statuses.items() if status != "passed"}


def sweep_statuses(labels=None):
    """``{target label: {check id: status}}`` over both sweeps (or the ``labels`` given), in
    the pinned form: only the checks that did not pass, every label present."""
    specs = {**broken_specs(), **known_good_specs()}
    if labels is not None:
        specs = {label: specs[label] for label in labels}
    return {label: target_statuses(spec) for label, spec in specs.items()}


@functools.lru_cache(maxsize=None)
def _pinned():
    path = verdicts_path()
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def pinned_statuses(label):
    """The pinned non-passing ``{check id: status}`` of ``label`` (a check absent from it
    passed); a label without a pin fails the test: a new target is pinned on purpose."""
    import pytest

    if label not in _pinned():
        pytest.fail(f"no pinned verdicts for {label} on this Keras ({verdicts_path().name}); "
                    "pin them with `python scripts/pin_verdicts.py` and review the diff",
                    pytrace=False)
    return _pinned()[label]


def comparable(statuses):
    """``statuses`` as they can be compared here: the pins were taken where the JAX or PyTorch
    backend is installed, so where neither is (a machine without the ``jax`` extra) the
    backends family's statuses are left out on both sides of the comparison."""
    from conformance import backends
    from conformance.catalogue import all_checks

    if backends.available():
        return dict(statuses)
    family = {check.id for check in all_checks("full") if check.family == "backends"}
    return {check: status for check, status in statuses.items() if check not in family}

