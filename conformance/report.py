"""Results of running the checks: one record per check, grouped per target."""

import platform
from dataclasses import asdict, dataclass, field

import conformance
import keras_compat as compat

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


@dataclass
class TargetReport:
    target: str
    results: list = field(default_factory=list)
    strict: bool = False

    @property
    def passed(self):
        bad = {"failed", "error"} | ({"xpass"} if self.strict else set())
        return not any(r.status in bad for r in self.results)

    def counts(self):
        counts = {status: 0 for status in STATUSES}
        for result in self.results:
            counts[result.status] += 1
        return counts

    def to_dict(self):
        return {
            "target": self.target,
            "passed": self.passed,
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
        return 0 if self.passed else 1

    def results(self):
        return [r for t in self.targets for r in t.results]

    def to_dict(self):
        return {
            "tool": {"name": "keras-conformance", "version": conformance.__version__},
            "environment": environment(),
            "targets": [t.to_dict() for t in self.targets],
        }
