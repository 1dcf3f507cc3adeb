"""The one place that knows the differences between Keras 2 and Keras 3.

Everything else in keras-conformance and reference_models imports ``keras`` and the
version-dependent helpers from here, so a TensorFlow upgrade touches this file only.

Which Keras is used follows TensorFlow's own choice: ``tf.keras`` is Keras 2 on
TensorFlow <= 2.15, Keras 3 on 2.16+, and ``tf_keras`` (Keras 2) on 2.16+ when
``TF_USE_LEGACY_KERAS=1``. On Keras 3 the ``keras`` package itself is used, because the
``tf.keras`` alias of Keras 3 does not expose every namespace (``keras.saving`` among them).
"""

import contextlib
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


def _keras_version(module):
    version = getattr(module, "__version__", None)
    if version is None:  # TF 2.15's tf.keras alias has no __version__; the package has
        import keras as keras_package

        version = keras_package.__version__
    return str(version)


keras = _resolve_keras()
KERAS_VERSION = _keras_version(keras)
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


def prepare_thread():
    """Make the calling (non-main) thread save as the main thread does. Keras 2 keeps its
    "save in the .keras format" switch per thread, set only in the thread that imported it:
    elsewhere, the first .keras save sets it to off on the way out, and every later
    ``model.save("x.keras")`` in that thread tries HDF5. Keras 3 has no such switch."""
    if not KERAS_3:
        from importlib import import_module

        saving_lib = import_module(f"{keras.__name__.split('.')[0]}.src.saving.saving_lib")
        saving_lib._SAVING_V3_ENABLED.value = True


def target_module(name):
    """The module a target's module path means here. With tf-keras (``TF_USE_LEGACY_KERAS=1``)
    the checker runs ``tf.keras``, which is the ``tf_keras`` package, while ``import keras``
    still gives Keras 3: a target written as ``keras.layers:Dense`` means ``tf_keras``'s."""
    if USES_LEGACY_KERAS and (name == "keras" or name.startswith("keras.")):
        return "tf_keras" + name[len("keras"):]
    return name


def reset_session():
    """Clear Keras's global state (name counters, the graph) without the full garbage
    collection Keras 3's ``clear_session`` runs by default (a fifth of a second in a large
    process; Keras 2 never collects here)."""
    import inspect

    if "free_memory" in inspect.signature(keras.backend.clear_session).parameters:
        keras.backend.clear_session(free_memory=False)
    else:  # Keras 2 and early Keras 3: no such argument
        keras.backend.clear_session()


def save_model(model, path):
    """Save a whole model in the native ``.keras`` format."""
    path = str(path)
    if not path.endswith(MODEL_SUFFIX):
        raise ValueError(f"a whole-model file must end with {MODEL_SUFFIX!r}, got {path!r}")
    model.save(path)


def load_model(path, custom_objects=None, safe_mode=True, compile=True):
    """Load a ``.keras`` file. Safe mode stays on unless the caller explicitly turns it off,
    even after user code called ``enable_unsafe_deserialization()`` (see
    :func:`safe_deserialization`)."""
    scope = safe_deserialization() if safe_mode else contextlib.nullcontext()
    with scope:
        return keras.models.load_model(
            str(path), custom_objects=custom_objects, safe_mode=safe_mode, compile=compile
        )


def _serialization_lib():
    """Keras's serialization module (Keras 2.13+ and 3 have it; older ones no safe mode)."""
    import importlib

    try:
        return importlib.import_module(f"{keras.__name__.split('.')[0]}.src.saving.serialization_lib")
    except ImportError:
        return None


def safe_mode_setting():
    """Keras's switch for unsafe deserialization, per thread in Keras 2 and 3 alike: None
    (never set), or True / False inside a safe-mode scope; False everywhere after
    ``enable_unsafe_deserialization()``, which then overrides every ``safe_mode=True``."""
    in_safe_mode = getattr(_serialization_lib(), "in_safe_mode", None)  # getattr(None, ...) too
    return in_safe_mode() if in_safe_mode is not None else None


