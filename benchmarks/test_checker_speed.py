"""Seconds to check one layer, per tier, next to Keras's internal layer-test harness."""

import pytest

import keras_compat as compat
from keras_compat import keras
from conformance.runner import check_layer

LAYER, KWARGS, SHAPE = keras.layers.Dense, {"units": 4}, (3, 7)
GROUP = "checker: one Dense(4) layer on 3x7 inputs, whole catalogue vs Keras's harness"


@pytest.mark.quick
@pytest.mark.parametrize("tier", ["fast", "full"])
def test_keras_conformance_check_one_layer(benchmark, tier):
    benchmark.group = GROUP
    benchmark.extra_info.update(kind="checker", tier=f"keras-conformance, {tier} tier", device="cpu")
    report = benchmark.pedantic(
        check_layer,
        args=(LAYER, [SHAPE], KWARGS),
        kwargs={"tier": tier, "import_path": f"{keras.__name__}.layers:Dense"},
        rounds=2,
        iterations=1,
    )
    full_tier_skipped = [r for r in report.results() if "full tier only" in r.message]
    assert report.passed and (tier == "fast" or not full_tier_skipped)


def test_keras_internal_harness_one_layer(benchmark):
    run = compat.keras_internal_layer_test()
    if run is None:
        pytest.skip("this Keras does not ship its internal layer-test harness")
    benchmark.group = GROUP
    benchmark.extra_info.update(kind="checker", harness="Keras internal layer_test", device="cpu")
    benchmark.pedantic(run, args=(LAYER, KWARGS, SHAPE), rounds=2, iterations=1)
