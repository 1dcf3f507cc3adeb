"""Running checks on targets and turning what happened into results."""

import json
import math
import time
import zlib

import keras_compat as compat
from conformance import check_host
from conformance.catalogue import all_checks, get_check
from conformance.interrupts import signals_stop_the_run
from conformance.isolation import TimedOut, abandoned_count, isolated, run_with_timeout, still_running_since
from conformance.outcomes import (
    ContractViolation,
    NotApplicable,
    RunInterrupted,
    UnusableSetup,
    describe_escape,
    describe_exception,
    exception_text,
    is_escape,
)
from conformance.report import UNUSABLE_CHECK, CheckResult, Report, TargetReport, failure_sentence
from conformance.spec import CheckSpec
from conformance.traits import declared_skip
from conformance.tensors import as_arrays, non_finite, undefined_outputs


def _not_applicable_reason(check, spec):
    if not check.in_tier(spec.tier):
        return "runs in the full tier only (--tier full)"
    if spec.kind not in check.kinds:
        return f"applies to {' and '.join(k + 's' for k in check.kinds)} only"
    if check.needs_reference and spec.reference is None:
        return "needs a reference to compare against (--reference NAME, MODULE:CLASS or MODULE:FUNCTION)"
    return declared_skip(check, spec, before_probe=True)


def _message(check_id, contract, status, fields):
    """The result in one line, for the JSON report's ``message`` (renderers use the fields)."""
    if fields.get("expected") is not None or fields.get("seen") is not None:
        text = f"{check_id}: " + failure_sentence(contract, fields.get("expected"), fields.get("seen"),
                                                   fields.get("hint"))
        if status == "xfail":
            return f"expected to fail ({fields['reason']}): {text}"
        return text
    if status == "xpass":
        return f"expected to fail ({fields['reason']}) but passed"
    if fields.get("note"):
        return f"note: {fields['note']}"
    return fields.get("reason") or ""


def positive_seconds(value, where):
    """``value`` as a float number of seconds; ``ValueError`` (saying ``where``) unless it is
    a positive, finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} takes a positive number of seconds, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{where} takes a positive number of seconds, got {value!r}")
    return float(value)


class Budget:
    """A number of seconds for a target's checks or a whole run, counted from its creation."""

    def __init__(self, seconds, what):
        self.seconds, self.what = float(seconds), what
        self.deadline = time.monotonic() + self.seconds

    def remaining(self):
        return self.deadline - time.monotonic()

    def ran_out(self):
        return self.remaining() <= 0

    def __str__(self):
        return f"{self.what}'s budget of {self.seconds:g} s"


def _check_timeout(spec, budgets):
    """``(seconds, the budget that caps them or None)``: the check's own timeout, unless a
    budget has less left."""
    timeout, capped_by = spec.timeout, None
    for budget in budgets:
        if budget is not None and budget.remaining() < timeout:
            timeout, capped_by = max(budget.remaining(), 0.0), budget
    return timeout, capped_by


def seed_of(spec, step):
    """The seed of every random draw of one step (a check id, or "probe") on one target:
    the same command draws the same weights and gets the same verdict and numbers."""
    return zlib.crc32(f"{spec.label}|{step}".encode())


def _seeded(spec, step, func):
    with compat.seeded_draws(seed_of(spec, step)):
        return func()


def _outcome(check, spec, budgets=()):
    """``(status, fields)`` of one check on a usable spec, before expected failures apply.
    ``fields`` holds ``expected``, ``seen`` and ``hint`` of a failure, or the ``reason`` of
    a skip or an error."""
    timeout, capped_by = _check_timeout(spec, budgets)
    try:
        with isolated():
            returned = run_with_timeout(lambda: _seeded(spec, check.id, lambda: check(spec)), timeout)
    except RunInterrupted:
        raise  # a real signal to the checking process: the run stops
    except NotApplicable as exc:
        return "skipped", {"reason": exception_text(exc)}
    except ContractViolation as violation:
        return "failed", {"expected": violation.expected, "seen": violation.seen, "hint": violation.hint}
    except UnusableSetup as exc:
        return "error", {"reason": exception_text(exc)}
    except TimedOut:
        if capped_by is not None:
            return _budget_ran_out(capped_by, "during this check")
        return "failed", {"expected": f"the check to finish within {timeout:g} s",
                          "seen": "it still running then"}
    except Exception as exc:  # noqa: BLE001 - user code raising is a failed contract
        return "failed", {"expected": "the contract to hold", "seen": f"the target raise {describe_exception(exc)}"}
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt from user code
        return "error", {"reason": f"the target {describe_escape(exc)} during the check; that ends this "
                                   "check only, and the run goes on"}
    # A check that passes may return a short note (a str) for the report; nothing else counts.
    return "passed", ({"note": returned} if isinstance(returned, str) and returned else {})


