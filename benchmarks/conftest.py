"""Label every results file with the software and devices its absolute times came from."""

import os
import platform

from benchmarks import forms
from conformance import compat


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
