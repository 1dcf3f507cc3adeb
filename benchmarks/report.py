"""Turn pytest-benchmark JSON into a markdown report and a chart.

    python -m benchmarks.report RESULTS.json --output DIR

prints the markdown and writes ``DIR/report.md`` and ``DIR/report.png``. Exit codes: 0
written, 2 unusable input (missing or malformed results, output not writable).
"""

import argparse
import os
import sys

from benchmarks import tables
from benchmarks.results import ResultsError, load

EXIT_OK, EXIT_USAGE = 0, 2


def _markdown_table(table):
    lines = ["| " + " | ".join(table.header) + " |",
             "|" + "|".join("---" for _ in table.header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in table.rows]
    return "\n".join(lines)


def render_markdown(results):
    parts = [
        "# Benchmark report",
        "",
        f"Measured on: {results.machine}.  ",
        f"Run: {results.when}, commit {results.commit}. Times are medians per call; "
        "absolute times hold for this machine only, ratios travel better.",
    ]
    comparisons = tables.comparison_tables(results.results)
    if comparisons:
        parts += ["", "## Comparisons"]
    for table in comparisons:
        parts += ["", f"### {table.title}", "", table.question, "", _markdown_table(table)]
    parts += ["", "## Every group", ""]
    for table in tables.group_tables(results.results):
        parts += [f"### {table.title}", "", _markdown_table(table), ""]
    return "\n".join(parts).rstrip() + "\n"


def render_chart(results, path):
    """One horizontal bar chart per comparison, ratios on a log axis (1 = parity)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    charted = [t for t in tables.comparison_tables(results.results)
               if any(ratio is not None for _, ratio in t.ratios)]
    heights = [max(1.5, 0.22 * len(t.ratios) + 0.8) for t in charted] or [1.5]
    figure, axes = pyplot.subplots(
        len(heights), 1, figsize=(9, sum(heights)), gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for axis, table in zip(axes[:, 0], charted):
        labelled = [(label, ratio) for label, ratio in table.ratios if ratio is not None]
        labels = [label for label, _ in labelled]
        values = [ratio for _, ratio in labelled]
        positions = range(len(values))
        # Bars grow from parity (1.0): right of the line the first column costs more.
        axis.barh(positions, [v - 1.0 for v in values], left=1.0,
                  color=["#c0392b" if v > 1 else "#2e86c1" for v in values])
        axis.set_yticks(list(positions), labels, fontsize=7)
        axis.invert_yaxis()
        axis.set_xscale("log")
        axis.axvline(1.0, color="black", linewidth=0.8)
        axis.set_title(f"{table.title} ({table.ratio_label})", fontsize=9)
        axis.tick_params(axis="x", labelsize=7)
    if not charted:
        axes[0, 0].text(0.5, 0.5, "no comparison groups in these results", ha="center")
        axes[0, 0].set_axis_off()
    figure.suptitle(f"keras-conformance benchmarks\n{results.machine}", fontsize=8)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.5 / sum(heights)))
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description="Markdown table and PNG chart from pytest-benchmark JSON results.",
    )
    parser.add_argument("results", help="a file written by pytest --benchmark-json")
    parser.add_argument("--output", required=True, help="folder for report.md and report.png")
    args = parser.parse_args(argv)
    try:
        results = load(args.results)
        os.makedirs(args.output, exist_ok=True)
        markdown = render_markdown(results)
        with open(os.path.join(args.output, "report.md"), "w") as handle:
            handle.write(markdown)
        render_chart(results, os.path.join(args.output, "report.png"))
    except ResultsError as exc:
        print(f"benchmarks.report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"benchmarks.report: cannot write to {args.output}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    print(markdown)
    print(f"wrote {os.path.join(args.output, 'report.md')} and report.png", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