def restore_safe_mode_setting(value):
    scope = getattr(_serialization_lib(), "SafeModeScope", None)
    if scope is not None and safe_mode_setting() is not value:
        # Entering a scope sets the switch and leaves it so: the one setter both Kerases have.
        scope(value).__enter__()


def enable_unsafe_deserialization():
    """What user code calls to switch safe mode off for every later load: Keras 3's
    ``keras.config.enable_unsafe_deserialization()``, which Keras 2 (2.13+) has only in its
    serialization module. Returns whether this Keras has the switch."""
    enable = getattr(_serialization_lib(), "enable_unsafe_deserialization", None)
    if enable is None:
        return False
    enable()
    return True


@contextlib.contextmanager
def safe_deserialization():
    """Deserialize in safe mode whatever user code switched before (Keras 3 lets the
    global ``enable_unsafe_deserialization()`` override an explicit ``safe_mode=True``)."""
    scope = getattr(_serialization_lib(), "SafeModeScope", None)
    with (scope(True) if scope is not None else contextlib.nullcontext()):
        yield


_DEFAULT_SAFE_MODE = safe_mode_setting()  # before any user code: what a fresh process has


@contextlib.contextmanager
def default_deserialization():
    """Deserialize with the safe-mode setting a fresh process has, whatever user code
    switched before. ``from_config`` outside a load is not a safe-mode load: on Keras 2 it
    rebuilds a ``Lambda`` from bytecode by default, which ``safe_deserialization`` refuses."""
    scope = getattr(_serialization_lib(), "SafeModeScope", None)
    with (scope(_DEFAULT_SAFE_MODE) if scope is not None else contextlib.nullcontext()):
        yield


def backend_settings():
    """Keras's process-wide backend settings a layer may change: floatx, epsilon and the
    image data format (the same functions in Keras 2 and 3)."""
    backend = keras.backend
    return backend.floatx(), backend.epsilon(), backend.image_data_format()


def restore_backend_settings(settings):
    floatx, epsilon, data_format = settings
    backend = keras.backend
    if backend.floatx() != floatx:
        backend.set_floatx(floatx)
    if backend.epsilon() != epsilon:
        backend.set_epsilon(epsilon)
    if backend.image_data_format() != data_format:
        backend.set_image_data_format(data_format)


_NO_JIT_ATTRIBUTE = object()


def _jit_setting():
    # The context's own attribute: tf.config.optimizer.get_jit() builds a whole ConfigProto
    # (60 us, around every check); the attribute is what set_jit sets.
    from tensorflow.python.eager import context

    return getattr(context.context(), "_optimizer_jit", _NO_JIT_ATTRIBUTE)


def tf_execution_settings():
    """TensorFlow's switches that change how a ``tf.function`` runs: run every function
    eagerly, and XLA auto-clustering (the jit setting)."""
    jit = _jit_setting()
    return tf.config.functions_run_eagerly(), tf.config.optimizer.get_jit() if jit is _NO_JIT_ATTRIBUTE else jit


def restore_tf_execution_settings(settings):
    eagerly, jit = settings
    if tf.config.functions_run_eagerly() != eagerly:
        tf.config.run_functions_eagerly(eagerly)
    current = _jit_setting()
    if current is _NO_JIT_ATTRIBUTE:
        if tf.config.optimizer.get_jit() != jit:
            tf.config.optimizer.set_jit(jit)
    elif current is not jit and current != jit:
        from tensorflow.python.eager import context

        context.context().optimizer_jit = jit


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


