"""Keeping native libraries' log lines off the terminal.

MediaPipe's C++ core (absl, TensorFlow Lite) writes lines such as ``INFO: Created TensorFlow Lite
XNNPACK delegate`` and ``W0000 ... inference_feedback_manager ...`` straight to file descriptor 2
when a graph is made and first run; Python cannot catch them, and they break into the progress
display. ``native_output_silenced()`` points descriptor 2 at /dev/null meanwhile (Python's own
``sys.stderr`` is flushed first and works again after)."""
from __future__ import annotations

import contextlib
import os
import sys
import threading

_LOCK = threading.Lock()


@contextlib.contextmanager
def native_output_silenced():
    with _LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no descriptor 2 (embedded, closed): nothing to hide
            yield
            return
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def keep_native_output_off_terminal() -> None:
    """For the command line: Python's ``sys.stderr`` (messages, progress, tracebacks) moves to a copy
    of descriptor 2, and descriptor 2 itself, which only native code still writes to (here and in the
    worker processes that inherit it), goes to /dev/null. ``MICROACTION_NATIVE_LOGS=1`` keeps it."""
    if os.environ.get("MICROACTION_NATIVE_LOGS") == "1":
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        return
    sys.stderr = open(saved, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                      errors="backslashreplace", closefd=True)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
