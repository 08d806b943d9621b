"""Training and evaluation data: skeleton clips -> model inputs, with the paper's augmentation.

Test-time inputs are exactly ``preprocess.prepare_clip``. Training inputs follow the official
feeder (centre and scale over the whole clip, then the official random sampling of 64 frames) and
then apply the augmentations, each with probability ``p`` (the released configuration: 0.2):

* the paper's skeletal-temporal augmentation, here applied for real (the official feeder augments a
  copy that it then discards): rotation +-15 degrees, scale 0.9-1.1, translation +-0.1 (in the
  normalised [-1, 1] coordinates), and per-frame temporal jitter of the sampled frame indices +-3;
* axis masking (one coordinate axis set to 0 for the whole clip) and temporal block dropout (a
  block of up to 1/4 of the frames set to 0), as in the official feeder.

Randomness comes from ``numpy.random.default_rng((seed, epoch, index))``: the same seed gives the
same run, and a resumed run continues exactly where it stopped.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from definitions.layout import Layout, ma52_layout
from definitions.skeleton_io import SkeletonClip

from .preprocess import (NUM_FRAMES, check_keypoints, fill_missing, index_code, normalise, prepare_clip,
                         to_model_input, train_indices)


@dataclass
class Augment:
    p: float = 0.2
    rotate_deg: float = 15.0
    scale: tuple[float, float] = (0.9, 1.1)
    translate: float = 0.1
    jitter_frames: int = 3
    axis_mask: bool = True
    block_dropout: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


def augment_clip(k: np.ndarray, length: int, rng: np.random.Generator, aug: Augment) -> tuple[np.ndarray, np.ndarray]:
    """Normalised keypoints [L, V, 2] -> (augmented sampled frames [64, V, 2], sampled indices)."""
    idx = train_indices(length, rng)
    if aug.p > 0 and rng.random() < aug.p and aug.jitter_frames > 0:
        idx = np.sort(np.clip(idx + rng.integers(-aug.jitter_frames, aug.jitter_frames + 1, size=idx.shape),
                              0, length - 1))
    x = k[idx].copy()
    if aug.p > 0 and rng.random() < aug.p:
        theta = np.deg2rad(rng.uniform(-aug.rotate_deg, aug.rotate_deg))
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        x = x @ rot.T
    if aug.p > 0 and rng.random() < aug.p:
        x = x * rng.uniform(*aug.scale)
    if aug.p > 0 and rng.random() < aug.p:
        x = x + rng.uniform(-aug.translate, aug.translate, size=2)
    if aug.axis_mask and aug.p > 0 and rng.random() < aug.p:
        x[..., rng.integers(0, 2)] = 0.0
    if aug.block_dropout and aug.p > 0 and rng.random() < aug.p:
        n = int(rng.integers(1, NUM_FRAMES // 4 + 1))
        start = int(rng.integers(0, NUM_FRAMES - n + 1))
        x[start:start + n] = 0.0
    return x, idx


class SkeletonDataset(Dataset):
    """Clips with labels -> (x [2, 64, V, 1], index_t [64], label)."""

    def __init__(self, clips: list[SkeletonClip], stream: str = "joint", train: bool = False,
                 augment: Augment | None = None, seed: int = 0, layout: Layout | None = None):
        self.layout = layout or ma52_layout()
        for c in clips:
            check_keypoints(c.keypoints, self.layout)
        self.clips = clips
        self.stream = stream
        self.train = train
        self.augment = augment or Augment()
        self.seed = seed
        self.epoch = 0
        self._normalised: dict[int, np.ndarray] = {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def labels(self) -> np.ndarray:
        return np.array([-1 if c.label is None else c.label for c in self.clips])

    def _norm(self, i: int) -> np.ndarray:
        if i not in self._normalised:
            k = self.clips[i].keypoints
            self._normalised[i] = normalise(fill_missing(k, self.layout.center), self.layout.center)
        return self._normalised[i]

    def __getitem__(self, i: int):
        label = -1 if self.clips[i].label is None else int(self.clips[i].label)
        if not self.train:
            x, it = prepare_clip(self.clips[i].keypoints, self.stream, self.layout)
            return torch.from_numpy(x), torch.from_numpy(it), label
        k = self._norm(i)
        rng = np.random.default_rng((self.seed, self.epoch, i))
        frames, idx = augment_clip(k, k.shape[0], rng, self.augment)
        x = to_model_input(frames, self.stream, self.layout)
        return torch.from_numpy(x), torch.from_numpy(index_code(idx, k.shape[0])), label
