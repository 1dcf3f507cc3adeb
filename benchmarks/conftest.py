"""Every run writes its results, labelled with the software and devices they came from."""

import os
import pathlib
import platform

from benchmarks import forms
import keras_compat as compat


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info.update(
        keras_conformance={
            "versions": compat.version_label(),
            "cpu_model": _cpu_model(),
            "cpu_count": os.cpu_count(),
            "gpus": [forms.device_label("gpu")] if forms.visible_gpus() else [],
        }
    )


RESULTS = pathlib.Path(__file__).resolve().parent / "results"
DEFAULT_STORAGE = "file://./.benchmarks"  # pytest-benchmark's own default


def pytest_configure(config):
    """Unless ``--benchmark-save`` names the run, save it under
    ``benchmarks/results/<machine id>/`` (also with ``--benchmark-json``): that is where
    ``--benchmark-compare`` looks by default. pytest-benchmark reads these options in its
    own ``pytest_configure``, which runs last."""
    option = config.option
    if not hasattr(option, "benchmark_autosave"):
        return
    if option.benchmark_storage == DEFAULT_STORAGE:
        option.benchmark_storage = f"file://{RESULTS}"
    if not (option.benchmark_save or option.benchmark_autosave):
        from pytest_benchmark.utils import get_tag  # the name --benchmark-autosave uses

        option.benchmark_autosave = get_tag()
