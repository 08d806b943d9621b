"""The official MMN test-time preprocessing, plus the handling of missing joints.

``prepare_clip(keypoints, stream)`` turns one person's keypoints [L, 44, 2] (pixels, layout order)
into the model input (x [2, 64, 44, 1] in model joint order, index_t [64]):

1. missing joints are filled (see below);
2. centre on the hip centre of the first frame;
3. scale each axis to [-1, 1] over all frames and joints: (K - min) / (max - min + 1e-6) * 2 - 1;
4. sample 64 frames: idx = floor(linspace(0, L - 1, 64)), index_t = 2 * idx / L - 1;
5. bone stream: bone vectors by the layout's rule;
6. transpose to [2, 64, V, 1] and reorder joints to the model's order.

Missing joints (NaN or inf, e.g. a hand the pose model did not find) would poison the min/max of
step 3, so they are filled first: each joint takes its value from the nearest frame in which it was
found (the earlier one on a tie); a joint never found in the clip takes the hip centre of each
frame, or, where the hip centre is never found either, the mean of that frame's found joints. A clip
with no found joint at all is a ``ValueError``.
"""
from __future__ import annotations

import numpy as np

from definitions.layout import Layout, ma52_layout

NUM_FRAMES = 64
STREAMS = ("joint", "bone")


def fill_missing(keypoints: np.ndarray, center: int) -> np.ndarray:
    """Fill NaN/inf joints of [L, V, 2] as described in the module doc; returns float64."""
    k = np.array(keypoints, dtype=np.float64)
    valid = np.isfinite(k).all(axis=-1)  # [L, V]
    if valid.all():
        return k
    if not valid.any():
        raise ValueError("no valid keypoint in the clip (the person was never found)")
    frames = np.arange(k.shape[0])
    for v in range(k.shape[1]):
        ok = np.flatnonzero(valid[:, v])
        if ok.size == 0 or ok.size == k.shape[0]:
            continue
        pos = np.searchsorted(ok, frames)
        before = ok[np.clip(pos - 1, 0, ok.size - 1)]
        after = ok[np.clip(pos, 0, ok.size - 1)]
        nearest = np.where(np.abs(frames - before) <= np.abs(after - frames), before, after)
        k[:, v] = k[nearest, v]
    never = ~valid.any(axis=0)
    if never.any():
        if not never[center]:
            k[:, never] = k[:, center][:, None, :]
        else:
            found = ~never
            k[:, never] = k[:, found].mean(axis=1)[:, None, :]
    return k


def normalise(keypoints: np.ndarray, center: int) -> np.ndarray:
    """Steps 2-3: centre on the first frame's hip centre, scale each axis to [-1, 1]."""
    k = keypoints - keypoints[0, center]
    lo = k.min(axis=(0, 1))
    hi = k.max(axis=(0, 1))
    return (k - lo) / (hi - lo + 1e-6) * 2 - 1


def eval_indices(length: int, num_frames: int = NUM_FRAMES) -> np.ndarray:
    """Official test-time sampling: floor(linspace(0, L - 1, num_frames))."""
    return np.linspace(0, length - 1, num_frames).astype(np.int64)


def train_indices(length: int, rng: np.random.Generator, num_frames: int = NUM_FRAMES) -> np.ndarray:
    """Official training sampling: num_frames draws without replacement from the multiset holding
    every frame index num_frames times, sorted."""
    pool = np.repeat(np.arange(length), num_frames)
    return np.sort(rng.choice(pool, size=num_frames, replace=False))


def index_code(idx: np.ndarray, length: int) -> np.ndarray:
    """index_t = 2 * idx / L - 1 as float32."""
    return (2 * idx / length - 1).astype(np.float32)


def to_model_input(frames: np.ndarray, stream: str, layout: Layout) -> np.ndarray:
    """Sampled, normalised frames [T, V, 2] -> x [2, T, V, 1] (float32, model joint order)."""
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {STREAMS}, got {stream!r}")
    if stream == "bone":
        frames = layout.bone_vectors(frames)
    x = frames[:, list(layout.model_order)].transpose(2, 0, 1)[..., None]
    return np.ascontiguousarray(x, dtype=np.float32)


def check_keypoints(keypoints: np.ndarray, layout: Layout) -> np.ndarray:
    k = np.asarray(keypoints)
    if k.ndim != 3 or k.shape[1] != layout.num_joints or k.shape[2] != 2:
        raise ValueError(f"keypoints must be [frames, {layout.num_joints}, 2]; got shape {tuple(k.shape)}")
    if k.shape[0] < 1:
        raise ValueError("keypoints hold no frame")
    if not np.issubdtype(k.dtype, np.number):
        raise ValueError(f"keypoints must be numbers; got dtype {k.dtype}")
    return k


def _sampled(keypoints: np.ndarray, layout: Layout, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-4 (up to the stream): normalised sampled frames [num_frames, V, 2] and index_t."""
    k = check_keypoints(keypoints, layout)
    k = normalise(fill_missing(k, layout.center), layout.center)
    idx = eval_indices(k.shape[0], num_frames)
    return k[idx], index_code(idx, k.shape[0])


def prepare_clip(
    keypoints: np.ndarray,
    stream: str = "joint",
    layout: Layout | None = None,
    num_frames: int = NUM_FRAMES,
) -> tuple[np.ndarray, np.ndarray]:
    """One clip's keypoints [L, V, 2] (pixels) -> (x [2, num_frames, V, 1], index_t [num_frames])."""
    layout = layout or ma52_layout()
    frames, index_t = _sampled(keypoints, layout, num_frames)
    return to_model_input(frames, stream, layout), index_t


def prepare_streams(
    clips: list[np.ndarray], streams: tuple[str, ...] = ("joint",), layout: Layout | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Several clips -> {stream: (x [B, 2, 64, V, 1], index_t [B, 64])}; the clips are filled,
    normalised and sampled once for all streams."""
    layout = layout or ma52_layout()
    sampled = [_sampled(c, layout, NUM_FRAMES) for c in clips]
    index_t = np.stack([it for _, it in sampled])
    return {s: (np.stack([to_model_input(f, s, layout) for f, _ in sampled]), index_t) for s in streams}


def prepare_batch(
    clips: list[np.ndarray], stream: str = "joint", layout: Layout | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Several clips -> (x [B, 2, 64, V, 1], index_t [B, 64])."""
    return prepare_streams(clips, (stream,), layout)[stream]
