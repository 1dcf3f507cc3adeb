"""Choosing and configuring the replicas, before TensorFlow's runtime starts.

``auto`` (the default) uses the visible GPUs when there are two or more, else two logical
CPU devices carved out of the one physical CPU (with the GPUs hidden, so that the
single-device runs the replicas are compared with also run on the CPU). ``gpu`` insists on
two or more GPUs; ``cpu`` always uses the logical CPU devices. The environment variable
:data:`DEVICES_VARIABLE` chooses; a GPU runner sets it to ``gpu`` so that a machine that
lost its GPUs is reported, not silently checked on the CPU.
"""

import os

DEVICES_VARIABLE = "KERAS_CONFORMANCE_DISTRIBUTION_DEVICES"
MODES = ("auto", "cpu", "gpu")
#: The number of logical CPU devices standing in for GPUs.
CPU_REPLICAS = 2


class NoReplicas(Exception):
    """Fewer than two devices to replicate over (the reason is the message)."""


def requested_mode():
    mode = os.environ.get(DEVICES_VARIABLE, "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise NoReplicas(f"{DEVICES_VARIABLE}={mode!r} is not one of {', '.join(MODES)}")
    return mode


def configure_replicas(mode=None):
    """Configure TensorFlow's devices for ``mode`` and return the replicas' device names
    (``/gpu:0``, ``/gpu:1``... or ``/cpu:0``, ``/cpu:1``). Must run before any TensorFlow
    op; :class:`NoReplicas` when ``gpu`` is asked for and fewer than two GPUs are visible."""
    import tensorflow as tf

    mode = mode or requested_mode()
    gpus = tf.config.list_physical_devices("GPU")
    if mode == "gpu" and len(gpus) < 2:
        raise NoReplicas(f"two or more GPUs are needed as replicas; TensorFlow sees {len(gpus)}")
    if mode != "cpu" and len(gpus) >= 2:
        for gpu in gpus:
            tf.config.experimental.set_memory_growth(gpu, True)
        # TensorFloat-32 rounds float32 matmuls to 10-bit mantissas: the replicas' split
        # sums would then differ from one device's by far more than float32 rounding.
        tf.config.experimental.enable_tensor_float_32_execution(False)
        return [f"/gpu:{index}" for index in range(len(gpus))]
    if gpus:
        tf.config.set_visible_devices([], "GPU")
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(CPU_REPLICAS)])
    return [f"/cpu:{index}" for index in range(CPU_REPLICAS)]