def keras_json_default(obj):
    """``json.dumps(config, default=...)``: what Keras's own config encoder writes that plain
    JSON cannot. Keras 2 built-in layers keep ``tf.TensorShape`` values in their configs
    (``MultiHeadAttention``'s ``query_shape``), which its encoder writes as lists."""
    if isinstance(obj, tf.TensorShape):
        return obj.as_list() if obj.rank is not None else None
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def config_json(config):
    """``config`` written as JSON the way Keras writes a layer's config into ``.keras``
    files and ``to_json()``: through Keras's own serializer, which writes Keras objects
    (initializers, nested layers, dtype policies), functions, arrays, tensors and dtypes
    in its serialized forms. ``TypeError`` or ``ValueError`` when it cannot."""
    import importlib
    import json

    try:  # Keras 3, and Keras 2.13+ (the .keras format): the same module and function
        serialization = importlib.import_module(f"{keras.__name__.split('.')[0]}.src.saving.serialization_lib")
        serialize = serialization.serialize_keras_object
    except (ImportError, AttributeError):
        serialize = None
    if serialize is None:
        return json.dumps(config, default=keras_json_default)
    return json.dumps(serialize(config), default=keras_json_default)


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


class _TensorFlowOps:
    """The ``keras.ops`` functions the portable example layers use, for Keras 2, which has
    no keras.ops (the same arguments and results on TensorFlow)."""

    matmul = staticmethod(tf.matmul)
    cast = staticmethod(tf.cast)


#: ``keras.ops`` on Keras 3 (so a layer written with it runs on every backend), TensorFlow's
#: equivalents on Keras 2: only ``matmul`` and ``cast`` are promised on both.
ops = keras.ops if KERAS_3 else _TensorFlowOps


def random_normal(shape):
    """Unseeded standard-normal noise as Keras draws it: ``keras.random.normal`` (Keras 3,
    from Keras's global SeedGenerator), ``keras.backend.random_normal`` (Keras 2, which has
    no keras.random: a seed from NumPy's global generator)."""
    if KERAS_3:
        return keras.random.normal(shape)
    return keras.backend.random_normal(shape)


#: Whether ``seeded_draws`` makes unseeded Keras noise repeat when the same block runs twice
#: in one process. Keras 3's ``keras.random`` draws stateless ops from the global
#: SeedGenerator the block replaces; Keras 2's (``keras.backend.random_normal``, dropout's
#: legacy generator) are stateful TensorFlow ops, whose kernels TensorFlow caches by their
#: (global, operation) seed pair, so a second run continues the first run's stream. Only
#: ``tf.random.set_seed``'s cache clear would restart it, which ``seeded_draws`` avoids for
#: speed; a fresh process (the command) repeats on both.
UNSEEDED_NOISE_REPEATS_IN_PROCESS = KERAS_3


def global_policy_name():
    return keras.mixed_precision.global_policy().name


def set_global_policy(name):
    keras.mixed_precision.set_global_policy(name)


def tf_global_seed():
    """TensorFlow's global seed and where its sequence of operation seeds stands."""
    from tensorflow.python.eager import context

    ctx = context.context()
    rng = getattr(ctx, "_rng", None)
    return ctx._seed, (rng.getstate() if rng is not None else None)


def _same_seed(a, b):
    try:
        return a is b or (type(a) is type(b) and bool(a == b))
    except (TypeError, ValueError):
        return False


def restore_tf_global_seed(state):
    """Put back what :func:`tf_global_seed` returned. The seed is set again only when it
    changed: setting it clears TensorFlow's kernel cache, which doubles the cost of every
    op that follows (half of a fast check's time, when it was done after each check)."""
    from tensorflow.python.eager import context

    seed, rng_state = state
    ctx = context.context()
    if not _same_seed(ctx._seed, seed):
        ctx._set_global_seed(seed)  # accepts None; tf.random.set_seed does not
    if rng_state is None:
        ctx._rng = None  # as before any seed was set: no sequence of operation seeds yet
    else:
        ctx._rng.setstate(rng_state)


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


