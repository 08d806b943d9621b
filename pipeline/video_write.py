"""Writing a video: RGB frames -> an H.264 MP4 (ffmpeg in a subprocess)."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterator

import ffmpeg
import numpy as np

from common.fileio import atomic_path

from .ffmpeg_tools import VideoError, as_arg, ffmpeg_exe, last_line


def write_video(path: str | Path, frames: Iterator[np.ndarray], fps: float, size: tuple[int, int],
                crf: int = 20) -> None:
    """Encode RGB frames [H, W, 3] (size = (w, h)) to an H.264 MP4 at ``fps`` (used for overlays
    and generated test/sample videos). Writes atomically."""
    ffmpeg_bin = ffmpeg_exe()
    w, h = size
    with atomic_path(path) as tmp:
        cmd = (ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{w}x{h}", r=fps)
               .output(as_arg(tmp), vcodec="libx264", pix_fmt="yuv420p", crf=crf, preset="veryfast",
                       vf="pad=ceil(iw/2)*2:ceil(ih/2)*2",
                       format="mp4", movflags="+faststart")
               .global_args("-nostdin", "-loglevel", "error", "-y")
               .compile(cmd=ffmpeg_bin))
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for frame in frames:
                proc.stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode("utf-8", "replace")
        if proc.wait() != 0:
            raise VideoError(f"{path}: video encoding failed ({last_line(err)})")
