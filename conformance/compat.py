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


def _registration_module():
    import importlib

    return importlib.import_module(f"{keras.__name__.split('.')[0]}.src.saving.object_registration")


_REGISTRY_DICTS = ("GLOBAL_CUSTOM_OBJECTS", "GLOBAL_CUSTOM_NAMES",  # Keras 3
                   "_GLOBAL_CUSTOM_OBJECTS", "_GLOBAL_CUSTOM_NAMES")  # Keras 2


def registration_snapshot():
    """A copy of Keras's global registry of serializable objects (names and objects)."""
    module = _registration_module()
    return {name: dict(getattr(module, name)) for name in _REGISTRY_DICTS if hasattr(module, name)}


def registration_restore(snapshot):
    module = _registration_module()
    for name, content in snapshot.items():
        live = getattr(module, name)
        live.clear()
        live.update(content)


def global_policy_name():
    return keras.mixed_precision.global_policy().name


def set_global_policy(name):
    keras.mixed_precision.set_global_policy(name)


def tf_global_seed():
    from tensorflow.python.eager import context

    return context.global_seed()


def restore_tf_global_seed(seed):
    from tensorflow.python.eager import context

    context.context()._set_global_seed(seed)  # accepts None; tf.random.set_seed does not


def keras_global_seed():
    """Keras 3 keeps its own global seed beside TensorFlow's; Keras 2 has none."""
    if not KERAS_3:
        return None
    from keras.src.backend.common import global_state

    return global_state.get_global_attribute("global_random_seed")


def restore_keras_global_seed(seed):
    if KERAS_3:
        from keras.src.backend.common import global_state

        global_state.set_global_attribute("global_random_seed", seed)


def is_variable(obj):
    """A TensorFlow variable or a Keras 3 variable."""
    if isinstance(obj, tf.Variable):
        return True
    return KERAS_3 and isinstance(obj, keras.Variable)


def tracked_variable_ids(layer):
    """ids of every variable Keras tracks for ``layer``, including the tf.Variable that a
    Keras 3 variable wraps (so an attribute holding either one counts as tracked)."""
    ids = set()
    for variable in layer.variables:
        ids.add(id(variable))
        inner = getattr(variable, "value", None) if KERAS_3 else None
        if inner is not None:
            ids.add(id(inner))
    return ids


def sublayers(layer):
    """Every layer nested in ``layer`` (recursively), excluding ``layer`` itself."""
    return list(layer._flatten_layers(include_self=False, recursive=True))

#: Keras 2 saves any Python function inside a Lambda layer as bytecode, which safe-mode
#: loading refuses; Keras 3 saves a registered function by name.
LAMBDA_FUNCTIONS_SAVED_AS_BYTECODE = not KERAS_3
