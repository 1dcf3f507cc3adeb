"""The exit codes of ``keras-conformance``, in one place the report and the command share.

When several targets are checked, the first that applies wins: a broken contract (1)
outranks a target that could not be checked (4), which outranks a run whose budget ran out
before every target was checked (5), which outranks a clean run (0). A run stopped by a
signal exits 130 (SIGINT, Ctrl-C) or 143 (SIGTERM), whatever it had found, after writing
the report of what finished.
"""

EXIT_OK = 0
EXIT_CONTRACT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_TARGET_UNUSABLE = 4
EXIT_RUN_BUDGET = 5
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


def exit_code_for_signal(signum):
    """The shell's convention for a process ended by signal ``signum``: 128 + its number."""
    return 128 + int(signum)
