"""Results of running the checks: one record per check, grouped per target."""

import platform
from dataclasses import asdict, dataclass, field
from typing import Optional

import conformance
import keras_compat as compat
from conformance.exit_codes import EXIT_CONTRACT_FAILED, EXIT_OK, EXIT_TARGET_UNUSABLE

STATUSES = ("passed", "failed", "error", "skipped", "xfail", "xpass")


@dataclass
class CheckResult:
    check: str
    family: str
    status: str
    message: str = ""
    seconds: float = 0.0

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")


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

    @property
    def passed(self):
        return self.error is None and not self.contract_failed

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
            **self.called_with,
            "results": [asdict(r) for r in self.results],
        }


def environment():
    return {
        "python": platform.python_version(),
        "tensorflow": compat.TF_VERSION,
        "keras": compat.KERAS_VERSION,
    }


@dataclass
class Report:
    targets: list = field(default_factory=list)

    @property
    def passed(self):
        return all(t.passed for t in self.targets)

    @property
    def exit_code(self):
        """1 if any contract failed, else 4 if any target could not be checked, else 0."""
        if any(t.contract_failed for t in self.targets):
            return EXIT_CONTRACT_FAILED
        if any(t.error is not None for t in self.targets):
            return EXIT_TARGET_UNUSABLE
        return EXIT_OK

    def results(self):
        return [r for t in self.targets for r in t.results]

    def to_dict(self):
        return {
            "tool": {"name": "keras-conformance", "version": conformance.__version__},
            "environment": environment(),
            "targets": [t.to_dict() for t in self.targets],
        }