@contextlib.contextmanager
def seeded_draws(seed):
    """Every random draw of weights and of unseeded random ops inside the block follows
    ``seed``; what was there before is put back afterwards.

    Keras 3 initializers and ``SeedGenerator`` take their seeds from Python's ``random``
    (``make_default_seed``), and unseeded ``keras.random`` calls from a global
    ``SeedGenerator`` made the same way: seeding ``random`` and starting a new global
    generator covers both. Keras 2 initializers and dropout draw their operation seeds from
    Python's ``random`` too, or from the generator ``set_random_seed`` leaves in
    ``backend._SEED_GENERATOR``. Unseeded TensorFlow ops take their operation seeds from
    the eager context's sequence once a global seed is set; the seed and the sequence are
    set directly, because ``tf.random.set_seed`` also clears TensorFlow's kernel cache,
    which doubles the cost of every op that follows."""
    import random

    import numpy as np
    from tensorflow.python.eager import context

    python_state, numpy_state = random.getstate(), np.random.get_state()
    ctx = context.context()
    tf_state = (ctx._seed, getattr(ctx, "_rng", None))
    keras_generator = _swap_keras_seed_generator(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    ctx._seed = tf_state[0] if tf_state[0] is not None else seed
    ctx._rng = random.Random(seed)
    try:
        yield
    finally:
        ctx._seed, ctx._rng = tf_state
        _swap_keras_seed_generator(seed, keras_generator)
        random.setstate(python_state)
        np.random.set_state(numpy_state)


_NOTHING = object()


def _swap_keras_seed_generator(seed, previous=_NOTHING):
    """Start Keras's global random generator from ``seed`` and return the one it replaced;
    with ``previous``, put that one back instead."""
    if KERAS_3:
        from keras.src.backend.common import global_state
        from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR

        replaced = global_state.get_global_attribute(GLOBAL_SEED_GENERATOR)
        global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, None if previous is _NOTHING else previous)
        return replaced
    import importlib
    import random

    try:  # the private backend module: the public keras.backend does not export it
        backend = importlib.import_module(f"{keras.__name__.split('.')[0]}.src.backend")
    except ImportError:
        backend = keras.backend
    holder = getattr(backend, "_SEED_GENERATOR", None)
    if holder is None:
        return None
    replaced = getattr(holder, "generator", None)
    if previous is _NOTHING:
        if replaced is not None:  # set by set_random_seed: follow the check's seed instead
            holder.generator = random.Random(seed)
    else:
        holder.generator = previous
    return replaced


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


def tf_variable(variable):
    """The ``tf.Variable`` holding a Keras weight (Keras 3 wraps it; Keras 2 is one)."""
    return variable.value if KERAS_3 else variable


def autocasts_inputs(layer):
    """Whether the layer casts its floating-point inputs to its compute dtype when called
    (Keras 3: ``layer.autocast``; Keras 2: ``layer._autocast``). Embedding turns it off."""
    return bool(getattr(layer, "autocast" if KERAS_3 else "_autocast", True))


def sublayers(layer):
    """Every layer nested in ``layer`` (recursively), excluding ``layer`` itself."""
    return list(layer._flatten_layers(include_self=False, recursive=True))


def direct_sublayers(layer):
    """The layers ``layer`` tracks itself (not those nested in them)."""
    return list(layer._flatten_layers(include_self=False, recursive=False))

#: Keras 2 saves any Python function inside a Lambda layer as bytecode, which safe-mode
#: loading refuses; Keras 3 saves a registered function by name.
LAMBDA_FUNCTIONS_SAVED_AS_BYTECODE = not KERAS_3


@contextlib.contextmanager
def count_traces():
    """Record every ``tf.function`` trace made by this thread while the block runs.

    Yields a list that receives the name of each FuncGraph built. It hooks TensorFlow's
    internal ``func_graph.func_graph_from_py_func``, which tf.function's tracing (and
    tf.cond/while_loop inside a trace) call through the module attribute on TF 2.15
    through 2.21; a TensorFlow that stops doing so would make the list stay empty.
    """
    import threading

    from tensorflow.python.framework import func_graph

    traces = []
    thread = threading.get_ident()
    original = func_graph.func_graph_from_py_func

    def counting(name, *args, **kwargs):
        if threading.get_ident() == thread:
            traces.append(str(name))
        return original(name, *args, **kwargs)

    func_graph.func_graph_from_py_func = counting
    try:
        yield traces
    finally:
        func_graph.func_graph_from_py_func = original


def build_is_framework_default(layer):
    """True when ``build`` is Keras's own placeholder (``Model.build`` not overridden):
    Keras 2 then never calls it, Keras 3 may."""
    return bool(getattr(type(layer).build, "_is_default", False))


