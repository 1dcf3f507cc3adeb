"""Results of running the checks: one record per check, grouped per target."""

import platform
from dataclasses import asdict, dataclass, field
from typing import Optional

import conformance
import keras_compat as compat
from conformance.exit_codes import (
    EXIT_CONTRACT_FAILED,
    EXIT_OK,
    EXIT_RUN_BUDGET,
    EXIT_TARGET_UNUSABLE,
    exit_code_for_signal,
)

STATUSES = ("passed", "failed", "error", "skipped", "xfail", "xpass")


@dataclass
class CheckResult:
    """One check on one target. Renderers compose their text from the fields: ``contract``
    (the sentence the check holds the target to), ``expected`` and ``seen`` (for a failure,
    an error of the code under test and an expected failure), ``hint`` (how to fix it) and
    ``reason`` (why it was skipped, expected to fail, or could not run), and ``note`` (what a
    passing check wants said: the outputs agreed only up to order, or within the rounding
    noise of the computation). ``message`` is the same in one line, kept for readers of the
    JSON report written before the fields."""

    check: str
    family: str
    status: str
    message: str = ""
    seconds: float = 0.0
    contract: str = ""
    expected: Optional[str] = None
    seen: Optional[str] = None
    hint: Optional[str] = None
    reason: Optional[str] = None
    note: Optional[str] = None

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")


def failure_sentence(contract, expected, seen, hint):
    """``CONTRACT Expected EXPECTED; saw SEEN (HINT).``, the one-line form of a failure."""
    hint = f" ({hint})" if hint else ""
    lead = f"{contract} " if contract else ""
    return f"{lead}Expected {expected}; saw {seen}{hint}."


def result_text(result, contract=True):
    """What a result says, composed from its fields (never from ``message``, but for a
    result that has nothing else: one built by a caller that gives a message alone).
    ``contract=False`` leaves the contract sentence out."""
    has_failure = result.expected is not None or result.seen is not None
    sentence = failure_sentence(result.contract if contract else "", result.expected, result.seen,
                                result.hint) if has_failure else None
    if result.status == "passed":
        return f"note: {result.note}" if result.note else ""
    if result.status == "xpass":
        return f"expected to fail ({result.reason}) but passed"
    if result.status == "xfail" and sentence is not None:
        return f"expected to fail ({result.reason}): {sentence}"
    if sentence is not None:
        return sentence
    if result.reason is not None:
        return result.reason
    return result.message


#: The check id of the single result a target gets when it cannot be built and called.
UNUSABLE_CHECK = "build_and_call"


@dataclass
class TargetReport:
    target: str
    results: list = field(default_factory=list)
    strict: bool = False
    #: Why the target could not be built and called once; no contract was checked then.
    error: Optional[str] = None
    #: What the target was called with: input descriptions, constant call keywords, and
    #: the constructor kwargs (as text where they are not plain JSON values).
    called_with: dict = field(default_factory=dict)
    #: Why its checks stopped before the end (a signal, the run's budget), or None.
    stopped: Optional[str] = None

    @property
    def passed(self):
        return self.error is None and self.stopped is None and not self.contract_failed

    @property
    def contract_failed(self):
        bad = {"failed", "error"} | ({"xpass"} if self.strict else set())
        return self.error is None and any(r.status in bad for r in self.results)

    @property
    def seconds(self):
        return sum(r.seconds for r in self.results)

    def counts(self):
        counts = {status: 0 for status in STATUSES}
        for result in self.results:
            counts[result.status] += 1
        return counts

    def to_dict(self):
        return {
            "target": self.target,
            "passed": self.passed,
            "error": self.error,
            "stopped": self.stopped,
            **self.called_with,
            "results": [asdict(r) for r in self.results],
        }


def environment():
    return {
        "python": platform.python_version(),
        "tensorflow": compat.TF_VERSION,
        "keras": compat.KERAS_VERSION,
        "versions": compat.version_label(),
    }


@dataclass
class Report:
    targets: list = field(default_factory=list)
    #: Why the run stopped before every check was done: ``"interrupted by SIGINT"``, the
    #: run's budget, ...; None for a complete run.
    stopped: Optional[str] = None
    #: The signal that stopped the run, if one did (its exit code is 128 + its number).
    signal: Optional[int] = None

    @property
    def passed(self):
        return all(t.passed for t in self.targets)

    @property
    def exit_code(self):
        """128 + the signal's number if a signal stopped the run; else 1 if any contract
        failed, else 4 if any target could not be checked, else 5 if the run stopped before
        every check was done (its budget ran out), else 0."""
        if self.signal is not None:
            return exit_code_for_signal(self.signal)
        if any(t.contract_failed for t in self.targets):
            return EXIT_CONTRACT_FAILED
        if any(t.error is not None for t in self.targets):
            return EXIT_TARGET_UNUSABLE
        if self.stopped is not None or any(t.stopped is not None for t in self.targets):
            return EXIT_RUN_BUDGET
        return EXIT_OK

    def results(self):
        return [r for t in self.targets for r in t.results]

    def to_dict(self):
        return {
            "tool": {"name": "keras-conformance", "version": conformance.__version__},
            "environment": environment(),
            "complete": self.stopped is None,
            "stopped": self.stopped,
            "targets": [t.to_dict() for t in self.targets],
        }