def _budget_ran_out(budget, when):
    """A target's budget running out is an error of that target's check; the run's budget
    running out leaves the check not run."""
    status = "skipped" if budget.what == "the run" else "error"
    return status, {"reason": f"not run to its end: {budget} ran out {when}"}


def _apply_expectation(check, spec, status, fields):
    reason = spec.expected_failures.get(check.id)
    if reason is None:
        return status, fields
    if status == "failed":
        return "xfail", {**fields, "reason": reason}
    if status == "passed":
        return "xpass", {"reason": reason}
    return status, fields


def _result(check, status, fields, started):
    return CheckResult(
        check=check.id,
        family=check.family,
        status=status,
        message=_message(check.id, check.contract, status, fields),
        seconds=round(time.perf_counter() - started, 3),
        contract=check.contract,
        expected=fields.get("expected"),
        seen=fields.get("seen"),
        hint=fields.get("hint"),
        reason=fields.get("reason"),
        note=fields.get("note"),
    )


def run_check(check, spec, unusable=None, undefined=None, budgets=()):
    """Run one check (a :class:`~conformance.catalogue.Check` or its id) on ``spec``.

    ``undefined`` is ``(problem, check id)`` when the target's example outputs are not
    finite tensors (see :func:`probe`): that check reports it, and every
    other check is skipped with that reason. ``budgets`` (:class:`Budget` objects, the
    target's and the run's) cap the check's timeout.
    """
    if isinstance(check, str):
        check = get_check(check)
    started = time.perf_counter()
    reason = _not_applicable_reason(check, spec)
    if reason is not None:
        status, fields = "skipped", {"reason": reason}
    elif unusable is not None:
        status, fields = "error", {"reason": unusable}
    elif undefined is not None and check.id != undefined[1]:
        status, fields = "skipped", {"reason": f"not run: {undefined[0]} ({undefined[1]} reports it)"}
    elif declared_skip(check, spec) is not None:
        status, fields = "skipped", {"reason": declared_skip(check, spec)}
    else:
        with signals_stop_the_run():
            status, fields = _outcome(check, spec, budgets)
        status, fields = _apply_expectation(check, spec, status, fields)
    return _result(check, status, fields, started)


def probe(spec, budgets=()):
    """Build the target and call it once in inference on its example inputs: ``(unusable,
    undefined)``. ``unusable`` says why it cannot be built and called (None if it can);
    ``undefined`` is ``(what the call returned instead of finite tensors, the id of the
    check that reports it)``, or None."""
    found = {}

    def build_and_call():
        instance = found["instance"] = spec.new()
        found["outputs"] = spec.call(instance, spec.draw(seed=0), training=False)

    timeout, capped_by = _check_timeout(spec, budgets)
    try:
        with isolated():
            run_with_timeout(lambda: _seeded(spec, "probe", build_and_call), timeout)
    except RunInterrupted:
        raise
    except TimedOut as exc:
        within = f" within {capped_by}" if capped_by is not None else f": it {exc}"
        return f"{spec.label}({spec.kwargs}) could not be built and called{within}", None
    except BaseException as exc:  # noqa: BLE001 - any failure here makes every check moot
        what = describe_escape(exc) if is_escape(exc) else describe_exception(exc)
        if is_escape(exc):
            what = f"the target {what}"
        from conformance.checks.outputs import integer_ids_hint

        hint = None if is_escape(exc) else integer_ids_hint(spec, found.get("instance"))
        return (f"{spec.label}({spec.kwargs}) could not be built and called on inputs "
                f"{spec.example_shape_text()}: {what}" + (f" ({hint})" if hint else "")), None
    outputs = found["outputs"]
    problem = undefined_outputs(outputs)
    if problem:
        return None, (f"the example call returned {problem}, not tensors", "check_call_returns_tensors")
    bad = None if spec.has_trait("non_finite_outputs") else non_finite(as_arrays(outputs))
    if bad:
        return None, (f"the example call's outputs are not finite ({bad})", "check_outputs_finite")
    return None, None


