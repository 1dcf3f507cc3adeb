"""Reading a backend child's traceback: the line of the user's code that failed, and whether
TensorFlow was called there (the commonest reason a layer runs on TensorFlow only)."""

import re

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>.+)$')
#: Frames of these packages are the frameworks', not the user's.
_FRAMEWORK_PARTS = ("/keras/", "/jax/", "/jaxlib/", "/torch/", "/tensorflow/", "/numpy/", "/h5py/",
                    "/conformance/", "/keras_compat/", "/optree/", "/ml_dtypes/", "<frozen ", "/absl/")
_TENSORFLOW_CALL = re.compile(r"\btf\.\w+|\btensorflow\.\w+")


def frames(traceback_text):
    """``[(file, line, function, source line)]`` of a formatted traceback, innermost last
    (a chained traceback's frames in order of appearance)."""
    found = []
    lines = traceback_text.splitlines()
    for index, text in enumerate(lines):
        match = _FRAME.match(text)
        if match:
            source = lines[index + 1].strip() if index + 1 < len(lines) and not _FRAME.match(lines[index + 1]) \
                else ""
            found.append((match["file"], int(match["line"]), match["function"].strip(), source))
    return found


def _is_user_frame(frame):
    path = frame[0].replace("\\", "/")
    return not any(part in path for part in _FRAMEWORK_PARTS)


def failing_user_frame(traceback_text):
    """The innermost frame of the user's own code in the traceback, or None."""
    user = [frame for frame in frames(traceback_text) if _is_user_frame(frame)]
    return user[-1] if user else None


def calls_tensorflow(traceback_text):
    """Whether the failure went through TensorFlow: a ``tf.``/``tensorflow.`` call on the
    failing user line, or a TensorFlow frame after it."""
    all_frames = frames(traceback_text)
    user = failing_user_frame(traceback_text)
    if user is not None and _TENSORFLOW_CALL.search(user[3]):
        return True
    after = all_frames[all_frames.index(user) + 1:] if user in all_frames else all_frames
    return any("/tensorflow/" in frame[0].replace("\\", "/") for frame in after)


def where_it_failed(traceback_text):
    """``"in call (layers.py, line 12: return tf.nn.relu(x))"``, or "" when no frame of the
    user's code is in the traceback."""
    frame = failing_user_frame(traceback_text)
    if frame is None:
        return ""
    file_name = frame[0].replace("\\", "/").rsplit("/", 1)[-1]
    source = f": {frame[3]}" if frame[3] else ""
    return f"in {frame[2]} ({file_name}, line {frame[1]}{source})"
