"""How a check reports that a contract was broken, or that it does not apply."""

import re


class ContractViolation(AssertionError):
    """The target broke the contract: ``expected`` is what the contract demands, ``seen``
    what the target actually did. Both are short human-readable phrases."""

    def __init__(self, expected, seen, hint=None):
        self.expected = expected
        self.seen = seen
        self.hint = hint
        super().__init__(f"expected {expected}; saw {seen}")


class NotApplicable(Exception):
    """The contract does not apply to this target (reported as skipped, with the reason)."""


class TargetUnusable(Exception):
    """The target could not even be constructed or called, so no contract was checked."""


def expect(condition, expected, seen, hint=None):
    """Raise :class:`ContractViolation` unless ``condition`` holds."""
    if not condition:
        raise ContractViolation(expected, seen() if callable(seen) else seen, hint)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def describe_exception(exc):
    """``TypeError: message`` on one line, shortened, without terminal colour codes."""
    text = " ".join(_ANSI.sub("", str(exc)).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
