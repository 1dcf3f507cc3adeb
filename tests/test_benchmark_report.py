"""The benchmark report: ratios computed from pytest-benchmark JSON, table, chart, errors."""

import json

import pytest

from benchmarks import report

pytest.importorskip("matplotlib")


def _entry(name, group, median, **info):
    return {"name": name, "group": group, "stats": {"median": median, "rounds": 7},
            "extra_info": info}


def _write(tmp_path, benchmarks, machine_info=None):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({
        "machine_info": machine_info or {"python_version": "3.11.7", "keras_conformance": {
            "cpu_model": "Test CPU", "cpu_count": 2, "gpus": [], "versions": "Keras 3"}},
        "commit_info": {"id": "0123456789abcdef"},
        "datetime": "2026-11-21T12:00:00",
        "benchmarks": benchmarks,
    }))
    return path


def test_report_computes_ratios_against_the_baseline_and_writes_table_and_chart(tmp_path, capsys):
    group = "custom simple_dense vs keras.layers.Dense, batch 1, eager, cpu"
    common = dict(comparison="custom vs built-in Dense", reference="simple_dense", batch=1,
                  mode="eager", device="cpu")
    peak = dict(comparison="fraction of matmul peak", device="cpu", flops=2e9)
    path = _write(tmp_path, [
        _entry("custom", group, 3e-4, side="custom", baseline=False, **common),
        _entry("dense", group, 1e-4, side="keras.layers.Dense", baseline=True, **common),
        _entry("matmul", "peak", 0.02, side="tf.linalg.matmul", baseline=True, **peak),
        _entry("dense big", "peak", 0.04, side="keras.layers.Dense", baseline=False, **peak),
        _entry("fwd sub", "fwd", 2e-3, kind="forward", reference="resnet", batch=1,
               device="cpu", style="subclassed", mode="tf.function"),
        _entry("fwd fun", "fwd", 1e-3, kind="forward", reference="resnet", batch=1,
               device="cpu", style="functional", mode="tf.function"),
    ])
    out = tmp_path / "out"
    assert report.main([str(path), "--output", str(out)]) == report.EXIT_OK
    markdown = (out / "report.md").read_text()
    assert markdown == capsys.readouterr().out.rstrip("\n") + "\n"
    assert "Test CPU, 2 logical CPUs" in markdown and "commit 0123456789ab" in markdown
    assert "| simple_dense | 1 | eager | cpu | 300 µs | 100 µs | 3.00x |" in markdown
    # 2e9 FLOPs in 40 ms is 50 GFLOP/s, half of the matmul's 100 GFLOP/s.
    assert "| keras.layers.Dense | cpu | 40 ms | 50.0 | 50% |" in markdown
    assert "| resnet | 1 | cpu | 2 ms | 1 ms | 2.00x |" in markdown
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no results file"),
        ("not json", "is not JSON"),
        ('{"benchmarks": "x"}', "not pytest-benchmark JSON"),
        ('{"benchmarks": []}', "holds no benchmarks"),
        ('{"benchmarks": [{"name": "a"}]}', "malformed benchmark entry"),
    ],
)
def test_unusable_results_give_one_line_and_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    assert report.main([str(path), "--output", str(tmp_path / "out")]) == report.EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
