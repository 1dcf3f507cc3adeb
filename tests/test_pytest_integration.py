"""parametrize_with_checks gives one selectable pytest test per (target, check)."""

import textwrap

pytest_plugins = ["pytester"]


def test_one_test_per_check_with_selectable_ids_and_xfail(pytester):
    pytester.makepyfile(
        test_user=textwrap.dedent(
            """
            from conformance import CheckSpec, parametrize_with_checks
            from examples.notes_verbatim.simple_dense import SimpleDense
            from reference_models.layers.simple_dense import SimpleDense as Good

            SPECS = [
                CheckSpec(Good, [(3, 7)], {"units": 4}),
                CheckSpec(SimpleDense, [(3, 7)], {"units": 4},
                          expected_failures={"check_variables_tracked": "raw tf.Variable"}),
            ]

            @parametrize_with_checks(SPECS, checks=["check_accepts_base_kwargs", "check_variables_tracked"])
            def test_layers(spec, check):
                check(spec)
            """
        )
    )
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "--collect-only")
    result.stdout.fnmatch_lines(["*SimpleDense-check_accepts_base_kwargs*", "*4 tests collected*"])

    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "-k", "check_accepts_base_kwargs")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*check_accepts_base_kwargs: __init__ accepts*Expected*saw*"])

    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "-k", "check_variables_tracked")
    from keras_compat import KERAS_3

    # The verbatim SimpleDense's raw tf.Variables are tracked by Keras 2 only.
    if KERAS_3:
        result.assert_outcomes(passed=1, xfailed=1)
    else:
        result.assert_outcomes(passed=1, xpassed=1)