_FRAMEWORK_ATTRIBUTES = None


def framework_attribute_names():
    """Attribute names Keras itself sets on every Layer and Model instance (some hold
    Keras's own untracked variables, such as Keras 2's ``Model._train_counter``)."""
    global _FRAMEWORK_ATTRIBUTES
    if _FRAMEWORK_ATTRIBUTES is None:
        _FRAMEWORK_ATTRIBUTES = frozenset(vars(keras.layers.Layer())) | frozenset(vars(keras.Model()))
    return _FRAMEWORK_ATTRIBUTES


def shape_argument(shape):
    """A shape (None for an unknown dimension) as Keras hands it to ``compute_output_shape``:
    a ``tf.TensorShape`` on Keras 2, a tuple on Keras 3."""
    return tuple(shape) if KERAS_3 else tf.TensorShape(shape)


def defined_by_keras(cls, method_name):
    """Whether ``cls.method_name`` comes from Keras itself (a built-in or base class) rather
    than from user code; Keras 2 lives in ``keras`` or ``tf_keras``, Keras 3 in ``keras``."""
    for klass in cls.__mro__:
        if method_name in vars(klass):
            return klass.__module__.split(".")[0] in ("keras", "tf_keras")
    return False


# -- declared output shapes ------------------------------------------------------------------

def _owner(cls, method_name):
    return next((klass for klass in cls.__mro__ if method_name in vars(klass)), None)


def output_declaration(layer):
    """The method by which ``layer`` declares its outputs for a symbolic call, or None when
    it declares nothing (Keras then traces ``call``): ``"compute_output_spec"`` (Keras 3,
    overridden below ``Layer``: it receives every call argument, constants included) or
    ``"compute_output_shape"`` (overridden below ``Layer``, by the class or a Keras class it
    derives from: it receives the shapes of the tensor arguments only)."""
    cls = type(layer)
    if KERAS_3:
        owner = _owner(cls, "compute_output_spec")
        if owner is not None and owner.__name__ not in ("Layer", "Operation"):
            return "compute_output_spec"
        if not getattr(cls.compute_output_shape, "_is_default", False):
            return "compute_output_shape"
        return None
    owner = _owner(cls, "compute_output_shape")
    return None if owner is None or owner is keras.layers.Layer else "compute_output_shape"


