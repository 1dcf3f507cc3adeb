"""The comparison tables of a benchmark run: medians side by side, and their ratios."""

from dataclasses import dataclass


@dataclass
class Table:
    title: str
    question: str
    header: list
    rows: list  # each a list of cells (str)
    ratios: list  # (row label, ratio) pairs for the chart
    ratio_label: str


def format_seconds(seconds):
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_ratio(ratio):
    return "-" if ratio is None else f"{ratio:.2f}x"


def _ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _pivot(results, row_keys, column_key):
    """{row key tuple: {column value: median}} over ``results``."""
    rows = {}
    for result in results:
        key = tuple(result.get(k) for k in row_keys)
        rows.setdefault(key, {})[result.get(column_key)] = result.median
    return rows


def _row_label(key, row_keys):
    parts = []
    for name, value in zip(row_keys, key):
        parts.append(f"batch {value}" if name == "batch" else str(value))
    return ", ".join(parts)


def pairwise(results, comparison, title, question, ratio_label):
    """Rows of (custom side, baseline side) medians and the custom / baseline ratio."""
    chosen = [r for r in results if r.get("comparison") == comparison]
    if not chosen:
        return None
    # A partial run (-m quick) may hold one side only: its column stays, the ratio is "-".
    baseline = next((r.get("side") for r in chosen if r.get("baseline")), "baseline")
    other = next((r.get("side") for r in chosen if not r.get("baseline")), "compared")
    row_keys = ("reference", "batch", "mode", "device")
    header = ["reference", "batch", "mode", "device", other, baseline, ratio_label]
    rows, ratios = [], []
    for key, medians in _pivot(chosen, row_keys, "side").items():
        ratio = _ratio(medians.get(other), medians.get(baseline))
        rows.append([str(k) for k in key] + [
            format_seconds(medians.get(other)), format_seconds(medians.get(baseline)),
            format_ratio(ratio),
        ])
        ratios.append((_row_label(key, row_keys), ratio))
    return Table(title, question, header, rows, ratios, ratio_label)


def across(results, kind, column_key, columns, fixed, title, question, ratio_label):
    """Medians of one reference under each value of ``column_key`` (API style or mode),
    with ``fixed`` ({info key: value}) selecting the rest, and slowest / first column."""
    chosen = [
        r for r in results
        if r.get("kind") == kind and all(r.get(k) == v for k, v in fixed.items())
    ]
    if not chosen:
        return None
    row_keys = tuple(k for k in ("reference", "batch", "device") if k not in fixed)
    present = [c for c in columns if any(r.get(column_key) == c for r in chosen)]
    header = list(row_keys) + present + [ratio_label]
    rows, ratios = [], []
    for key, medians in sorted(_pivot(chosen, row_keys, column_key).items(), key=str):
        cells = [str(k) for k in key] + [format_seconds(medians.get(c)) for c in present]
        first = medians.get(present[0])
        others = [medians[c] for c in present[1:] if c in medians]
        ratio = _ratio(first, min(others)) if others else None
        rows.append(cells + [format_ratio(ratio)])
        ratios.append((_row_label(key, row_keys), ratio))
    return Table(title, question, header, rows, ratios, ratio_label)


def matmul_peak(results):
    chosen = [r for r in results if r.get("comparison") == "fraction of matmul peak"]
    if not chosen:
        return None
    rows, ratios = [], []
    for device in sorted({r.get("device") for r in chosen}):
        on_device = [r for r in chosen if r.get("device") == device]
        # Every plain matmul is a measurement of the device's peak; the fastest one counts.
        peak_rate = max(
            (r.get("flops") / r.median for r in on_device if r.get("baseline")), default=None
        )
        for result in on_device:
            rate = result.get("flops") / result.median
            fraction = _ratio(rate, peak_rate)
            rows.append([
                result.get("side"), device, format_seconds(result.median),
                f"{rate / 1e9:.1f}", "-" if fraction is None else f"{fraction:.0%}",
            ])
            ratios.append((f"{result.get('side')}, {device}", fraction))
    header = ["computation", "device", "median", "GFLOP/s", "of measured matmul peak"]
    return Table(
        "Fraction of the device's matmul throughput",
        "How close does a large-batch Dense forward come to what this device's own matmul "
        "reaches on the same FLOPs?",
        header, rows, ratios, "fraction of peak",
    )


