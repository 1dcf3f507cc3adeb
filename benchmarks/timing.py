"""How every benchmark is timed, so all groups are measured the same way."""

import time

import pytest

from benchmarks import forms

#: Seconds of timed calls per benchmark: enough rounds for a stable median, few enough to
#: keep the whole CPU run inside its budget.
TARGET_SECONDS = 0.25
MIN_ROUNDS, MAX_ROUNDS = 5, 2000
#: Calls shorter than this are grouped into one round so the timer's resolution and the
#: loop's own cost stay negligible.
MIN_ROUND_SECONDS = 2e-4


def devices():
    """``cpu`` always; ``gpu`` skipped with a reason when TensorFlow sees none."""
    no_gpu = pytest.mark.skipif(not forms.visible_gpus(), reason="no GPU visible to TensorFlow")
    return [pytest.param("cpu", id="cpu"), pytest.param("gpu", id="gpu", marks=[no_gpu])]


def measure(benchmark, fn, *args, group, device, **info):
    """Time ``fn(*args)`` after its first calls (tracing, XLA compilation) are done.

    The first call's duration is kept in ``extra_info`` (``first_call_s``): for
    ``tf.function`` and XLA it is the one-off trace and compile cost the median leaves out.
    """
    benchmark.group = group
    fn = forms.synchronised(fn, device)
    start = time.perf_counter()
    fn(*args)
    first_call = time.perf_counter() - start
    fn(*args)
    start = time.perf_counter()
    fn(*args)
    once = max(time.perf_counter() - start, 1e-7)
    iterations = max(1, int(MIN_ROUND_SECONDS / once))
    rounds = min(MAX_ROUNDS, max(MIN_ROUNDS, int(TARGET_SECONDS / (once * iterations))))
    benchmark.extra_info.update(
        device=forms.device_label(device), first_call_s=round(first_call, 6), **info
    )
    return benchmark.pedantic(fn, args=args, rounds=rounds, iterations=iterations)
