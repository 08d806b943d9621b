"""Data passed between the pose stage and the rest: per-frame detections and per-person tracks."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

# Where a joint's value came from (PersonTrack.sources / Detection.sources).
MISSING, DETECTED, DERIVED, FALLBACK = 0, 1, 2, 3


def keypoint_box(keypoints: np.ndarray, scores: np.ndarray | None = None, min_score: float = 0.5,
                 min_joints: int = 4) -> np.ndarray | None:
    """[x0, y0, x1, y1] around a pose's joints [J, 2] that are seen (finite) and, with ``scores`` [J], have a
    confidence >= ``min_score``; None when fewer than ``min_joints`` are. The one home of a person's box from
    keypoints: where a person is, for re-identifying them (``pose.tracking.same_place``), and their size."""
    ok = np.isfinite(keypoints).all(-1)
    if scores is not None:
        ok &= scores >= min_score
    if ok.sum() < min_joints:
        return None
    pts = keypoints[ok]
    return np.concatenate([pts.min(0), pts.max(0)])


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
        box = keypoint_box(self.keypoints, min_joints=1)
        if box is None:
            return np.zeros(4, np.float32)
        return np.array([box[0], box[1], box[2] - box[0], box[3] - box[1]], np.float32)


@dataclass
class PersonTrack:
    """One person over the whole video: arrays over all T frames, NaN/0 where not seen (for long
    videos they are disk-backed views, see ``common.diskarray``; whole-track work goes by chunks).
    ``keypoints``/``scores`` are what the analysis uses (stabilised, see ``pose.stabilize``)."""

    id: int
    keypoints: np.ndarray  # [T, 44, 2]
    scores: np.ndarray  # [T, 44]
    sources: np.ndarray  # [T, 44] uint8
    present: np.ndarray = field(default=None)  # [T] bool
    # the pose model's own values before stabilisation (``pose.stabilize``); None when not stabilised
    raw_keypoints: np.ndarray | None = None  # [T, 44, 2]
    raw_scores: np.ndarray | None = None  # [T, 44]

    CHUNK = 4096  # frames at a time

    def __post_init__(self):
        if self.present is None:
            self.present = np.zeros(len(self.keypoints), bool)
            for a in range(0, len(self.keypoints), self.CHUNK):
                self.present[a:a + self.CHUNK] = np.isfinite(self.keypoints[a:a + self.CHUNK]).all(-1).any(-1)

    @property
    def num_frames_seen(self) -> int:
        return int(self.present.sum())

    def mean_area(self) -> float:
        """Mean area [pixels^2] of the box around the seen joints, over the frames the person is seen."""
        total, count = 0.0, 0
        for a in range(0, len(self.keypoints), self.CHUNK):
            kp = self.keypoints[a:a + self.CHUNK][self.present[a:a + self.CHUNK]]
            if not len(kp):
                continue
            masked = np.where(np.isfinite(kp).all(-1)[..., None], kp, np.nan)  # a frame has >= 1 full joint
            span = (np.nanmax(masked, axis=1) - np.nanmin(masked, axis=1)).astype(np.float64)  # [t, 2]
            total += float((span[:, 0] * span[:, 1]).sum())
            count += len(kp)
        return total / count if count else 0.0


@runtime_checkable
class PoseBackend(Protocol):
    """What the pipeline needs of a pose model (``pose.mediapipe_backend``, ``pose.alphapose``): one
    frame in (RGB, possibly downscaled to ``max_side``), the people found in it out, in the pixels of
    the ``width`` x ``height`` video; ``settings`` go into the record and the pose cache's key."""

    name: str
    settings: dict
    max_side: int | None

    def process(self, image: np.ndarray, width: int, height: int, time: float | None = None) -> list[Detection]:
        ...

    def reset(self) -> None:
        """Forget the video so far (a new video or a camera cut)."""

    def close(self) -> None:
        ...

