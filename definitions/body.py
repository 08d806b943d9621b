"""The unit of every distance measured on a body: the torso length (neck to hip centre, in the MA-52
layout's keypoints), and what stands in for it where the hips are not seen.

``pipeline.motion.body_scale`` (one length for a whole track, its median) and ``pose.stabilize`` (a
length per frame, for the speeds that steer its smoothing) both measure it here.
"""
from __future__ import annotations

import numpy as np

from .layout import ma52_layout

SHOULDERS_TO_TORSO = 1.5  # torso lengths in a shoulder width, where the hips are not seen

_L = ma52_layout()
_NECK, _HIPS = _L.index("neck"), _L.index("hip_center")
_SHOULDERS = _L.index("left_shoulder"), _L.index("right_shoulder")


def neck_to_hips(keypoints: np.ndarray) -> np.ndarray:
    """[T] distance [pixels] from the neck to the hip centre in each frame of keypoints [T, V, 2] (NaN where
    either is missing); computed in the keypoints' own precision."""
    return np.linalg.norm(keypoints[:, _NECK] - keypoints[:, _HIPS], axis=-1)


def shoulder_widths(keypoints: np.ndarray) -> np.ndarray:
    """[T] distance [pixels] between the shoulders in each frame (NaN where either is missing)."""
    return np.linalg.norm(keypoints[:, _SHOULDERS[0]] - keypoints[:, _SHOULDERS[1]], axis=-1)


def torso_lengths(keypoints: np.ndarray) -> np.ndarray:
    """[T] torso length [pixels] in each frame: neck to hip centre where that is seen (longer than a pixel),
    else ``SHOULDERS_TO_TORSO`` shoulder widths (NaN where neither is seen)."""
    torso = neck_to_hips(keypoints)
    shoulders = SHOULDERS_TO_TORSO * shoulder_widths(keypoints)
    return np.where(np.isfinite(torso) & (torso > 1), torso, shoulders)
