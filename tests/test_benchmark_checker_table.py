"""The benchmark report's table of the checker's own cost: ratios to Keras's harness on the
same layer or on the same targets; results written before scopes existed."""

from benchmarks import tables
from benchmarks.results import Result


def _result(name, group, median, **info):
    return Result(name=name, group=group, median=median, rounds=1, info={"kind": "checker", "device": "cpu", **info})


def test_checker_rows_are_compared_with_the_harness_on_the_same_targets():
    table = tables.checker([
        _result("fast", "one", 0.5, what="fast tier", scope="one layer", targets=1),
        _result("harness", "one", 0.25, what="harness", scope="one layer", targets=1, harness="h"),
        _result("serial", "many", 60.0, what="one process", scope="many targets", targets=60,
                same_targets_s=20.0, harness_targets=20),
        _result("jobs", "many", 30.0, what="--jobs 2", scope="many targets", targets=60),
        _result("jobs, same", "many", 10.0, what="--jobs 2, same", scope="many targets", targets=20,
                harness_targets_only=True),
        _result("harness many", "harness", 5.0, what="harness", scope="many targets", targets=20,
                harness="h"),
        _result("start-up", "start", 8.0, what="start-up", scope="start-up", targets=0),
    ])
    rows = {(row[0], row[1]): row for row in table.rows}
    assert rows["fast tier", "one layer"][4:] == ["500 ms", "500 ms", "2.00x", "the same layer"]
    assert rows["one process", "many targets"][4:] == ["60 s", "1 s", "4.00x", "the same 20 targets"]
    # --jobs 2 times no target alone: only its run on the harness's targets has a ratio.
    assert rows["--jobs 2", "many targets"][4:] == ["30 s", "500 ms", "-", "-"]
    assert rows["--jobs 2, same", "many targets"][4:] == ["10 s", "500 ms", "2.00x", "the same 20 targets"]
    assert rows["harness", "many targets"][6:] == ["-", "-"]
    assert rows["start-up", "start-up"][2] == "-" and rows["start-up", "start-up"][6] == "-"
    assert [label for label, _ in table.ratios] == [
        "fast tier, one layer", "one process, many targets", "--jobs 2, same, many targets"]


def test_results_written_before_scopes_still_give_the_one_layer_ratios():
    table = tables.checker([
        Result("full", "g", 9.74, 2, {"kind": "checker", "tier": "keras-conformance, full tier", "device": "cpu"}),
        Result("harness", "g", 0.23, 2, {"kind": "checker", "harness": "Keras internal layer_test",
                                         "device": "cpu"}),
    ])
    assert table.rows[0][0] == "keras-conformance, full tier" and table.rows[0][6] == "42.35x"
