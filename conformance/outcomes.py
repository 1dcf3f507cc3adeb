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

    def __reduce__(self):  # sent whole between processes (the distribution family's replicas)
        return type(self), (self.expected, self.seen, self.hint)


class NotApplicable(Exception):
    """The contract does not apply to this target (reported as skipped, with the reason)."""


class UnusableSetup(Exception):
    """What the user gave the check besides the target (a reference, a weight map) cannot be
    used: the check's error, with the reason, never the target's failure."""


def expect(condition, expected, seen, hint=None):
    """Raise :class:`ContractViolation` unless ``condition`` holds."""
    if not condition:
        raise ContractViolation(expected, seen() if callable(seen) else seen, hint)


class RunInterrupted(KeyboardInterrupt):
    """A real signal (SIGINT, SIGTERM) reached the checking process: the run stops and
    reports what finished. Raised in the main thread by the checker's own signal handler,
    so it is never confused with a ``KeyboardInterrupt`` that the code under test raised.
    ``partial`` is the :class:`~conformance.report.TargetReport` of the target being checked
    when it came (set by the runner), or None."""

    def __init__(self, signum):
        import signal

        self.signum = signum
        try:
            self.signal_name = signal.Signals(signum).name
        except ValueError:
            self.signal_name = f"signal {signum}"
        self.partial = None
        super().__init__(f"interrupted by {self.signal_name}")


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def exception_text(exc):
    """``str(exc)``, or a placeholder when the exception's own ``__str__`` raises."""
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - user code decides what __str__ does
        return "<unprintable message>"
    return text if isinstance(text, str) else "<unprintable message>"


def _type_name(exc):
    try:
        return type(exc).__name__
    except BaseException:  # noqa: BLE001
        return "an exception"


def describe_exception(exc):
    """``TypeError: message`` on one line, shortened, without terminal colour codes. Never
    raises, whatever the exception's ``__str__`` does. A message Keras framed over several
    lines ("Exception encountered when calling...", a fenced block, the arguments received)
    is quoted by the line that says what went wrong."""
    from conformance.errors import informative_line

    raw = _ANSI.sub("", exception_text(exc))
    name = _type_name(exc)
    if "\n" in raw.strip():
        line = informative_line(raw, name)
        if line:
            return line
    text = " ".join(raw.split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{name}: {text}" if text else name


def is_escape(exc):
    """Whether ``exc`` is one Python means to end a program (``SystemExit``,
    ``KeyboardInterrupt``, any other ``BaseException`` that is not an ``Exception``): raised
    by the code under test, it ends that check only."""
    return isinstance(exc, BaseException) and not isinstance(exc, Exception)


def describe_escape(exc):
    """What the code under test did, as a verb phrase after "the target": ``called
    sys.exit(0)``, ``raised KeyboardInterrupt``."""
    if isinstance(exc, SystemExit):
        try:
            code = repr(exc.code) if exc.code is not None else ""
        except BaseException:  # noqa: BLE001
            code = "..."
        return f"called sys.exit({code})"
    return f"raised {describe_exception(exc)}"
