"""The GPU path of the benchmarks: runs where TensorFlow sees a GPU, skipped elsewhere."""

import json
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import forms

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not forms.visible_gpus(), reason="no GPU visible to TensorFlow"),
]


@pytest.mark.parametrize("name", ["simple_dense", "cnn_residual", "resnet"])
def test_gpu_forms_compute_what_the_cpu_forms_compute_in_every_mode(name):
    cpu_model = forms.reference_forms(name, "cpu")["subclassed"]
    gpu_model = forms.reference_forms(name, "gpu")["subclassed"]
    assert "GPU" in gpu_model.weights[0].device.upper()
    expected = forms.forward(cpu_model, forms.GRAPH)(forms.inputs_for(name, 8, "cpu"))
    for mode in forms.MODES:
        seen = forms.forward(gpu_model, mode)(forms.inputs_for(name, 8, "gpu"))
        np.testing.assert_allclose(np.asarray(seen), np.asarray(expected), rtol=1e-3, atol=1e-3,
                                   err_msg=f"{name} on GPU, {mode}")


def test_gpu_benchmarks_run_and_are_labelled_with_the_gpu(tmp_path):
    pytest.importorskip("pytest_benchmark", reason="the benchmarks need the 'bench' extra")
    results = tmp_path / "gpu.json"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks", "--benchmark-only", "-m", "quick",
         "-k", "gpu and (simple_dense or peak)", "-p", "no:randomly", "-q",
         f"--benchmark-json={results}", f"--benchmark-storage=file://{tmp_path}"],
        capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    benchmarks = json.loads(results.read_text())["benchmarks"]
    assert benchmarks and all(b["extra_info"]["device"].startswith("gpu:") for b in benchmarks)
