"""Reading a pytest-benchmark JSON file into the records the report works on."""

import json
from dataclasses import dataclass, field


class ResultsError(Exception):
    """The results file is missing, unreadable, or not pytest-benchmark output."""


@dataclass(frozen=True)
class Result:
    name: str
    group: str
    median: float  # seconds per call
    rounds: int
    info: dict = field(default_factory=dict)

    def get(self, key, default=None):
        return self.info.get(key, default)


@dataclass(frozen=True)
class Results:
    results: list
    machine: str
    when: str
    commit: str


def load(path):
    try:
        with open(path) as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise ResultsError(f"no results file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path} is not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise ResultsError(f"{path} is not pytest-benchmark JSON (no 'benchmarks' list)")
    results = []
    for entry in data["benchmarks"]:
        try:
            stats = entry["stats"]
            results.append(
                Result(
                    name=entry["name"],
                    group=entry.get("group") or "(no group)",
                    median=float(stats["median"]),
                    rounds=int(stats["rounds"]),
                    info=dict(entry.get("extra_info") or {}),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultsError(f"{path}: malformed benchmark entry ({exc!r})") from None
    if not results:
        raise ResultsError(f"{path} holds no benchmarks")
    return Results(
        results=results,
        machine=describe_machine(data.get("machine_info") or {}),
        when=str(data.get("datetime", "unknown date")),
        commit=str((data.get("commit_info") or {}).get("id", "unknown commit"))[:12],
    )


def describe_machine(info):
    ours = info.get("keras_conformance") or {}
    cpu = ours.get("cpu_model") or (info.get("cpu") or {}).get("brand_raw") or "unknown CPU"
    parts = [f"{cpu}, {ours.get('cpu_count', '?')} logical CPUs"]
    if ours.get("gpus"):
        parts.append("GPU " + ", ".join(ours["gpus"]))
    parts.append(f"Python {info.get('python_version', '?')}")
    if ours.get("versions"):
        parts.append(ours["versions"])
    return "; ".join(parts)
