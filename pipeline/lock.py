"""The per-video lock: two runs on one output folder never write the same video's files."""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from .ffmpeg_tools import VideoError


class BusyError(VideoError):
    """Another run holds this video's lock: it is skipped here, not failed."""


@contextlib.contextmanager
def video_lock(path: Path):
    """An exclusive lock per video so two runs on one output folder never write the same files.

    ``flock`` on a lock file that is removed when released (no ``.lock`` files are left behind): the
    file is unlinked while still locked, and a process that locked a file no longer at ``path`` (it
    opened it before the holder removed it) tries again with the new one, so only one process ever
    holds the lock of ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        f = open(path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise BusyError("being processed by another run on this output folder "
                            "(rerun with --resume once it is done)") from None
        try:
            if os.stat(path).st_ino == os.fstat(f.fileno()).st_ino:
                break  # the file at ``path`` is the one locked
        except FileNotFoundError:
            pass  # removed by the holder that just released it
        f.close()
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while locked: a waiting process sees it gone and starts afresh
        f.close()