def _shape_parameters(method):
    import inspect

    return [(name, p) for name, p in inspect.signature(method).parameters.items()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _keras2_declared_shapes(layer, args, kwargs):
    """Keras 2 asks ``compute_output_shape`` with one positional argument, the shapes
    (``TensorShape``) of ``call``'s first argument. A ``compute_output_shape`` that needs
    more is written for Keras 3 (``<argument>_shape`` keywords), which Keras 2 never
    calls; it is asked as Keras 3 would ask it, or not at all (None) when its parameter
    names do not name call arguments."""
    import inspect

    call_parameters = list(inspect.signature(layer.call).parameters)
    given = dict(kwargs)
    if args:
        given[call_parameters[0]] = args[0]

    def shapes(value):
        return tf.nest.map_structure(lambda t: tf.TensorShape(t.shape), value)

    parameters = _shape_parameters(layer.compute_output_shape)
    required = [name for name, p in parameters if p.default is p.empty]
    if len(required) <= 1:
        first = args[0] if args else next(
            (given[name] for name in call_parameters if name in given), None)
        return layer.compute_output_shape(shapes(first))
    keywords = {}
    for name, _ in parameters:
        argument = name[:-len("_shape")] if name.endswith("_shape") else None
        if argument in given and argument != "mask":
            keywords[name] = shapes(given[argument])
    if not set(required) <= set(keywords):
        return None
    return layer.compute_output_shape(**keywords)


def stands_for_none(obj):
    """Whether a symbolic output is None: None itself, or Keras 2's placeholder for a None
    output of a Functional call (a KerasTensor whose type spec is ``NoneTensorSpec``)."""
    if obj is None:
        return True
    return type(getattr(obj, "type_spec", None)).__name__ == "NoneTensorSpec"


def declared_outputs(layer, args, kwargs):
    """What ``layer`` declares it returns for a symbolic call on ``args``/``kwargs``
    (``keras.Input`` tensors where the call takes tensors, constants elsewhere), asked as
    this Keras asks; None when it declares nothing (see :func:`output_declaration`).

    Keras 3 calls ``compute_output_spec(*args, **kwargs)`` (a structure of KerasTensors),
    whose default hands ``compute_output_shape`` the shapes of the call's tensor arguments
    (``mask`` left out): with one parameter, whatever its name, those of the first tensor
    argument in ``call``'s order (a list or dict argument gives a list or dict of shapes);
    with several, ``<argument>_shape`` keywords. Keras 2 calls ``compute_output_shape`` with
    the shapes of ``call``'s first argument (a structure of ``TensorShape``)."""
    if output_declaration(layer) is None:
        return None
    if KERAS_3:
        return layer.compute_output_spec(*args, **kwargs)
    return _keras2_declared_shapes(layer, args, kwargs)


def export_saved_model(model, path):
    """Export ``model``'s inference forward pass as a TensorFlow SavedModel at ``path``
    (Keras 3: ``model.export``; Keras 2: ``tf.saved_model.save``)."""
    if KERAS_3:
        model.export(str(path), verbose=False)
    else:
        tf.saved_model.save(model, str(path))


def load_exported_callable(path):
    """A function ``inputs -> outputs`` serving a SavedModel written by ``export_saved_model``
    (Keras 3 exports a ``serve`` endpoint; Keras 2's restored object is called directly and
    runs inference when no ``training`` argument is given)."""
    loaded = tf.saved_model.load(str(path))
    if KERAS_3:
        return lambda inputs: loaded.serve(inputs)
    return lambda inputs: loaded(inputs)


def keras_internal_layer_test():
    """Keras's own (private) layer test harness as ``run(layer_cls, kwargs, input_shape)``,
    or None where this Keras does not ship it. Used only to benchmark against."""
    try:
        if KERAS_3:
            from keras.src.testing import TestCase

            class _Harness(TestCase):
                def runTest(self):  # unittest needs one test method to instantiate
                    pass

            harness = _Harness()

            def run(layer_cls, kwargs, input_shape):
                harness.run_layer_test(layer_cls, init_kwargs=kwargs, input_shape=input_shape)

            return run
        from keras.src.testing_infra import test_utils

        def run(layer_cls, kwargs, input_shape):
            test_utils.layer_test(layer_cls, kwargs=kwargs, input_shape=input_shape)

        return run
    except ImportError:
        return None


def base_init_arguments(cls):
    """The base-layer kwargs (name, dtype, trainable) that the nearest Keras class in
    ``cls``'s ancestry accepts; Keras 3's ``Sequential.__init__`` takes no ``dtype``."""
    import inspect

    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] in ("keras", "tf_keras") and "__init__" in vars(klass):
            params = inspect.signature(klass.__init__).parameters
            if any(p.kind is p.VAR_KEYWORD for p in params.values()):
                return ("name", "dtype", "trainable")
            return tuple(a for a in ("name", "dtype", "trainable") if a in params)
    return ("name", "dtype", "trainable")


def variable_path(variable):
    """A variable's name with the layers that own it: Keras 3's ``path``
    (``model/dense/kernel``); Keras 2's ``name`` already holds it (``model/dense/kernel:0``)."""
    return variable.path if KERAS_3 else variable.name


# -- masks ---------------------------------------------------------------------------------

def keras_mask(tensor):
    """The mask Keras attached to ``tensor`` (``_keras_mask``), or None."""
    if KERAS_3:
        from keras.src.backend.common.masking import get_keras_mask

        return get_keras_mask(tensor)
    return getattr(tensor, "_keras_mask", None)


def attach_keras_mask(tensor, mask):
    """Attach ``mask`` to ``tensor`` as a mask-producing layer (``Embedding(mask_zero=True)``,
    ``Masking``) would, so the next layer receives it implicitly."""
    if KERAS_3:
        from keras.src.backend.common.masking import set_keras_mask

        set_keras_mask(tensor, mask)
    else:
        tensor._keras_mask = mask


