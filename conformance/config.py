"""Turning what a user wrote (command-line options, ``[tool.keras-conformance]`` tables) into
:class:`~conformance.spec.CheckSpec` objects, with one-line usage errors for what is wrong."""

import json
import os

#: The keys a ``[[tool.keras-conformance.targets]]`` entry may hold.
TARGET_KEYS = ("target", "kwargs", "inputs", "input_shapes", "call_kwargs", "reference",
               "reference_kwargs", "expect_fail", "traits", "tier", "strict", "timeout")


class UsageError(Exception):
    """What the user asked for cannot be done as asked (exit code 2, one line)."""


def json_object(text, option):
    """The JSON object ``text`` given to ``option``; a usage error if it is not one."""
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
        raise UsageError(f"--input-shape takes comma-separated positive integers with the batch "
                         f"first, e.g. 3,7; got {text!r}") from None
    if len(shape) < 2 or min(shape) < 1:
        raise UsageError(f"--input-shape needs a batch size and at least one more positive "
                         f"dimension, got {text!r}")
    return shape


def expected_failures(items):
    expected = {}
    for item in items or []:
        check_id, sep, reason = item.partition("=")
        if not sep or not check_id.strip() or not reason.strip():
            raise UsageError(f"--expect-fail takes CHECK_ID=REASON, got {item!r}")
        expected[check_id.strip()] = reason.strip()
    return expected


def read_config(path):
    """``([tool.keras-conformance] table, the folder it was read from)``."""
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


def _call_inputs(entry, target):
    """The entry's inputs as a :class:`~conformance.inputs.CallInputs`, or None if it gives none."""
    from conformance.inputs import CallInputs, InputError

    inputs = entry.get("inputs") or []
    shapes = entry.get("input_shapes") or []
    if not isinstance(inputs, list) or not isinstance(shapes, list):
        raise UsageError(f"{target}: inputs and input_shapes are lists")
    call_kwargs = entry.get("call_kwargs")
    if call_kwargs is not None and not isinstance(call_kwargs, dict):
        raise UsageError(f"{target}: call_kwargs must be a table (a JSON object on the command line)")
    if not inputs and not shapes:
        if call_kwargs:
            raise UsageError(f"{target}: call_kwargs need inputs to go with them (--input ...)")
        return None
    try:
        return CallInputs.of(inputs=inputs, input_shapes=[tuple(s) for s in shapes], call_kwargs=call_kwargs)
    except (InputError, TypeError) as exc:
        raise UsageError(f"{target}: {exc}") from None


def spec_from_entry(entry, defaults, base_dir=None):
    """A :class:`~conformance.spec.CheckSpec` from one target entry (a pyproject table, or
    the command line's options in the same form)."""
    from conformance.loading import TargetError, load_target
    from conformance.spec import DECLARABLE_TRAITS, CheckSpec

    target = entry.get("target")
    if not target:
        raise UsageError("every [[tool.keras-conformance.targets]] entry needs target = '...'")
    unknown_keys = sorted(set(entry) - set(TARGET_KEYS))
    if unknown_keys:
        raise UsageError(f"{target}: unknown key(s) {', '.join(unknown_keys)}; a target takes "
                         f"{', '.join(TARGET_KEYS)}")
    if base_dir and ".py:" in target and not os.path.isabs(target):
        target = os.path.relpath(os.path.join(base_dir, target))
    try:
        cls = load_target(target)
    except TargetError as exc:
        raise UsageError(str(exc))
    inputs = _call_inputs(entry, target)
    reference = entry.get("reference")
    if reference is not None:
        from conformance import references

        try:
            ref = references.get(reference)
        except KeyError as exc:
            raise UsageError(exc.args[0])
        if inputs is None:
            from conformance.inputs import CallInputs

            inputs = CallInputs.of(input_shapes=ref.shapes(
                **(entry.get("reference_kwargs") or entry.get("kwargs") or {})))
    if inputs is None:
        raise UsageError(f"{target}: say what it is called with: --input SHAPE (e.g. --input 3,7, "
                         "--input query=2,5,8, --input 3,6:int32@0..20), batch first")
    traits = set(entry.get("traits") or [])
    unknown = traits - set(DECLARABLE_TRAITS)
    if unknown:
        raise UsageError(f"unknown trait(s) {', '.join(sorted(unknown))}; declarable: "
                         f"{', '.join(sorted(DECLARABLE_TRAITS))}")
    try:
        spec = CheckSpec(
            cls=cls,
            inputs=inputs,
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


def _command_line_inputs(given):
    """``--input`` and ``--input-shape`` values, in the order given, as input descriptions."""
    return [text if option == "input" else _shape(text) for option, text in given or []]


def specs_from_args(args):
    """``(specs, format, output path)`` for a ``check`` command: the TARGET and its options,
    or the targets of the pyproject table when no TARGET is given."""
    defaults = {"tier": args.tier or "fast", "strict": args.strict,
                "timeout": args.timeout or 180.0}
    if args.target is None:
        if args.inputs or args.call_kwargs or args.kwargs:
            raise UsageError("--input, --input-shape, --call-kwargs and --kwargs describe a TARGET; "
                             "give one, or put them in the pyproject table")
        section, base_dir = read_config(args.config)
        defaults = {
            "tier": args.tier or section.get("tier", "fast"),
            "strict": args.strict or section.get("strict", False),
            "timeout": args.timeout or section.get("timeout", 180.0),
        }
        specs = [spec_from_entry(entry, defaults, base_dir) for entry in section["targets"]]
        fmt = args.format or section.get("format", "text")
        output = args.output or section.get("output")
        return specs, fmt, output
    entry = {
        "target": args.target,
        "kwargs": json_object(args.kwargs, "--kwargs") if args.kwargs else {},
        "inputs": _command_line_inputs(args.inputs),
        "call_kwargs": json_object(args.call_kwargs, "--call-kwargs") if args.call_kwargs else None,
        "reference": args.reference,
        "reference_kwargs": (
            json_object(args.reference_kwargs, "--reference-kwargs") if args.reference_kwargs else None
        ),
        "expect_fail": expected_failures(args.expect_fail),
        "traits": args.trait or [],
    }
    if args.reference_kwargs and not args.reference:
        raise UsageError("--reference-kwargs needs --reference")
    return [spec_from_entry(entry, defaults)], args.format or "text", args.output


def positive_jobs(value, where):
    """``value`` as a number of worker processes; a one-line usage error unless it is a
    positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{where} takes a positive whole number of worker processes, got {value!r}")
    return value


def jobs_from_args(args):
    """How many worker processes check the targets: ``--jobs``, else the pyproject table's
    ``jobs`` when no TARGET is given, else 1 (every target in this process)."""
    if getattr(args, "jobs", None) is not None:
        return positive_jobs(args.jobs, "--jobs")
    if args.target is None:
        section, _ = read_config(args.config)
        if "jobs" in section:
            return positive_jobs(section["jobs"], f"jobs in {args.config}")
    return 1
