"""Running checks on targets and turning what happened into results."""

import json
import time

import keras_compat as compat
from conformance import worker
from conformance.catalogue import all_checks, get_check
from conformance.isolation import TimedOut, isolated, run_with_timeout
from conformance.outcomes import ContractViolation, NotApplicable, describe_exception
from conformance.report import UNUSABLE_CHECK, CheckResult, Report, TargetReport
from conformance.spec import CheckSpec
from conformance.tensors import as_arrays, non_finite, undefined_outputs


def _not_applicable_reason(check, spec):
    if not check.in_tier(spec.tier):
        return "runs in the full tier only (--tier full)"
    if spec.kind not in check.kinds:
        return f"applies to {' and '.join(k + 's' for k in check.kinds)} only"
    if check.needs_reference and spec.reference is None:
        return "needs a reference to compare against (--reference NAME)"
    return None


def failure_message(check, violation):
    hint = f" ({violation.hint})" if violation.hint else ""
    return (
        f"{check.id}: {check.contract} Expected {violation.expected}; "
        f"saw {violation.seen}{hint}. [{compat.version_label()}]"
    )


def _outcome(check, spec):
    """(status, message) of one check on a usable spec, before expected failures apply."""
    try:
        with isolated():
            run_with_timeout(lambda: check(spec), spec.timeout)
    except NotApplicable as exc:
        return "skipped", str(exc)
    except ContractViolation as violation:
        return "failed", failure_message(check, violation)
    except TimedOut as exc:
        return "failed", f"{check.id}: {check.contract} The check {exc}. [{compat.version_label()}]"
    except Exception as exc:  # noqa: BLE001 - user code raising is a failed contract
        return "failed", (
            f"{check.id}: {check.contract} Expected the contract to hold; saw the target raise "
            f"{describe_exception(exc)}. [{compat.version_label()}]"
        )
    return "passed", ""


def _apply_expectation(check, spec, status, message):
    reason = spec.expected_failures.get(check.id)
    if reason is None:
        return status, message
    if status == "failed":
        return "xfail", f"expected to fail ({reason}): {message}"
    if status == "passed":
        return "xpass", f"expected to fail ({reason}) but passed"
    return status, message


def run_check(check, spec, unusable=None, undefined=None):
    """Run one check (a :class:`~conformance.catalogue.Check` or its id) on ``spec``.

    ``undefined`` is ``(problem, check id)`` when the target's example outputs are not
    finite tensors (see :func:`probe`): that check reports it, and every
    other check is skipped with that reason.
    """
    if isinstance(check, str):
        check = get_check(check)
    started = time.perf_counter()
    reason = _not_applicable_reason(check, spec)
    if reason is not None:
        status, message = "skipped", reason
    elif unusable is not None:
        status, message = "error", unusable
    elif undefined is not None and check.id != undefined[1]:
        status, message = "skipped", f"not run: {undefined[0]} ({undefined[1]} reports it)"
    else:
        status, message = _outcome(check, spec)
        status, message = _apply_expectation(check, spec, status, message)
    return CheckResult(
        check=check.id,
        family=check.family,
        status=status,
        message=message,
        seconds=round(time.perf_counter() - started, 3),
    )


def probe(spec):
    """Build the target and call it once in inference on its example inputs: ``(unusable,
    undefined)``. ``unusable`` says why it cannot be built and called (None if it can);
    ``undefined`` is ``(what the call returned instead of finite tensors, the id of the
    check that reports it)``, or None."""
    found = {}

    def build_and_call():
        instance = spec.new()
        found["outputs"] = spec.call(instance, spec.draw(seed=0), training=False)

    try:
        with isolated():
            run_with_timeout(build_and_call, spec.timeout)
    except TimedOut as exc:
        return f"{spec.label}({spec.kwargs}) could not be built and called: it {exc}", None
    except Exception as exc:  # noqa: BLE001 - any failure here makes every check moot
        return (f"{spec.label}({spec.kwargs}) could not be built and called on inputs "
                f"{spec.example_shape_text()}: {describe_exception(exc)}"), None
    outputs = found["outputs"]
    problem = undefined_outputs(outputs)
    if problem:
        return None, (f"the example call returned {problem}, not tensors", "check_call_returns_tensors")
    bad = None if spec.has_trait("non_finite_outputs") else non_finite(as_arrays(outputs))
    if bad:
        return None, (f"the example call's outputs are not finite ({bad})", "check_outputs_finite")
    return None, None


def usability_problem(spec):
    """None if the target builds and runs once, else the reason it does not."""
    return probe(spec)[0]


def validate_expected_failures(spec):
    known = {check.id for check in all_checks("full")}
    unknown = sorted(set(spec.expected_failures) - known)
    if unknown:
        raise ValueError(f"expected failures name unknown checks: {', '.join(unknown)}")


def _plain(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
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
    """Let the checks that can begin their slow part now (the distribution family's worker
    process) do so, to run beside the checks before them."""
    started = set()
    for check in checks:
        if check.start is not None and check.start not in started and _not_applicable_reason(check, spec) is None:
            started.add(check.start)
            check.start(spec)


def run_spec(spec, checks=None, on_result=None):
    """Run ``checks`` (default: the whole catalogue) on one spec; a :class:`TargetReport`.

    ``on_result(result)`` is called after each check, for progress displays.
    """
    validate_expected_failures(spec)
    checks = all_checks("full") if checks is None else [
        get_check(c) if isinstance(c, str) else c for c in checks
    ]
    if spec.tier == "full" and any(check.tier == "full" for check in checks):
        worker.prestart()  # its TensorFlow import overlaps the fast checks
    report = TargetReport(target=spec.label, strict=spec.strict, called_with=_called_with(spec))
    started = time.perf_counter()
    unusable, undefined = probe(spec)
    if unusable is not None:
        # Every check would stop at the same place: say it once, in one row.
        report.error = unusable
        results = [CheckResult(check=UNUSABLE_CHECK, family="construction", status="error",
                               message=unusable, seconds=round(time.perf_counter() - started, 3))]
    else:
        if undefined is None:
            _start_in_background(spec, checks)
        results = (run_check(check, spec, undefined=undefined) for check in checks)
    for result in results:
        report.results.append(result)
        if on_result is not None:
            on_result(result)
    return report


def check_layer(
    cls,
    input_shapes=(),
    kwargs=None,
    *,
    inputs=(),
    call_kwargs=None,
    reference=None,
    reference_kwargs=None,
    tier="fast",
    expected_failures=None,
    strict=False,
    traits=(),
    checks=None,
    timeout=180.0,
    import_path=None,
    label=None,
):
    """Check one layer or model class against every contract; returns a :class:`Report`.

    What the target is called with: ``inputs``, input descriptions such as
    ``["query=2,5,8", "value=2,5,8"]`` or ``["3,6:int32@0..20"]`` (see
    :mod:`conformance.inputs`), and ``call_kwargs``, constants of every call; or
    ``input_shapes``, the shorthand for positional float inputs, e.g. ``[(3, 7)]``.
    ``reference`` names an entry of ``reference_models`` to compare against.
    """
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
        tier=tier,
        timeout=timeout,
        label=label,
        import_path=import_path,
    )
    if reference is not None:
        spec.reference_entry()  # unknown names fail here, before any check runs
    return Report(targets=[run_spec(spec, checks=checks)])
