"""The one place that knows the differences between Keras 2 and Keras 3.

Everything else in keras-conformance and reference_models imports ``keras`` and the
version-dependent helpers from here, so a TensorFlow upgrade touches this file only.

Which Keras is used follows TensorFlow's own choice: ``tf.keras`` is Keras 2 on
TensorFlow <= 2.15, Keras 3 on 2.16+, and ``tf_keras`` (Keras 2) on 2.16+ when
``TF_USE_LEGACY_KERAS=1``. On Keras 3 the ``keras`` package itself is used, because the
``tf.keras`` alias of Keras 3 does not expose every namespace (``keras.saving`` among them).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402


def _resolve_keras():
    tf_keras_alias = tf.keras
    version = str(getattr(tf_keras_alias, "__version__", "2"))
    if version.startswith("3"):
        import keras as keras_3

        return keras_3
    if _tf_minor() >= 16:  # TF_USE_LEGACY_KERAS=1: TensorFlow routes tf.keras to tf_keras
        import tf_keras

        return tf_keras
    return tf_keras_alias


def _tf_minor():
    return int(tf.__version__.split(".")[1])


keras = _resolve_keras()
KERAS_VERSION = str(getattr(keras, "__version__", "2"))
KERAS_3 = KERAS_VERSION.startswith("3")
TF_VERSION = tf.__version__
USES_LEGACY_KERAS = (not KERAS_3) and _tf_minor() >= 16

#: The suffix ``save_weights`` needs for the HDF5 weights format on every version.
WEIGHTS_SUFFIX = ".weights.h5"
#: The native whole-model format (both versions support it since Keras 2.13).
MODEL_SUFFIX = ".keras"


def register_serializable(package, name=None):
    """Decorator: register a class or function so ``load_model`` finds it in safe mode."""
    return keras.saving.register_keras_serializable(package=package, name=name)


def registered_name(obj):
    """The name a registered object is saved under (``package>Name``)."""
    return keras.saving.get_registered_name(obj)


def save_model(model, path):
    """Save a whole model in the native ``.keras`` format."""
    path = str(path)
    if not path.endswith(MODEL_SUFFIX):
        raise ValueError(f"a whole-model file must end with {MODEL_SUFFIX!r}, got {path!r}")
    model.save(path)


def load_model(path, custom_objects=None, safe_mode=True, compile=True):
    """Load a ``.keras`` file. Safe mode stays on unless the caller explicitly turns it off."""
    return keras.models.load_model(
        str(path), custom_objects=custom_objects, safe_mode=safe_mode, compile=compile
    )


def save_weights(model, path):
    path = str(path)
    if not path.endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"a weights file must end with {WEIGHTS_SUFFIX!r}, got {path!r}")
    model.save_weights(path)


def load_weights(model, path):
    model.load_weights(str(path))


def weight_name(variable):
    """A variable's short name (Keras 2 appends ``:0`` and prefixes the layer path)."""
    name = variable.name
    name = name.split("/")[-1]
    return name[:-2] if name.endswith(":0") else name


def version_label():
    """Human-readable version string used in messages and reports."""
    flavour = " via tf_keras" if USES_LEGACY_KERAS else ""
    return f"Keras {KERAS_VERSION}{flavour} on TensorFlow {TF_VERSION}"


def dtype_name(dtype):
    """'float32' for a Keras 3 dtype string or a Keras 2 ``tf.DType`` alike."""
    return str(getattr(dtype, "name", dtype))