def checker(results):
    """The checker per tier on one layer and over many targets, each next to Keras's internal
    harness measured in the same run, on the same layer or on the same targets: the seconds
    of a run timed target by target on the targets the harness could run, or a run
    (--jobs 2) over exactly those targets."""
    chosen = [r for r in results if r.get("kind") == "checker"]
    if not chosen:
        return None

    def what(r):
        return r.get("what") or r.get("tier") or r.get("harness")

    def scope(r):
        return r.get("scope") or "one layer"  # results written before scopes existed

    harness = {scope(r): r for r in chosen if r.get("harness")}
    rows, ratios = [], []
    for r in chosen:
        targets = r.get("targets", 1)
        per_target = r.median / targets if targets else None
        base = None if r.get("harness") else harness.get(scope(r))
        ratio, basis = None, "-"
        if base is not None and scope(r) == "one layer":
            ratio, basis = _ratio(r.median, base.median), "the same layer"
        elif base is not None and r.get("same_targets_s") is not None \
                and r.get("harness_targets") == base.get("targets"):
            # Timed target by target: its seconds on the targets the harness ran.
            ratio, basis = _ratio(r.get("same_targets_s"), base.median), f"the same {base.get('targets')} targets"
        elif base is not None and r.get("harness_targets_only") and targets == base.get("targets"):
            ratio, basis = _ratio(r.median, base.median), f"the same {targets} targets"
        rows.append([what(r), scope(r), str(targets) if targets else "-", str(r.get("device")),
                     format_seconds(r.median), format_seconds(per_target), format_ratio(ratio), basis])
        if ratio is not None:
            ratios.append((f"{what(r)}, {scope(r)}", ratio))
    return Table(
        "The checker's own cost",
        "How long does checking take, per layer and over many targets, next to Keras's internal "
        "harness on the same targets (it checks far less)?",
        ["what ran", "scope", "targets", "device", "median", "per target", "checker / harness",
         "compared on"],
        rows, ratios, "checker / harness",
    )


def group_tables(results):
    """One table per pytest-benchmark group: medians and ratio to the group's baseline
    (the benchmark flagged ``baseline``, else the fastest)."""
    groups = {}
    for result in results:
        groups.setdefault(result.group, []).append(result)
    tables = []
    for group, members in groups.items():
        base = next((r for r in members if r.get("baseline")), None) or min(
            members, key=lambda r: r.median
        )
        rows = [
            [r.name, format_seconds(r.median), format_ratio(r.median / base.median),
             format_seconds(r.get("first_call_s")), str(r.rounds)]
            for r in sorted(members, key=lambda r: r.median)
        ]
        tables.append(Table(group, "", ["benchmark", "median", f"vs {base.name}",
                                         "first call", "rounds"], rows, [], ""))
    return tables


def comparison_tables(results):
    candidates = [
        pairwise(results, "custom vs built-in Dense", "Custom dense layers vs keras.layers.Dense",
                 "Is a notes layer slower than the built-in it re-implements (same weights)?",
                 "custom / Dense"),
        pairwise(results, "residual block vs built-in layers",
                 "Residual blocks vs the same computation from built-in layers",
                 "Does the subclassed block cost more than its Functional twin?",
                 "block / built-ins"),
        pairwise(results, "framework overhead", "Framework overhead",
                 "How much does Keras add over the same arithmetic as plain TF ops, both in "
                 "one tf.function?", "Keras / plain"),
        matmul_peak(results),
        across(results, "forward", "style", ("subclassed", "functional", "sequential"),
               {"mode": "tf.function"}, "API styles (forward, tf.function)",
               "Does the subclassed form lose to its Functional or Sequential twin?",
               "subclassed / fastest other"),
        across(results, "forward", "mode", ("eager", "tf.function", "xla"),
               {"style": "subclassed"}, "Execution modes (forward, subclassed form)",
               "What do tf.function and XLA buy over eager execution?",
               "eager / fastest compiled"),
        across(results, "training step", "mode", ("eager", "tf.function", "xla"),
               {"style": "subclassed"}, "Execution modes (one training step, subclassed form)",
               "What do tf.function and XLA buy for a training step?",
               "eager / fastest compiled"),
        checker(results),
    ]
    return [table for table in candidates if table is not None]
