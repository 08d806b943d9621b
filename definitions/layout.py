"""The 44-joint MA-52 skeleton (a subset of AlphaPose Halpe-136), read from ``assets/``.

Everything that handles keypoints uses this module: pose backends fill the 44 joints in layout
order, the recognizer reorders them to the model's joint order, exports name them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parent.parent / "assets"


@dataclass(frozen=True)
class Layout:
    names: tuple[str, ...]
    halpe136: tuple[int, ...]
    bones: tuple[tuple[int, int], ...]
    model_order: tuple[int, ...]
    center: int

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def indices(self, *names: str) -> list[int]:
        return [self.names.index(n) for n in names]

    def bone_vectors(self, x: np.ndarray) -> np.ndarray:
        """Bone stream of joints x [..., V, C] (the official rule): for each (a, b) in list order
        B[..., a, :] = x[..., a, :] - x[..., b, :]; later pairs overwrite; other joints stay 0."""
        out = np.zeros_like(x)
        for a, b in self.bones:
            out[..., a, :] = x[..., a, :] - x[..., b, :]
        return out


@lru_cache(maxsize=None)
def ma52_layout() -> Layout:
    data = json.loads((ASSETS / "ma52_layout.json").read_text())
    joints = sorted(data["joints"], key=lambda j: j["index"])
    return Layout(
        names=tuple(j["name"] for j in joints),
        halpe136=tuple(j["halpe136"] for j in joints),
        bones=tuple((a, b) for a, b in data["bones"]),
        model_order=tuple(data["model_joint_order"]),
        center=int(data["center_joint"]),
    )


# The six points of each hand in the layout (``<side>_hand_<point>``)
HAND_POINTS = ("wrist", "thumb_tip", "index_tip", "middle_tip", "ring_tip", "pinky_tip")


def hand_joints(side: str) -> tuple[str, ...]:
    """The layout names of one hand's points (``side``: left or right)."""
    return tuple(f"{side}_hand_{p}" for p in HAND_POINTS)


# Joint groups used for movement descriptions and hand-contact events (layout names).
REGIONS: dict[str, tuple[str, ...]] = {
    "head": ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "head_top", "nose_bridge",
             "nose_bottom", "right_eye_outer_corner", "left_eye_outer_corner", "upper_lip_top",
             "lower_lip_bottom"),
    "torso": ("left_shoulder", "right_shoulder", "neck", "hip_center", "left_hip", "right_hip"),
    "arms/hands": ("left_elbow", "right_elbow", "left_wrist", "right_wrist")
    + hand_joints("left") + hand_joints("right"),
    "legs": ("left_knee", "right_knee", "left_ankle", "right_ankle", "left_big_toe", "right_big_toe",
             "left_small_toe", "right_small_toe", "left_heel", "right_heel"),
}
