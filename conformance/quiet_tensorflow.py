"""Keeping TensorFlow's own chatter out of the command's stderr.

TensorFlow's C++ side writes straight to file descriptor 2: the oneDNN and
``cpu_feature_guard`` notices, absl's "All log messages before absl::InitializeLog()"
warning, XLA's "Compiled cluster" line, CUDA factory registrations. ``TF_CPP_MIN_LOG_LEVEL``
silences only some of them (TensorFlow 2.15's XLA logs through absl and ignores it), so
the command also passes descriptor 2 through a filter that drops lines in TensorFlow's
log formats and forwards everything else. None of this happens when the user set
``TF_CPP_MIN_LOG_LEVEL`` or asked for ``--verbose``.
"""

import contextlib
import logging
import os
import re
import sys
import threading

LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"

_TENSORFLOW_LOG_LINE = re.compile(
    rb"^(?:"
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    # absl: I0000 00:00:1796310599.696879    9184 device_compiler.h:186] ...
    rb"|[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
    # TensorFlow's own: 2026-12-03 15:09:59.697257: E external/.../file.h:177] ...
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S+:\d+\]"
    # the second line of the cpu_feature_guard notice
    rb"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\."
    rb")"
)


def is_tensorflow_log_line(line):
    """Whether ``line`` (bytes or str) is an info, warning or error line of TensorFlow's
    C++ logging. Fatal lines are kept: they say why the process is about to abort."""
    if isinstance(line, str):
        line = line.encode("utf-8", "replace")
    return _TENSORFLOW_LOG_LINE.match(line.lstrip(b"\r")) is not None


@contextlib.contextmanager
def tensorflow_chatter_hidden(verbose=False):
    """Hide TensorFlow's C++ log lines for the duration, unless ``verbose`` or the user
    chose a ``TF_CPP_MIN_LOG_LEVEL``. Enter it before TensorFlow is imported."""
    if verbose or LOG_LEVEL_VARIABLE in os.environ:
        yield
        return
    os.environ[LOG_LEVEL_VARIABLE] = "3"  # before the import, for the lines it does cover
    with native_log_lines_filtered():
        yield


@contextlib.contextmanager
def native_log_lines_filtered():
    """Route file descriptor 2 through a thread that drops TensorFlow log lines.

    Python's own ``sys.stderr`` keeps writing straight to the terminal, so a live
    progress line is not held back until its newline.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        read_end, write_end = os.pipe()
    except (OSError, ValueError, AttributeError):
        yield  # no descriptor 2 to filter (an embedded interpreter, a closed stderr)
        return
    os.dup2(write_end, 2)
    os.close(write_end)
    forwarder = threading.Thread(target=_forward_lines, args=(read_end, saved),
                                 name="keras-conformance-stderr-filter", daemon=True)
    forwarder.start()
    python_stderr = sys.stderr
    direct = _direct_stream(python_stderr, saved)
    if direct is not None:
        sys.stderr = direct
    try:
        yield
    finally:
        if direct is not None:
            direct.flush()
            sys.stderr = python_stderr
            direct.close()
        os.dup2(saved, 2)  # drops the pipe's last write end, so the forwarder sees its end
        forwarder.join(timeout=5)
        if not forwarder.is_alive():  # else a child still holds the pipe: leave it be
            os.close(saved)


def _direct_stream(stream, fd):
    """A text stream on ``fd`` to stand in for ``stream`` if that one writes to
    descriptor 2 (not when a test harness captured it)."""
    try:
        if stream.fileno() != 2:
            return None
    except (AttributeError, ValueError, OSError):
        return None
    return open(os.dup(fd), "w", encoding=getattr(stream, "encoding", None) or "utf-8",
                errors="backslashreplace", buffering=1)


def _forward_lines(read_end, out_fd):
    pending = b""
    with open(read_end, "rb", buffering=0) as pipe:
        while True:
            chunk = pipe.read(65536)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if not is_tensorflow_log_line(line):
                    _write_all(out_fd, line + b"\n")
    if pending and not is_tensorflow_log_line(pending):
        _write_all(out_fd, pending)


def _write_all(fd, data):
    while data:
        try:
            written = os.write(fd, data)
        except OSError:
            return
        data = data[written:]


@contextlib.contextmanager
def tensorflow_logger_quiet():
    """TensorFlow logs retracing advice while checks probe the target; hide it meanwhile."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
