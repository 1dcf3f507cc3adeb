"""Turning what a user wrote (command-line options, ``[tool.keras-conformance]`` tables) into
:class:`~conformance.spec.CheckSpec` objects, with one-line usage errors for what is wrong."""

import difflib
import json
import math
import os
from dataclasses import dataclass, field

from conformance.options import (  # noqa: F401 - UsageError and the validators are used from here too
    DEFAULT_TIMEOUT, FORMATS, PASSED_THROUGH, TABLE_KEYS, TARGET_FLAGS, TARGET_KEYS, UsageError, positive_jobs, positive_seconds,
    report_format, validated,
)


def refuse_unknown_keys(given, known, where):
    """A usage error naming the first unknown key of ``given`` and the known key it is
    closest to, if any."""
    unknown = sorted(set(given) - set(known))
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), known, n=1)
        hints.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    raise UsageError(f"{where}: unknown key(s) {', '.join(hints)}; known keys: {', '.join(known)}")


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
    """A ``--input-shape`` value: a positional float32 input, read by the input grammar."""
    from conformance.inputs import InputError, TensorInput, parse_input

    try:
        spec = parse_input(text)
    except InputError as exc:
        raise UsageError(f"--input-shape takes comma-separated positive integers with the batch "
                         f"first, e.g. 3,7; {exc}") from None
    if spec != TensorInput(spec.shape):
        raise UsageError(f"--input-shape takes a shape only, e.g. 3,7 (for names, dtypes and "
                         f"marks use --input); got {text!r}")
    return spec.shape


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


class TargetImportFailed(Exception):
    """Importing the target's module ran its code, and that code raised or exited: the
    target cannot be checked (its error row, exit code 4), the others still are."""


@dataclass
class PendingTarget:
    """A target entry, checked for everything but its class, which :meth:`load` imports
    right before its checks (a module's import-time code cannot touch the targets before
    it, and one that exits or raises is that target's error)."""

    target: str
    fields: dict
    target_timeout: float = None
    loaded: object = field(default=None, repr=False)

    @property
    def label(self):
        return self.target

    def load(self):
        """The :class:`~conformance.spec.CheckSpec`: a :class:`UsageError` if the target
        names nothing importable, :class:`TargetImportFailed` if its module's code failed."""
        from conformance.spec import CheckSpec

        if self.loaded is None:
            cls = import_target(self.target)
            try:
                self.loaded = CheckSpec(cls=cls, **self.fields)
            except (TypeError, ValueError) as exc:  # a kwarg that cannot be deserialized...
                raise UsageError(f"{self.target}: {exc}") from None
        return self.loaded


def _names_a_missing_module(exc, target):
    """Whether ``exc`` (raised importing ``target``) says the module ``target`` names is not
    there, rather than that its code failed."""
    missing = getattr(exc, "name", None)
    if not isinstance(exc, ModuleNotFoundError) or not missing:
        return False
    where = target.split(":")[0]
    return where == missing or where.startswith(missing + ".")


def import_target(target):
    """The class ``target`` names; :class:`UsageError` if it names nothing importable,
    :class:`TargetImportFailed` if importing it ran code that raised or exited."""
    from conformance.loading import TargetError, load_target
    from conformance.outcomes import RunInterrupted, describe_escape, describe_exception, is_escape

    where = target.split(":")[0]
    try:
        return load_target(target)
    except RunInterrupted:
        raise
    except TargetError as exc:
        cause = exc.__cause__
        if cause is None or _names_a_missing_module(cause, target):
            raise UsageError(str(exc)) from None
        raise TargetImportFailed(f"cannot import {where!r}: {describe_exception(cause)}") from None
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt at import
        if not is_escape(exc):
            raise
        raise TargetImportFailed(f"cannot import {where!r}: its code {describe_escape(exc)} "
                                 "while it was imported") from None