def validate_expected_failures(spec):
    known = {check.id for check in all_checks("full")}
    unknown = sorted(set(spec.expected_failures) - known)
    if unknown:
        raise ValueError(f"expected failures name unknown checks: {', '.join(unknown)}")


def _plain(value):
    """``value`` if strict JSON can hold it (no NaN or infinity), else its repr."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return repr(value)
    return value


def _called_with(spec):
    """The target's kwargs, inputs and call keywords, for the report."""
    return {
        "kwargs": {key: _plain(value) for key, value in spec.kwargs.items()},
        "inputs": spec.inputs.texts(),
        "call_kwargs": {key: _plain(value) for key, value in spec.call_kwargs.items()},
    }


def _start_in_background(spec, checks):
    """Let the checks that can begin their slow part now (the distribution family's replica
    process) do so, to run beside the checks before them."""
    started = set()
    for check in checks:
        if check.start is not None and check.start not in started and _not_applicable_reason(check, spec) is None:
            started.add(check.start)
            check.start(spec)


def _not_run(check, status, reason):
    return CheckResult(check=check.id, family=check.family, status=status, message=reason,
                       contract=check.contract, reason=reason)


def run_spec(spec, checks=None, on_result=None, target_timeout=None, run_budget=None):
    """Run ``checks`` (default: the whole catalogue) on one spec; a :class:`TargetReport`.

    ``on_result(result)`` is called after each check, for progress displays.
    ``target_timeout`` (seconds) is the budget of this target's checks: when it runs out,
    each remaining check is an ``error`` row saying so. ``run_budget`` (a :class:`Budget`)
    is the whole run's: when it runs out, the remaining checks are ``skipped`` as not run and
    the report's ``stopped`` says why. A real SIGINT raises
    :class:`~conformance.outcomes.RunInterrupted` with this target's partial report attached.
    """
    validate_expected_failures(spec)
    checks = all_checks("full") if checks is None else [
        get_check(c) if isinstance(c, str) else c for c in checks
    ]
    report = TargetReport(target=spec.label, strict=spec.strict, called_with=_called_with(spec))
    try:
        with signals_stop_the_run():
            _run_checks(spec, checks, report, on_result, target_timeout, run_budget)
    except RunInterrupted as interrupted:
        report.stopped = f"{interrupted} after {len(report.results)} of {len(checks)} checks"
        interrupted.partial = report
        raise
    return report


