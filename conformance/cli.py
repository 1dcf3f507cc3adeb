"""The ``keras-conformance`` command.

Exit codes: 0 every check passed or failed as expected; 1 a check failed (a broken
contract, or an unexpected pass under --strict); 2 usage error (bad option, target, JSON,
shape or timeout, unknown reference or check), one line; 3 internal error, one line;
4 a target could not be built and called once, so none of its contracts was checked.
With several targets, 1 wins over 4: a broken contract is the stronger news.
"""

import argparse
import math
import os
import re
import sys
import warnings

from conformance.config import UsageError, jobs_from_args, specs_from_args
from conformance.exit_codes import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE


class _OrderedInput(argparse.Action):
    """``--input`` and ``--input-shape`` append ``(option, value)`` to one list, so the inputs
    keep the order in which they were given."""

    def __call__(self, parser, namespace, value, option_string=None):
        given = list(getattr(namespace, self.dest) or [])
        given.append(("input" if option_string == "--input" else "input-shape", value))
        setattr(namespace, self.dest, given)


class _OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (main prints it), not usage text too."""

    def error(self, message):
        raise UsageError(f"{message} (see: {self.prog} --help)")


def _build_parser():
    parser = _OneLineErrorParser(
        prog="keras-conformance",
        description="Check custom Keras layers and models against the Keras contracts.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{check,checks,references}")

    check = sub.add_parser("check", help="run the checks on a target (or the pyproject targets)")
    check.add_argument("target", nargs="?", help="package.module:ClassName or path/to/file.py:ClassName")
    check.add_argument("--kwargs", default=None, help="constructor kwargs as a JSON object")
    check.add_argument("--input", action=_OrderedInput, dest="inputs", default=None,
                       metavar="[NAME=]SHAPE[:DTYPE][@LOW..HIGH]",
                       help="one input, batch first: 3,7 (positional; several make a list), "
                            "query=2,5,8 (a keyword argument), inputs.ids=2,5:int32@0..50 (a key "
                            "of a dict argument), 2,5:bool (a padding mask); repeat for each input")
    check.add_argument("--input-shape", action=_OrderedInput, dest="inputs", metavar="SHAPE",
                       help="shorthand for a positional float32 --input, e.g. 3,7")
    check.add_argument("--call-kwargs", default=None, metavar="JSON",
                       help='constant keyword arguments of every call, e.g. \'{"use_causal_mask": true}\'')
    check.add_argument("--reference", default=None, help="reference_models entry to compare against")
    check.add_argument("--reference-kwargs", default=None, help="kwargs of the reference (default: --kwargs)")
    check.add_argument("--tier", choices=("fast", "full"), default=None)
    check.add_argument("--expect-fail", action="append", default=None, metavar="CHECK_ID=REASON")
    check.add_argument("--format", choices=("text", "json", "junit", "markdown", "html"), default=None)
    check.add_argument("--output", default=None, metavar="PATH",
                       help="write the report here (missing folders are created)")
    loudness = check.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true",
                          help="list every check, and let TensorFlow's own log lines through")
    loudness.add_argument("-q", "--quiet", action="store_true",
                          help="only one summary line per target, no progress display")
    check.add_argument("--trait", action="append", default=None, metavar="TRAIT",
                       help="declare a trait the checker cannot detect (see `checks`)")
    check.add_argument("--strict", action="store_true", help="an unexpected pass fails the run")
    check.add_argument("--timeout", type=float, default=None, help="seconds per check (default 180)")
    check.add_argument("--config", default="pyproject.toml",
                       help="pyproject.toml read when no TARGET is given")
    check.add_argument("--jobs", type=int, default=None, metavar="N",
                       help="check the targets in N worker processes, one report in target "
                            "order (default 1: all in this process; pyproject key: jobs)")

    sub.add_parser("checks", help="list the catalogue of checks: id, family, contract")
    sub.add_parser("references", help="list the reference implementations")
    return parser


def _check_run_options(args):
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise UsageError(f"--timeout takes a positive number of seconds, got {args.timeout:g}")


def _prepare_output(path):
    """Create the folders ``path`` needs before any check runs, so a bad path fails fast."""
    if os.path.isdir(path):
        raise UsageError(f"--output {path} is a folder; give a file path")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the folder for --output {path}: {exc.strerror or exc}")


def _write_report(path, text):
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write the report to {path}: {exc.strerror or exc}")


def _verbosity(args):
    return 1 if args.verbose else -1 if args.quiet else 0


def _run_check_command(args):
    from conformance.catalogue import all_checks
    from conformance.formats import render
    from conformance.progress import Progress, choose_mode
    from conformance.quiet_tensorflow import tensorflow_logger_quiet
    from conformance.report import Report
    from conformance.runner import run_spec

    _check_run_options(args)
    jobs = jobs_from_args(args)
    specs, fmt, output = specs_from_args(args)
    if output:
        _prepare_output(output)
    report = Report()
    checks = all_checks("full")
    mode = choose_mode(sys.stderr, args.quiet, report_on_stdout_is_for_machines=fmt != "text" and not output)
    progress = Progress(sys.stderr, mode, len(specs))
    try:
        with warnings.catch_warnings(), tensorflow_logger_quiet():
            warnings.simplefilter("ignore")  # Keras's advice to users would drown the report
            if jobs > 1 and len(specs) > 1:
                from conformance.parallel import check_targets

                report.targets.extend(check_targets(specs, jobs, checks, sys.stderr, mode))
            else:
                for spec in specs:
                    progress.start_target(spec.label, len(checks))
                    report.targets.append(run_spec(spec, checks=checks, on_result=progress))
    finally:
        progress.close()
    text = render(report, fmt, verbosity=_verbosity(args))
    if output:
        _write_report(output, text)
        print(f"keras-conformance: {_targets_outcome(report)}; {fmt} report written to {output}")
    else:
        print(text)
    return report.exit_code


def _targets_outcome(report):
    passed = sum(1 for t in report.targets if t.passed)
    unusable = sum(1 for t in report.targets if t.error is not None)
    text = f"{passed} of {len(report.targets)} target(s) passed"
    return text + (f", {unusable} could not be built and called" if unusable else "")


def _list_checks():
    from conformance.catalogue import all_checks

    checks = all_checks("full")
    width = max(len(c.id) for c in checks)
    for c in checks:
        tier = "" if c.tier == "fast" else " [full tier]"
        print(f"{c.id:<{width}}  {c.family:<13} {c.contract}{tier}")
    from conformance.spec import DECLARABLE_TRAITS

    print("\ndeclarable traits (--trait):")
    for name, meaning in sorted(DECLARABLE_TRAITS.items()):
        print(f"  {name:<22} {meaning}")
    return EXIT_OK


def _list_references():
    from conformance import references

    for ref in references.all_references():
        print(ref.summary_line())
    return EXIT_OK


#: Options whose value may start with "-" (a negative size, then refused with a clear
#: message), which argparse would otherwise take for an unknown option.
_SIGNED_VALUE_OPTIONS = ("--input-shape", "--input")
_SIGNED_VALUE = re.compile(r"-\d")


def _attach_signed_values(argv):
    """``--input-shape -3,7`` becomes ``--input-shape=-3,7``, which argparse reads as a value."""
    joined, i = [], 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            joined += argv[i:]
            break
        if token in _SIGNED_VALUE_OPTIONS and i + 1 < len(argv) and _SIGNED_VALUE.match(argv[i + 1]):
            joined.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        joined.append(token)
        i += 1
    return joined


def _usage_error(exc):
    print(f"keras-conformance: error: {exc}", file=sys.stderr)
    return EXIT_USAGE


def main(argv=None):
    argv = _attach_signed_values(sys.argv[1:] if argv is None else list(argv))
    try:
        args = _build_parser().parse_args(argv)
        if args.command is None:
            raise UsageError("choose a command: check, checks or references (see: keras-conformance --help)")
    except UsageError as exc:
        return _usage_error(exc)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    from conformance.quiet_tensorflow import tensorflow_chatter_hidden

    # Entered before anything imports TensorFlow, whose start-up lines it keeps out.
    with tensorflow_chatter_hidden(verbose=getattr(args, "verbose", False)):
        return _run_command(args)


def _run_command(args):
    try:
        if args.command == "checks":
            return _list_checks()
        if args.command == "references":
            return _list_references()
        return _run_check_command(args)
    except UsageError as exc:
        return _usage_error(exc)
    except KeyboardInterrupt:
        print("keras-conformance: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - one line, never a bare traceback
        if os.environ.get("KERAS_CONFORMANCE_DEBUG"):
            raise
        print(f"keras-conformance: internal error: {type(exc).__name__}: {exc} "
              "(set KERAS_CONFORMANCE_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
