"""Shared pytest set-up: quiet TensorFlow, a clean Keras state per test, hypothesis profiles,
and the --run-slow flag that opts into the exhaustive tests."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Several workers share few cores: one TensorFlow thread each avoids oversubscription.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import pytest  # noqa: E402

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is a test extra; the suite still collects without it
    settings = None

if settings is not None:
    from datetime import timedelta

    _tf_health = [HealthCheck.too_slow, HealthCheck.data_too_large]
    # An example builds layers and may trace a tf.function or save a model: seconds, not
    # hypothesis's default 200 ms. Thirty seconds still flags a hang or a retracing loop.
    _tf_deadline = timedelta(seconds=30)
    # ci: the default. Derandomised (the same examples on every run, so a failure
    # reproduces by running again: no reproduction blob), a dozen examples per test.
    settings.register_profile(
        "ci", derandomize=True, max_examples=12, deadline=_tf_deadline,
        suppress_health_check=_tf_health, print_blob=False,
    )
    settings.register_profile(
        "dev", max_examples=25, deadline=_tf_deadline, suppress_health_check=_tf_health
    )
    # thorough: the nightly run, random seeds (pass --hypothesis-seed to replay one);
    # 140 examples keep `pytest property_tests` near ten minutes on two cores.
    settings.register_profile(
        "thorough", max_examples=140, deadline=_tf_deadline, suppress_health_check=_tf_health,
        print_blob=True,
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption(
        "--run-slow", action="store_true", default=False, help="also run tests marked slow"
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: pass --run-slow (or use the tox 'slow' env)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts from a cleared Keras session and fixed seeds. (Cleared without a
    full garbage collection, and only before the test: the collection alone cost a fifth
    of a second twice per test, over half of the suite's time.)

    A test that leaves the global dtype policy, floatx, epsilon or the image data format
    changed fails, and they are put back: Keras 3's clear_session drops the global policy
    but Keras 2's keeps it, so on Keras 2 a leaked float64 policy made every later test in
    that worker compute in float64 (a check helper called outside the checker's isolation
    did)."""
    import keras_compat as compat

    compat.reset_session()
    compat.keras.utils.set_random_seed(1234)
    before = compat.global_policy_name(), compat.backend_settings()
    yield
    after = compat.global_policy_name(), compat.backend_settings()
    if after != before:
        if after[0] != before[0]:
            compat.set_global_policy(before[0])
        compat.restore_backend_settings(before[1])
        pytest.fail(f"the test left Keras's global settings changed: dtype policy and "
                    f"(floatx, epsilon, image data format) {before} before, {after} after; "
                    f"run what changes them inside conformance.isolation.isolated()")
