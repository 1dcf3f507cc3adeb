"""Set-up for the property tests."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides the root conftest's fixture of the same name: fixed seeds, no cleared session.

    ``clear_session`` runs a full garbage collection (about 0.2 s, before and after every
    test), which over the hundred-odd property tests would cost more CPU than the
    properties themselves. Nothing a cleared session would remove matters here: every
    example builds its own layers and draws its own weights and seeds; only Keras's
    layer-name counters keep counting.
    """
    from keras_compat import keras

    keras.utils.set_random_seed(1234)
    yield