#: Keras 3 warns when a layer without mask support receives a masked input ("... does not
#: support masking and will therefore destroy the mask information"); Keras 2 (2.15 and
#: tf_keras) drops the mask without a word, in eager calls and in Functional models alike.
KERAS_REPORTS_DROPPED_MASKS = KERAS_3


def reports_dropped_mask(message):
    """Whether a warning or error message is Keras saying a mask was dropped or refused."""
    text = str(message)
    return "does not support masking" in text or "destroy the mask" in text


# -- tf.distribute ---------------------------------------------------------------------------
#
# Under MirroredStrategy both versions make every weight created in the scope a
# MirroredVariable, split a global batch into contiguous equal shards, scale each replica's
# loss by its share of the global batch and sum the gradients. They differ in:
# - add_weight(aggregation=...): a string on Keras 3, a tf.VariableAggregation on Keras 2;
#   only Keras 2 takes synchronization=...;
# - plain BatchNormalization's moving statistics: Keras 2 makes them sync-on-read with MEAN
#   aggregation (each replica updates its own copy from its shard; reading gives the mean
#   of the copies); Keras 3 makes them mirrored with aggregation "none" (each replica
#   updates its own copy, the copies drift apart, and reading or saving gives the first
#   replica's, while predict under the strategy uses each replica's own);
# - the synchronised batch normalisation: BatchNormalization(synchronized=True) on both
#   (Keras 2.12+), and on Keras 2 also the deprecated SyncBatchNormalization, which is not
#   a BatchNormalization subclass there.


#: Whether a Functional model keeps a ``training=False`` given explicitly when a layer was
#: called to build it: Keras 2 does, even inside fit; Keras 3 lets fit's training mode win.
FUNCTIONAL_KEEPS_EXPLICIT_TRAINING = not KERAS_3


#: Keras 3's fit of a model made inside a strategy's scope first averages a batch over the
#: replicas to build the model symbolically (``Trainer._maybe_symbolic_build``), which
#: raises for bool inputs (there is no AddN on bool); a model made outside the scope, its
#: layers and optimizer inside it, trains under the strategy without that step.
SCOPED_MODEL_FIT_REFUSES_BOOL_INPUTS = KERAS_3


#: Whether ``predict`` under a strategy takes a distributed dataset whose replicas' shards
#: differ in size (an uneven batch): Keras 3 concatenates them; Keras 2 fails inside its
#: predict function, so it is given the arrays and cuts the uneven batch itself.
PREDICT_TAKES_UNEVEN_SHARDS = KERAS_3

#: Whether a symbolic call (on ``keras.Input``) takes its outputs from the layer's
#: ``compute_output_shape`` when it overrides it (Keras 3 does, so a call keyword that
#: changes the outputs needs ``compute_output_spec``); Keras 2 traces ``call`` itself.
SYMBOLIC_CALL_USES_COMPUTE_OUTPUT_SHAPE = KERAS_3

#: Keras 3's ``CategoryEncoding.get_config()`` leaves out ``sparse`` (Keras 2 keeps it), so a
#: layer made with ``sparse=True`` comes back from ``from_config`` dense (a Keras defect).
CATEGORY_ENCODING_CONFIG_DROPS_SPARSE = KERAS_3

#: Keras 2's ``BatchNormalization.get_config()`` leaves out ``synchronized`` (Keras 3 keeps
#: it), so a layer made with ``synchronized=True`` comes back unsynchronized (a Keras defect).
BATCH_NORMALIZATION_CONFIG_DROPS_SYNCHRONIZED = not KERAS_3


