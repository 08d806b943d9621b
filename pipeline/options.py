"""A run's options, and the settings key that ``--resume`` compares: what a video's outputs depend on
besides the video itself."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from pose.mediapipe_backend import MAX_PERSONS, MAX_SIDE
from pose.stabilize import stabilizer_for

from . import motion
from .method import method_version
from .posework import DEFAULT_POSE_FPS
from .segments import DEFAULT_STRIDE_S, DEFAULT_WINDOW_S


@dataclass
class Options:
    out: Path
    mode: str = "auto"
    window_s: float = DEFAULT_WINDOW_S
    stride_s: float = DEFAULT_STRIDE_S
    still_threshold: float = motion.STILL_THRESHOLD
    person: str = "subject"
    pose: str = "mediapipe"
    alphapose_json: Path | None = None
    alphapose_config: Path | None = None
    alphapose_checkpoint: Path | None = None
    max_side: int | None = MAX_SIDE
    max_persons: int = MAX_PERSONS  # people tracked at once by the MediaPipe backend
    raw_keypoints: bool = False  # analyse the pose model's own keypoints, not stabilised ones
    checkpoint: Path | None = None
    bone_checkpoint: Path | None = None
    device: str = "auto"
    precision: str = "fp32"  # MMN arithmetic: fp32 unless reduced precision is asked for
    overlay: bool = False
    report: bool = True  # NAME.report.html per video, index.html and summary.csv per batch (pipeline.report)
    submission: bool = False
    resume: bool = False
    workers: int | None = None  # pose worker processes (None: the cores this process may use)
    pose_fps: float | None = DEFAULT_POSE_FPS  # pose on this many frames a second (None: every frame)

    PATH_FIELDS = ("out", "checkpoint", "bone_checkpoint", "alphapose_json", "alphapose_config",
                   "alphapose_checkpoint")

    def settings_key(self, checkpoints: list[dict]) -> str:
        """What the outputs depend on besides the video: a changed key means recompute. Checkpoints
        count by content (SHA-256), not by path, so moving files or another engine changes nothing."""
        relevant = {k: str(v) for k, v in asdict(self).items()
                    if k not in self.PATH_FIELDS + ("resume", "overlay", "report", "submission", "device",
                                                                     "workers")}
        relevant["checkpoints"] = sorted(c["sha256"] for c in checkpoints)
        relevant["method"] = method_constants(self)
        return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


def method_constants(opts: Options) -> dict:
    """What the results depend on besides the options: the tool's version, its method (``pipeline.method``:
    the code that computes results and every constant of it), and the stabiliser these options choose, so
    that an upgrade or an edited constant never passes old results off as current (``--resume``)."""
    import pipeline

    return {"version": pipeline.__version__, "method": method_version(),
            "stabilizer": stabilizer_for(opts.pose, 30.0, opts.raw_keypoints).settings.to_dict()}
