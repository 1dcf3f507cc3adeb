"""The exit codes of ``keras-conformance``, in one place the report and the command share.

When several targets are checked, the first that applies wins: a broken contract (1)
outranks a target that could not be checked (4), which outranks a clean run (0).
"""

EXIT_OK = 0
EXIT_CONTRACT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_TARGET_UNUSABLE = 4
EXIT_INTERRUPTED = 130