def pending_from_entry(entry, defaults, base_dir=None):
    """A :class:`PendingTarget` from one target entry (a pyproject table, or the command
    line's options in the same form), every usage error found without importing it."""
    from conformance.spec import DECLARABLE_TRAITS

    target = entry.get("target") if isinstance(entry, dict) else None
    if not target:
        raise UsageError("every [[tool.keras-conformance.targets]] entry needs target = '...'")
    refuse_unknown_keys(entry, TARGET_KEYS, f"target {target}")
    if base_dir and ".py:" in target and not os.path.isabs(target):
        target = os.path.relpath(os.path.join(base_dir, target))
    _refuse_malformed_target(target)
    inputs = _call_inputs(entry, target)
    reference = entry.get("reference")
    if base_dir and isinstance(reference, str) and ".py:" in reference and not os.path.isabs(reference):
        reference = os.path.relpath(os.path.join(base_dir, reference))  # like the target's file
    if reference is None and entry.get("weight_map"):
        raise UsageError(f"{target}: weight_map needs a reference")
    if reference is not None:
        from conformance import reference_target

        problem = reference_target.malformed(reference)
        if problem:
            raise UsageError(problem)
        ref = reference_target.registry_entry(reference)
        if inputs is None and ref is not None:
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
    tier = validated("tier", entry.get("tier", defaults.get("tier", "fast")), f"{target}: tier")
    expected = entry.get("expect_fail") or {}
    if not isinstance(expected, dict):
        raise UsageError(f"{target}: expect_fail must be a table of check id = reason")
    _refuse_unknown_expected_failures(expected)
    timeout = validated("timeout", entry["timeout"], f"timeout of {target}") if "timeout" in entry \
        else defaults.get("timeout", DEFAULT_TIMEOUT)
    target_timeout = validated("target_timeout", entry["target_timeout"], f"target_timeout of {target}") \
        if "target_timeout" in entry else defaults.get("target_timeout")
    golden = _golden_folder(entry.get("golden"), f"golden of {target}", base_dir) or defaults.get("golden")
    if defaults.get("update_golden") and not golden:
        raise UsageError(f"{target}: --update-golden needs --golden DIR (or golden in the pyproject table)")
    fields = dict(
        inputs=inputs,
        kwargs=entry.get("kwargs") or {},
        traits=frozenset(traits),
        expected_failures=expected,
        strict=bool(entry.get("strict", defaults.get("strict", False))),
        reference=reference,
        reference_kwargs=entry.get("reference_kwargs"),
        tier=tier,
        timeout=timeout,
        label=target,
        import_path=target,
        golden=golden,
        update_golden=bool(defaults.get("update_golden")),
        **{key: entry[key] for key in PASSED_THROUGH if entry.get(key)},
    )
    return PendingTarget(target=target, fields=fields, target_timeout=target_timeout)


def _golden_folder(value, where, base_dir=None):
    """A ``golden`` folder as given (None if not), relative to ``base_dir`` (the pyproject's
    folder) when it is relative and read from a pyproject."""
    if value is None:
        return None
    value = validated("golden", value, where)
    return os.path.join(base_dir, value) if base_dir and not os.path.isabs(value) else value


def _refuse_malformed_target(target):
    """What can be told about a TARGET without importing it: its form, and that its file exists."""
    if not isinstance(target, str) or target.count(":") != 1 or not all(target.split(":")):
        raise UsageError(f"TARGET must be 'package.module:ClassName' or 'path/to/file.py:ClassName', "
                         f"got {target!r}")
    where = target.split(":")[0]
    if where.endswith(".py") and not os.path.isfile(where):
        raise UsageError(f"no such file: {os.path.abspath(where)}")


def _refuse_unknown_expected_failures(expected):
    from conformance.catalogue import all_checks

    known = {check.id for check in all_checks("full")}
    unknown = sorted(set(expected) - known)
    if unknown:
        raise UsageError(f"expected failures name unknown checks: {', '.join(unknown)}")


def spec_from_entry(entry, defaults, base_dir=None):
    """A :class:`~conformance.spec.CheckSpec` from one target entry, its class imported now;
    a usage error also when its module cannot be imported."""
    pending = pending_from_entry(entry, defaults, base_dir)
    try:
        return pending.load()
    except TargetImportFailed as exc:
        raise UsageError(str(exc)) from None


def _command_line_inputs(given):
    """``--input`` and ``--input-shape`` values, in the order given, as input descriptions."""
    return [text if option == "input" else _shape(text) for option, text in given or []]