def distributed_weight_kwargs(aggregation):
    """``add_weight`` keyword arguments for a variable whose replicas' updates combine as
    ``aggregation`` says: ``"sum"`` (a count of samples), ``"mean"`` (a statistic),
    ``"only_first_replica"`` (a count of steps) or ``"none"``. Keras 3 takes the name; Keras 2
    a ``tf.VariableAggregation``, and for ``"sum"`` a sync-on-read variable (each replica adds
    to its own copy, reading adds the copies up), since TensorFlow 2.15 refuses ``assign_add``
    on a mirrored SUM variable inside a replica context."""
    if KERAS_3:
        return {"aggregation": aggregation}
    kwargs = {"aggregation": getattr(tf.VariableAggregation, aggregation.upper())}
    if aggregation == "sum":
        kwargs["synchronization"] = tf.VariableSynchronization.ON_READ
    return kwargs


def per_replica_statistics_layers(layer):
    """Keras's own layers inside ``layer`` (itself included) that keep batch statistics per
    replica under a strategy: BatchNormalization not synchronised."""
    return [sub for sub in [layer] + sublayers(layer)
            if isinstance(sub, keras.layers.BatchNormalization) and not getattr(sub, "synchronized", False)]


def synchronized_batch_normalization():
    """``(class, kwargs)`` of the batch normalisation whose statistics span the global batch:
    Keras 2's SyncBatchNormalization, Keras 3's BatchNormalization(synchronized=True)."""
    if KERAS_3:
        return keras.layers.BatchNormalization, {"synchronized": True}
    return keras.layers.experimental.SyncBatchNormalization, {}


# -- post-training quantization ----------------------------------------------------------------

#: Whether this Keras quantizes a built model's weights with ``model.quantize(mode)``
#: (Keras 3; Keras 2 and tf-keras have no such API).
QUANTIZES_MODELS = KERAS_3


def quantization_unavailable():
    """Why ``model.quantize()`` cannot be checked here, or None."""
    if not QUANTIZES_MODELS:
        return f"post-training quantization (model.quantize) needs Keras 3; this is {version_label()}"
    return None


def quantization_mode(layer):
    """The mode ``layer`` is quantized in ("int8", "float8"...), or None."""
    return getattr(layer, "quantization_mode", None)


def implements_quantize(layer):
    """Whether ``layer``'s class has a ``quantize`` of its own (Keras's Dense, EinsumDense,
    Embedding, or a user layer implementing it) rather than the base Layer's, which raises."""
    return QUANTIZES_MODELS and type(layer).quantize is not keras.layers.Layer.quantize


def quantize_layers(model, mode, layers):
    """``model.quantize(mode)`` visiting only ``layers`` (built layers of ``model`` that
    implement quantize): Keras's quantize() stops at any unbuilt sublayer, quantizable or
    not (a weightless sublayer never called), which Keras allows a layer to hold."""
    import inspect

    chosen = {id(layer) for layer in layers}
    with _no_full_collections():
        if "filters" in inspect.signature(model.quantize).parameters:
            return model.quantize(mode, filters=lambda layer: id(layer) in chosen)
        return model.quantize(mode)  # a model overriding quantize() without Keras's filters


@contextlib.contextmanager
def _no_full_collections():
    """Keras 3 runs ``gc.collect()`` each time a quantized layer deletes its float kernel
    (to free device memory at once): 0.2 s per layer in a checker process holding many
    objects, most of a quantization check's time. The garbage is collected later anyway."""
    import gc

    collect = gc.collect
    gc.collect = lambda generation=2: 0
    try:
        yield
    finally:
        gc.collect = collect


# -- other Keras backends ----------------------------------------------------------------------

#: Whether this Keras can run a layer on the JAX and PyTorch backends (Keras 3 only; Keras 2
#: and tf-keras run on TensorFlow alone).
RUNS_ON_OTHER_BACKENDS = KERAS_3


def other_backends_unavailable():
    """Why the JAX and PyTorch backends cannot be compared with this one, or None: they need
    Keras 3, and this checker itself running on TensorFlow."""
    if not RUNS_ON_OTHER_BACKENDS:
        return f"the JAX and PyTorch backends need Keras 3; this is {version_label()}"
    backend = keras.backend.backend()
    if backend != "tensorflow":
        return f"the comparison is with the TensorFlow backend; this process runs Keras on {backend}"
    return None
