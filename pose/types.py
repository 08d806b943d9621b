"""Data passed between the pose stage and the rest: per-frame detections and per-person tracks."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Where a joint's value came from (PersonTrack.sources / Detection.sources).
MISSING, DETECTED, DERIVED, FALLBACK = 0, 1, 2, 3


@dataclass
class Detection:
    """One person in one frame, in the 44-joint layout (pixels of the displayed frame)."""

    keypoints: np.ndarray  # [44, 2] float32, NaN where unknown
    scores: np.ndarray  # [44] float32 in [0, 1]
    sources: np.ndarray  # [44] uint8, see the constants above
    box: np.ndarray | None = None  # [x, y, w, h]
    track_id: int | None = None  # from the backend's own tracker (AlphaPose idx), when it has one

    def bbox(self) -> np.ndarray:
        if self.box is not None:
            return np.asarray(self.box, np.float32)
        ok = np.isfinite(self.keypoints).all(-1)
        if not ok.any():
            return np.zeros(4, np.float32)
        pts = self.keypoints[ok]
        lo, hi = pts.min(0), pts.max(0)
        return np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]], np.float32)


@dataclass
class PersonTrack:
    """One person over the whole video: arrays over all T frames, NaN/0 where not seen."""

    id: int
    keypoints: np.ndarray  # [T, 44, 2]
    scores: np.ndarray  # [T, 44]
    sources: np.ndarray  # [T, 44] uint8
    present: np.ndarray = field(default=None)  # [T] bool

    def __post_init__(self):
        if self.present is None:
            self.present = np.isfinite(self.keypoints).all(-1).any(-1)

    @property
    def num_frames_seen(self) -> int:
        return int(self.present.sum())

    def mean_area(self) -> float:
        areas = []
        for t in np.flatnonzero(self.present):
            ok = np.isfinite(self.keypoints[t]).all(-1)
            pts = self.keypoints[t][ok]
            span = pts.max(0) - pts.min(0)
            areas.append(float(span[0] * span[1]))
        return float(np.mean(areas)) if areas else 0.0