#: How a target option's command-line value becomes its pyproject form (the others are the same).
_FROM_COMMAND_LINE = {
    "kwargs": lambda text: json_object(text, "--kwargs") if text else {},
    "inputs": lambda given: _command_line_inputs(given),
    "call_kwargs": lambda text: json_object(text, "--call-kwargs") if text else None,
    "reference_kwargs": lambda text: json_object(text, "--reference-kwargs") if text else None,
    "expect_fail": lambda items: expected_failures(items),
    "traits": lambda names: names or [],
}


@dataclass
class RunOptions:
    """What a ``check`` command runs and how: the targets (not imported yet), the report's
    format and path, and the run's budget."""

    targets: list
    format: str
    output: str = None
    run_timeout: float = None


def _seconds_option(args, name):
    value = getattr(args, name, None)
    return None if value is None else validated(name, value, "--" + name.replace("_", "-"))


def run_options(args):
    """The :class:`RunOptions` of a ``check`` command: the TARGET and its options, or the
    targets of the pyproject table when no TARGET is given. Every usage error is raised
    here, before any target is imported."""
    timeout, target_timeout = _seconds_option(args, "timeout"), _seconds_option(args, "target_timeout")
    run_timeout = _seconds_option(args, "run_timeout")
    if args.format is not None:
        validated("format", args.format, "--format")
    defaults = {"tier": args.tier or "fast", "strict": args.strict,
                "golden": _golden_folder(getattr(args, "golden", None), "--golden"),
                "update_golden": getattr(args, "update_golden", False),
                "timeout": timeout or DEFAULT_TIMEOUT, "target_timeout": target_timeout}
    if args.target is None:
        if args.inputs or args.call_kwargs or args.kwargs:
            raise UsageError("--input, --input-shape, --call-kwargs and --kwargs describe a TARGET; "
                             "give one, or put them in the pyproject table")
        section, base_dir = read_config(args.config)
        where = f"[tool.keras-conformance] in {args.config}"
        refuse_unknown_keys(section, TABLE_KEYS, where)

        def table_seconds(key):
            return validated(key, section[key], f"{key} in {where}") if key in section else None

        defaults = {
            "tier": args.tier or section.get("tier", "fast"),
            "strict": args.strict or section.get("strict", False),
            "timeout": timeout or table_seconds("timeout") or DEFAULT_TIMEOUT,
            "target_timeout": target_timeout or table_seconds("target_timeout"),
            "golden": defaults["golden"] or _golden_folder(section.get("golden"), f"golden in {where}", base_dir),
            "update_golden": defaults["update_golden"],
        }
        if not isinstance(section["targets"], list):
            raise UsageError(f"targets in {where} must be an array of tables ([[tool.keras-conformance.targets]])")
        targets = [pending_from_entry(entry, defaults, base_dir) for entry in section["targets"]]
        fmt = args.format or validated("format", section.get("format", "text"), f"format in {where}")
        return RunOptions(targets, fmt, args.output or section.get("output"),
                          run_timeout or table_seconds("run_timeout"))
    entry = {"target": args.target}
    for option in TARGET_FLAGS:
        if option.name != "input_shapes":  # --input-shape joins --input's ordered list
            read = _FROM_COMMAND_LINE.get(option.name)
            value = getattr(args, option.attribute, None)
            entry[option.name] = value if read is None else read(value)
    if args.reference_kwargs and not args.reference:
        raise UsageError("--reference-kwargs needs --reference")
    if args.weight_map and not args.reference:
        raise UsageError("--weight-map needs --reference")
    return RunOptions([pending_from_entry(entry, defaults)], args.format or "text", args.output, run_timeout)


def jobs_from_args(args):
    """How many target processes check the targets: ``--jobs``, else the pyproject table's
    ``jobs`` when no TARGET is given, else 1 (every target in this process)."""
    if getattr(args, "jobs", None) is not None:
        return validated("jobs", args.jobs, "--jobs")
    if args.target is None:
        section, _ = read_config(args.config)
        if "jobs" in section:
            return validated("jobs", section["jobs"], f"jobs in {args.config}")
    return 1
