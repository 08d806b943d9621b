"""Measures of a keypoint track's stability (used by ``benchmarks/bench_pose_quality.py`` and tests).

All distances are in torso lengths (``scale``, pixels), so they compare across frame sizes.
"""
from __future__ import annotations

import numpy as np

from definitions.layout import ma52_layout

from .types import DETECTED, MISSING

_L = ma52_layout()
PARTS = {"face": "nose_bridge", "left hand": "left_hand_wrist", "right hand": "right_hand_wrist"}


def detection_rates(sources: np.ndarray, present: np.ndarray) -> dict[str, float]:
    """Fraction of the frames with the person in which each part model found its part."""
    seen = sources[present]
    if not len(seen):
        return {part: 0.0 for part in PARTS}
    return {part: float((seen[:, _L.index(joint)] == DETECTED).mean()) for part, joint in PARTS.items()}


def switch_excess(keypoints: np.ndarray, sources: np.ndarray, scale: float) -> np.ndarray:
    """For every source switch (a joint whose source differs between consecutive frames, both seen):
    how far the joint moves across the switch beyond its own motion, i.e. the step between the two
    frames minus the mean of the steps just before and just after (0 when smaller)."""
    kp = np.asarray(keypoints, np.float64)
    step = np.linalg.norm(np.diff(kp, axis=0), axis=-1) / scale  # [T-1, V]: frame t -> t+1
    src = np.asarray(sources)
    switch = (src[1:] != src[:-1]) & (src[1:] != MISSING) & (src[:-1] != MISSING)
    out = []
    for t, j in zip(*np.nonzero(switch)):
        around = [step[u, j] for u in (t - 1, t + 1) if 0 <= u < len(step) and np.isfinite(step[u, j])]
        own = float(np.mean(around)) if around else 0.0
        if np.isfinite(step[t, j]):
            out.append(max(0.0, float(step[t, j]) - own))
    return np.array(out)


def hand_side_errors(keypoints: np.ndarray, margin: float = 0.1) -> int:
    """Hand-frames where a hand's wrist is nearer the other arm's wrist than its own by more than
    ``margin`` torso lengths (the frame's own neck-to-hip length): left/right hand swaps."""
    kp = np.asarray(keypoints, np.float64)
    torso = np.linalg.norm(kp[:, _L.index("neck")] - kp[:, _L.index("hip_center")], axis=-1)
    count = 0
    for side, other in (("left", "right"), ("right", "left")):
        hand = kp[:, _L.index(f"{side}_hand_wrist")]
        own = np.linalg.norm(hand - kp[:, _L.index(f"{side}_wrist")], axis=-1)
        far = np.linalg.norm(hand - kp[:, _L.index(f"{other}_wrist")], axis=-1)
        with np.errstate(invalid="ignore"):
            count += int(((own - far) / torso > margin).sum())
    return count
