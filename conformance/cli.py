"""The ``keras-conformance`` command.

Exit codes: 0 every check passed or failed as expected; 1 a check failed (a broken
contract, or an unexpected pass under --strict); 2 usage error (bad option, target, JSON,
shape or timeout, unknown reference or check), one line; 3 internal error, one line;
4 a target could not be built and called once, so none of its contracts was checked.
With several targets, 1 wins over 4: a broken contract is the stronger news.
"""

import argparse
import json
import math
import os
import re
import sys
import warnings

from conformance.exit_codes import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE


class UsageError(Exception):
    pass


def _json_object(text, option):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{option} is not valid JSON ({exc.msg} at character {exc.pos}): {text}")
    if not isinstance(value, dict):
        raise UsageError(f"{option} must be a JSON object, got {type(value).__name__}: {text}")
    return value


def _shape(text):
    try:
        shape = tuple(int(part) for part in str(text).split(","))
    except ValueError:
        raise UsageError(f"--input-shape takes comma-separated positive integers with the batch first, e.g. 3,7; got {text!r}")
    if len(shape) < 2 or min(shape) < 1:
        raise UsageError(f"--input-shape needs a batch size and at least one more positive dimension, got {text!r}")
    return shape


def _expected_failures(items):
    expected = {}
    for item in items or []:
        check_id, sep, reason = item.partition("=")
        if not sep or not check_id.strip() or not reason.strip():
            raise UsageError(f"--expect-fail takes CHECK_ID=REASON, got {item!r}")
        expected[check_id.strip()] = reason.strip()
    return expected


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
    check.add_argument("--input-shape", action="append", dest="input_shapes", default=None,
                       metavar="SHAPE", help="input shape with the batch first, e.g. 3,7; repeat for several inputs")
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

    sub.add_parser("checks", help="list the catalogue of checks: id, family, contract")
    sub.add_parser("references", help="list the reference implementations")
    return parser


def _read_config(path):
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    if not os.path.isfile(path):
        raise UsageError(f"no TARGET given and no {path} to read [tool.keras-conformance] from")
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}")
    section = data.get("tool", {}).get("keras-conformance")
    if not section or not section.get("targets"):
        raise UsageError(f"no TARGET given and {path} has no [[tool.keras-conformance.targets]]")
    return section, os.path.dirname(os.path.abspath(path))


def _spec_from_entry(entry, defaults, base_dir=None):
    from conformance.loading import TargetError, load_target
    from conformance.spec import DECLARABLE_TRAITS, CheckSpec

    target = entry.get("target")
    if not target:
        raise UsageError("every [[tool.keras-conformance.targets]] entry needs target = '...'")
    if base_dir and ".py:" in target and not os.path.isabs(target):
        target = os.path.relpath(os.path.join(base_dir, target))
    try:
        cls = load_target(target)
    except TargetError as exc:
        raise UsageError(str(exc))
    reference = entry.get("reference")
    shapes = entry.get("input_shapes")
    if reference is not None:
        from conformance import references

        try:
            ref = references.get(reference)
        except KeyError as exc:
            raise UsageError(exc.args[0])
        if not shapes:
            shapes = ref.shapes(**(entry.get("reference_kwargs") or entry.get("kwargs") or {}))
    if not shapes:
        raise UsageError(f"{target}: give the input shape (--input-shape 3,7), batch first")
    traits = set(entry.get("traits") or [])
    unknown = traits - set(DECLARABLE_TRAITS)
    if unknown:
        raise UsageError(f"unknown trait(s) {', '.join(sorted(unknown))}; declarable: {', '.join(sorted(DECLARABLE_TRAITS))}")
    try:
        spec = CheckSpec(
            cls=cls,
            input_shapes=[tuple(shape) for shape in shapes],
            kwargs=entry.get("kwargs") or {},
            traits=frozenset(traits),
            expected_failures=entry.get("expect_fail") or {},
            strict=bool(entry.get("strict", defaults.get("strict", False))),
            reference=reference,
            reference_kwargs=entry.get("reference_kwargs"),
            tier=entry.get("tier", defaults.get("tier", "fast")),
            timeout=float(entry.get("timeout", defaults.get("timeout", 180.0))),
            label=target,
            import_path=target,
        )
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{target}: {exc}")
    from conformance.runner import validate_expected_failures

    try:
        validate_expected_failures(spec)
    except ValueError as exc:
        raise UsageError(str(exc))
    return spec


def _specs_from_args(args):
    defaults = {"tier": args.tier or "fast", "strict": args.strict,
                "timeout": args.timeout or 180.0}
    if args.target is None:
        section, base_dir = _read_config(args.config)
        defaults = {
            "tier": args.tier or section.get("tier", "fast"),
            "strict": args.strict or section.get("strict", False),
            "timeout": args.timeout or section.get("timeout", 180.0),
        }
        specs = [_spec_from_entry(entry, defaults, base_dir) for entry in section["targets"]]
        fmt = args.format or section.get("format", "text")
        output = args.output or section.get("output")
        return specs, fmt, output
    entry = {
        "target": args.target,
        "kwargs": _json_object(args.kwargs, "--kwargs") if args.kwargs else {},
        "input_shapes": [_shape(s) for s in args.input_shapes] if args.input_shapes else None,
        "reference": args.reference,
        "reference_kwargs": (
            _json_object(args.reference_kwargs, "--reference-kwargs") if args.reference_kwargs else None
        ),
        "expect_fail": _expected_failures(args.expect_fail),
        "traits": args.trait or [],
    }
    if args.reference_kwargs and not args.reference:
        raise UsageError("--reference-kwargs needs --reference")
    return [_spec_from_entry(entry, defaults)], args.format or "text", args.output


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
    specs, fmt, output = _specs_from_args(args)
    if output:
        _prepare_output(output)
    report = Report()
    checks = all_checks("full")
    mode = choose_mode(sys.stderr, args.quiet, report_on_stdout_is_for_machines=fmt != "text" and not output)
    progress = Progress(sys.stderr, mode, len(specs))
    try:
        with warnings.catch_warnings(), tensorflow_logger_quiet():
            warnings.simplefilter("ignore")  # Keras's advice to users would drown the report
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
