"""Run the corpus's fast tier and pin its verdicts: ``python -m realworld.pin [LABEL ...]``.

With no labels every target whose library is installed is run; with labels only those are,
and the other pinned targets are kept as they were. The verdicts go to
``realworld/verdicts/<keras3|keras2|tf-keras>.json`` as ``{label: {check id: status}}``
of the checks that did not pass (a check absent passed), the format of tests/verdicts/. ``--print`` also prints each unexpected result, ``--dry-run`` writes nothing; ``--table`` runs nothing and
prints the pinned verdicts as the Markdown table of docs/real-world-findings.md.
"""

import argparse
import json
import pathlib
import sys
import warnings

VERDICTS = pathlib.Path(__file__).resolve().parent / "verdicts"


def verdicts_path():
    import keras_compat as compat

    name = "keras3" if compat.KERAS_3 else ("tf-keras" if compat.USES_LEGACY_KERAS else "keras2")
    return VERDICTS / f"{name}.json"


def pinned():
    """The pinned ``{label: {check id: status}}`` of this Keras ({} when none are)."""
    path = verdicts_path()
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def run(target):
    """The fast-tier report of ``target``, from a cleared Keras session (as the tests run it)."""
    import keras_compat as compat
    from conformance.runner import run_spec
    from realworld.corpus import spec

    compat.reset_session()
    compat.keras.utils.set_random_seed(1234)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_spec(spec(target))


def statuses(report):
    """The pinned form of ``report``: the status of every check that did not pass."""
    return {result.check: result.status for result in report.results if result.status != "passed"}


def verdict_summary(checks):
    """One cell: "clean", "defect (N xfail)" or the checks that still fail."""
    bad = sorted(check for check, status in checks.items() if status in ("failed", "error", "xpass"))
    xfail = sum(status == "xfail" for status in checks.values())
    cells = [f"defect ({xfail} xfail)"] if xfail else []
    if bad:
        cells.append("**fails** " + ", ".join(f"`{check}`" for check in bad))
    return "; ".join(cells) or "clean"


def table(verdicts):
    return "\n".join(f"| `{label}` | {verdict_summary(checks)} |" for label, checks in verdicts.items())


def main(argv=None):
    from realworld.corpus import all_targets, missing_library

    parser = argparse.ArgumentParser(prog="python -m realworld.pin", description=__doc__.splitlines()[0])
    parser.add_argument("labels", nargs="*", help="target labels (default: every runnable target)")
    parser.add_argument("--print", action="store_true", dest="print_results",
                        help="print each target's unexpected results")
    parser.add_argument("--dry-run", action="store_true", help="write no pins")
    parser.add_argument("--table", action="store_true", help="print the pinned verdicts as a table")
    args = parser.parse_args(argv)
    if args.table:
        print(table(pinned()))
        return 0
    targets = [t for t in all_targets() if not args.labels or t.label in args.labels]
    unknown = set(args.labels) - {t.label for t in targets}
    if unknown:
        parser.error(f"unknown labels: {sorted(unknown)}")
    verdicts = pinned()
    for target in targets:
        missing = missing_library(target)
        if missing is not None:
            print(f"skipped {target.label}: {missing}", file=sys.stderr)
            continue
        report = run(target)
        verdicts[target.label] = statuses(report)
        bad = [r for r in report.results if r.status not in ("passed", "skipped", "xfail")]
        print(f"{target.label}: {len(bad)} unexpected", file=sys.stderr, flush=True)
        if args.print_results:
            for result in bad:
                print(f"  {result.status} {result.check}: {result.message}", flush=True)
    if not args.dry_run:
        path = verdicts_path()
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(dict(sorted(verdicts.items())), indent=1, sort_keys=True) + "\n",
                        encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
