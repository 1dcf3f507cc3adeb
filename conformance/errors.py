"""What an exception says, on one line: the line that names the error, not Keras's framing.

Keras wraps a layer's error in framing: "Exception encountered when calling X.call().",
a fenced block (lines of only backticks), "Arguments received by X.call():" and a bullet
list of arguments; TensorFlow puts a traced call stack ("in user code:", "File ...") before
the error. The first or last line of such a message says nothing.
"""

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FRAMING = re.compile(
    r"^(`{3,}\w*|Exception encountered when calling\b.*|in user code:|File \".*|\[\[.*|"
    r"(Call a|A)rguments received by\b.*|•.*|-+)$")
_ERROR_LINE = re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception|Warning)): (.+)$")
_TAIL = re.compile(r"\n\s*(?:Call a|A)rguments received by", re.S)


def informative_line(text, type_name=None, limit=300):
    """The line of ``text`` (an exception's message) that says what went wrong: the first
    line after Keras's last "Exception encountered when calling" header, else the last
    ``SomeError: ...`` line quoted inside it, else the first line that is not framing (a
    message without framing stays whole, on one line). ``type_name`` is put in front
    unless the line names its own error type."""
    text = _ANSI.sub("", str(text))
    text = _TAIL.split(text)[0]
    every = [line.strip() for line in text.splitlines() if line.strip()]
    lines, after_header, skip_next = [], [], False
    for line in every:
        message = _ERROR_LINE.match(line)[2] if _ERROR_LINE.match(line) else line
        if skip_next:  # the source line TensorFlow quotes under "File ..."
            skip_next = False
            continue
        if _FRAMING.match(message):
            skip_next = message.startswith("File ")
            if message.startswith("Exception encountered"):
                after_header = []
            continue
        lines.append(line)
        after_header.append(line)
    if not lines:
        return type_name or ""
    quoted = [line for line in lines if _ERROR_LINE.match(line)]
    headed = len(after_header) < len(lines) or any(
        line.startswith("Exception encountered") or _ERROR_LINE.match(line) and
        "Exception encountered" in line for line in every)
    if headed and after_header:
        line = after_header[0]
    elif quoted:
        line = quoted[-1]
    elif len(lines) == len(every):  # no framing: the whole message, on one line
        line = " ".join(" ".join(lines).split())
    else:
        line = lines[0]
    if type_name and not _ERROR_LINE.match(line):
        line = f"{type_name}: {line}"
    return line if len(line) <= limit else line[:limit - 3] + "..."


def describe_error(exc, limit=300):
    """``ValueError: the informative line`` of ``exc`` (see :func:`informative_line`)."""
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - user code decides what __str__ does
        text = ""
    return informative_line(text, type(exc).__name__, limit)
