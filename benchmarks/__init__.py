"""pytest-benchmark benchmarks: forward passes of the references and the checker itself."""
