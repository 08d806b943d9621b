"""Small generated inputs for tests (videos are made with the real encoder)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from pipeline.video import ffmpeg_tools, write_video


def blank_video(path: Path, seconds: float = 1.0, fps: float = 10, size=(96, 64), colour=(30, 90, 160)) -> Path:
    frames = (np.full((size[1], size[0], 3), colour, np.uint8) for _ in range(int(seconds * fps)))
    write_video(path, frames, fps, size)
    return path


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_tools()[0], "-nostdin", "-loglevel", "error", "-y", *args], check=True)