def _run_checks(spec, checks, report, on_result, target_timeout, run_budget):
    if spec.tier == "full" and any(check.tier == "full" for check in checks):
        check_host.prestart()  # its TensorFlow import overlaps the fast checks
    target_budget = Budget(target_timeout, "the target") if target_timeout is not None else None
    budgets = (target_budget, run_budget)
    started = time.perf_counter()

    def add(result):
        report.results.append(result)
        if on_result is not None:
            on_result(result)

    if run_budget is not None and run_budget.ran_out():
        report.stopped = f"not run: {run_budget} ran out"
        return
    unusable, undefined = probe(spec, budgets)
    if unusable is not None and run_budget is not None and run_budget.ran_out():
        # The run's budget capped the example call and ended it: the run stopped here, as it
        # does between checks; a call that outlasts what was left does not make the target
        # unusable (a slower machine, or Keras 2's slower start, is no fault of the target).
        reason = f"not run: {run_budget} ran out"
        report.stopped = f"{run_budget} ran out during the example call, before any check"
        for check in checks:
            add(_not_run(check, "skipped", reason))
        return
    if unusable is not None:
        # Every check would stop at the same place: say it once, in one row.
        report.error = unusable
        add(CheckResult(check=UNUSABLE_CHECK, family="construction", status="error",
                        message=unusable, seconds=round(time.perf_counter() - started, 3),
                        reason=unusable))
        return
    if undefined is None:
        _start_in_background(spec, checks)
    hung = None  # the check that timed out and is still running, if any
    for index, check in enumerate(checks):
        if run_budget is not None and run_budget.ran_out():
            reason = f"not run: {run_budget} ran out"
            report.stopped = f"{run_budget} ran out after {index} of {len(checks)} checks"
            for rest in checks[index:]:
                add(_not_run(rest, "skipped", reason))
            return
        applies = _not_applicable_reason(check, spec) is None
        if applies and target_budget is not None and target_budget.ran_out():
            add(_not_run(check, "error", f"not run: {target_budget} ran out"))
            continue
        if applies and hung is not None:
            add(_not_run(check, "error", f"not run: {hung} timed out and may still be running (Python "
                                         "cannot stop a thread; run it alone or with --check to see the rest)"))
            continue
        abandoned = abandoned_count()
        add(run_check(check, spec, undefined=undefined, budgets=budgets))
        if still_running_since(abandoned):  # its verdicts would depend on that thread
            hung = check.id


def check_layer(
    cls,
    input_shapes=(),
    kwargs=None,
    *,
    inputs=(),
    call_kwargs=None,
    reference=None,
    reference_kwargs=None,
    weight_map=None,
    tier="fast",
    expected_failures=None,
    strict=False,
    traits=(),
    checks=None,
    timeout=180.0,
    import_path=None,
    label=None,
    target_timeout=None,
    run_timeout=None,
    kwargs_factory=None,
    loss_outputs=None,
    unbatched_outputs=(),
    float32_outputs=(),
    golden=None,
    update_golden=False,
):
    """Check one layer or model class against every contract; returns a :class:`Report`.

    What the target is called with: ``inputs``, input descriptions such as
    ``["query=2,5,8", "value=2,5,8"]`` or ``["3,6:int32@0..20"]`` (see
    :mod:`conformance.inputs`), and ``call_kwargs``, constants of every call; or
    ``input_shapes``, the shorthand for positional float inputs, e.g. ``[(3, 7)]``.
    ``reference`` names what to compare against: an entry of ``reference_models``, a Layer
    class or a function (``module:Name``; see :mod:`conformance.reference_target`), with
    ``reference_kwargs`` and ``weight_map``.
    ``timeout`` is the seconds each check may take; ``target_timeout`` and ``run_timeout``
    budget all the checks (the same here, as there is one target). ``kwargs_factory``,
    ``loss_outputs``, ``unbatched_outputs`` and ``float32_outputs`` are
    :class:`~conformance.spec.CheckSpec`'s. ``golden`` is a folder of golden files
    (check_matches_golden records there on the first run, then compares); ``update_golden``
    records them again.
    """
    for name, value in (("timeout", timeout), ("target_timeout", target_timeout),
                        ("run_timeout", run_timeout)):
        if value is not None:
            positive_seconds(value, name)
    spec = CheckSpec(
        cls=cls,
        input_shapes=input_shapes,
        inputs=inputs,
        call_kwargs=call_kwargs,
        kwargs=kwargs or {},
        traits=frozenset(traits),
        expected_failures=expected_failures or {},
        strict=strict,
        reference=reference,
        reference_kwargs=reference_kwargs,
        weight_map=weight_map,
        tier=tier,
        timeout=timeout,
        label=label,
        import_path=import_path,
        kwargs_factory=kwargs_factory,
        loss_outputs=loss_outputs,
        unbatched_outputs=unbatched_outputs,
        float32_outputs=float32_outputs,
        golden=golden,
        update_golden=update_golden,
    )
    if reference is not None:
        spec.reference_entry()  # unknown names fail here, before any check runs
    run_budget = Budget(run_timeout, "the run") if run_timeout is not None else None
    target = run_spec(spec, checks=checks, target_timeout=target_timeout, run_budget=run_budget)
    return Report(targets=[target], stopped=target.stopped)
