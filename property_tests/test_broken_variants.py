"""Each property fails on a deliberately broken variant of its layer.

The property functions of ``properties.py`` run here unchanged against the layers of
``broken_variants.py``; hypothesis must find a counterexample, and the failure must be
the one the property is meant to report (``match``). Shrinking is skipped: the first
counterexample is proof enough, and shrinking TensorFlow examples costs time.
"""

import pytest
from hypothesis import Phase

from property_tests import broken_variants as broken
from property_tests import properties
from property_tests.support import Factory, run

#: Examples allowed to find the bug. Each variant fails on most drawn examples (the
#: rarest needs a non-idempotent activation, 2 draws in 5), so 40 is ample whatever
#: the seed.
SEARCH = {
    "max_examples": 40,
    "phases": (Phase.explicit, Phase.generate),
    "database": None,
    "report_multiple_bugs": False,
}


def _cases(prop, factories, match):
    return [
        pytest.param(prop, factory, match, id=f"{prop.__name__}-{factory.label}")
        for factory in factories
    ]


#: What each property reports, as a pattern for ``pytest.raises(match=...)``: any of its
#: own assertions may be the one that catches a variant on a given example (a block
#: whose bug is invisible on the drawn input is still caught with F's weights zeroed).
RESIDUAL = r"F\(x\) \+ x|with F's weights zeroed"
DENSE = r"\(x @ w \+ b\)"
BUILD = r"build ran \d+ times"
BATCH_NORM_INFERENCE = r"inference"
BATCH_NORM_TRAINING = r"batch-statistics formula|after a training call"

CASES = (
    _cases(properties.property_residual, broken.RESIDUAL, RESIDUAL)
    + _cases(properties.property_dense_formula, broken.DENSE, DENSE)
    + _cases(properties.property_lambda_elementwise, broken.LAMBDA[:1], r"output is not max")
    + _cases(properties.property_lambda_elementwise, broken.LAMBDA[1:], r"weightless")
    + _cases(properties.property_build_runs_once, broken.BUILD, BUILD)
    + _cases(properties.property_round_trips, broken.ROUND_TRIP[:1], r"outputs after the \.keras")
    + _cases(properties.property_round_trips, broken.ROUND_TRIP[1:], r"weights after the \.keras")
    + _cases(properties.property_dropout, broken.DROPOUT[:1], r"neither 0 nor x / \(1 - rate\)")
    + _cases(properties.property_dropout, broken.DROPOUT[1:2], r"inference .* changed the input")
    + _cases(properties.property_dropout, broken.DROPOUT[2:], r"kept fraction inconsistent")
    + _cases(properties.property_batch_norm, broken.BATCH_NORM[:1], BATCH_NORM_INFERENCE)
    + _cases(properties.property_batch_norm, broken.BATCH_NORM[1:], BATCH_NORM_TRAINING)
    + _cases(properties.property_batch_independent, broken.BATCH_INDEPENDENCE, r"alone against")
    + _cases(properties.property_styles_agree, broken.STYLES, r"against subclassed with the same")
    + _cases(properties.property_shared_layer, broken.SHARED, r"equal inputs")
)


@pytest.mark.parametrize("prop, factory, match", CASES)
def test_property_finds_a_counterexample_in_the_broken_variant(prop, factory, match):
    with pytest.raises(AssertionError, match=match):
        run(prop, factory, **SEARCH)


def test_styles_are_compared_for_drawn_hyperparameters_not_just_the_defaults():
    """The first broken style variant agrees at the default activation: only drawing the
    hyperparameters exposes it (the case above)."""
    at_defaults = Factory(
        "simple_dense", builders=broken.STYLES[0].builders, fixed={"activation": None}
    )
    run(properties.property_styles_agree, at_defaults, max_examples=3, database=None)
