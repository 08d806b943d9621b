"""A sample interview-like video made here, so the main command runs offline without MA-52 clips.

The public-domain astronaut portrait bundled in scikit-image's wheel, animated: still, a nod-like
tilt, still, a sideways sway, still. A real person on screen, real decoding, real pose estimation.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from .video_write import write_video

# (start_s, end_s, motion) for the sample's script
SCRIPT = [(0.0, 2.0, "still"), (2.0, 4.0, "nod"), (4.0, 6.0, "still"), (6.0, 8.0, "sway"), (8.0, 10.0, "still")]


def _portrait(size: int) -> np.ndarray:
    from skimage import data

    img = data.astronaut()  # 512 x 512 RGB
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA if size < 512 else cv2.INTER_CUBIC)


def sample_frames(seconds: float = 10.0, fps: float = 30.0, size: int = 512):
    base = _portrait(size)
    centre = (size * 0.45, size * 0.45)  # roughly the neck: the tilt pivots there
    period = SCRIPT[-1][1]
    for i in range(int(round(seconds * fps))):
        t = (i / fps) % period  # longer samples repeat the script
        kind = next((k for a, b, k in SCRIPT if a <= t < b), "still")
        angle, dx = 0.0, 0.0
        if kind == "nod":
            angle = 7.0 * math.sin(2 * math.pi * 1.5 * (t - 2.0))
        elif kind == "sway":
            dx = 25.0 * math.sin(2 * math.pi * 1.0 * (t - 6.0))
        m = cv2.getRotationMatrix2D(centre, angle, 1.0)
        m[0, 2] += dx
        yield cv2.warpAffine(base, m, (size, size), borderMode=cv2.BORDER_REPLICATE)


def make_sample_video(path: str | Path, seconds: float = 10.0, fps: float = 30.0, size: int = 512) -> Path:
    path = Path(path)
    if not path.exists():
        write_video(path, sample_frames(seconds, fps, size), fps, (size, size))
    return path


def frozen_video(video: str | Path, out: str | Path, seconds: float = 4.0, fps: float = 30.0) -> Path:
    """``video``'s first frame repeated for ``seconds`` at ``fps``: a person who does not move at all
    (what keypoint jitter looks like; ``benchmarks/bench_pose_quality.py``)."""
    import subprocess
    import tempfile

    from .ffmpeg_tools import ffmpeg_exe

    ff, out = ffmpeg_exe(), Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        still = Path(tmp) / "frame.png"
        subprocess.run([ff, "-nostdin", "-loglevel", "error", "-y", "-i", str(video), "-frames:v", "1", str(still)],
                       check=True)
        subprocess.run([ff, "-nostdin", "-loglevel", "error", "-y", "-loop", "1", "-framerate", str(fps), "-t",
                        str(seconds), "-i", str(still), "-pix_fmt", "yuv420p", "-c:v", "libx264", str(out)],
                       check=True)
    return out
