"""The ``keras-conformance`` command.

Exit codes: 0 every check passed or failed as expected, 1 a check failed, 2 usage error
(bad target, bad JSON, unknown reference or check, bad shape), 3 internal error.
"""

import argparse
import contextlib
import json
import logging
import os
import sys
import warnings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


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


def _build_parser():
    parser = argparse.ArgumentParser(
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
    check.add_argument("--format", choices=("text", "json", "junit", "markdown"), default=None)
    check.add_argument("--output", default=None, metavar="PATH", help="write the report here")
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


class _Progress:
    """One line per check on a terminal (stderr), so stdout stays the report."""

    def __init__(self, enabled, total):
        self.enabled, self.total, self.done = enabled, total, 0

    def __call__(self, result):
        self.done += 1
        if self.enabled:
            sys.stderr.write(f"\r\033[K[{self.done}/{self.total}] {result.check}: {result.status}")
            sys.stderr.flush()

    def finish(self):
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


@contextlib.contextmanager
def _quiet_tensorflow_logger():
    """TensorFlow logs retracing advice while checks probe the target; hide it meanwhile."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _run_check_command(args):
    from conformance.catalogue import all_checks
    from conformance.formats import render
    from conformance.report import Report
    from conformance.runner import run_spec

    specs, fmt, output = _specs_from_args(args)
    report = Report()
    checks = all_checks("full")
    show_progress = fmt == "text" and sys.stderr.isatty()
    with warnings.catch_warnings(), _quiet_tensorflow_logger():
        warnings.simplefilter("ignore")  # Keras's advice to users would drown the report
        for spec in specs:
            if show_progress:
                sys.stderr.write(f"checking {spec.label}\n")
            progress = _Progress(show_progress, len(checks))
            report.targets.append(run_spec(spec, checks=checks, on_result=progress))
            progress.finish()
    text = render(report, fmt)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
        failed = sum(1 for t in report.targets if not t.passed)
        print(f"keras-conformance: {len(report.targets) - failed} of {len(report.targets)} "
              f"target(s) passed; {fmt} report written to {output}")
    else:
        print(text)
    return report.exit_code


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


def main(argv=None):
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("keras-conformance: error: choose a command: check, checks or references", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "checks":
            return _list_checks()
        if args.command == "references":
            return _list_references()
        return _run_check_command(args)
    except UsageError as exc:
        print(f"keras-conformance: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("keras-conformance: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, never a bare traceback
        if os.environ.get("KERAS_CONFORMANCE_DEBUG"):
            raise
        print(f"keras-conformance: internal error: {type(exc).__name__}: {exc} "
              "(set KERAS_CONFORMANCE_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
