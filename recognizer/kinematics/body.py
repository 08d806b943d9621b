"""The body's own frame, per frame, for the body, arm, leg and body-hand rules.

**Seen points.** A point counts only where it is seen with confidence above ``MIN_SCORE`` inside the
picture: pose models guess hidden limbs (legs under a desk, a hand behind the back) with positions
that look plausible, and a guess must not become an action.

**Scale.** Distances are in torso lengths: the median over the track of the distance from the neck (the
shoulders' midpoint) to the hip centre (the hips' midpoint), or 1.5 shoulder widths where the hips are
not seen (an adult's shoulder keypoints are 0.215 of the stature apart and the torso is 0.294 of it,
Drillis & Contini: 1.37; 1.5 allows for the shoulders' width shrinking when the person turns). One
torso length is about 500 mm for an adult (0.294 x 1700 mm); figures in mm below use that.

**The torso's frame.** Origin at the neck, x along the shoulder line toward the person's own left, y
perpendicular to it toward the hips, in torso lengths. It follows the torso's roll and sway, so a hand
resting on the chest keeps its place while the body sways; where the shoulders look narrower than
``MIN_SHOULDER_WIDTH`` (the person seen side-on) the line is too short to give a direction and the
picture's axes are used. Which way the person faces is the sign of the shoulders' order in the
picture (the left shoulder on the picture's right: facing the camera), held through frames where it
cannot be told.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from definitions.layout import ma52_layout

from .signals import fill_gaps, smooth_valid

_L = ma52_layout()
J = {name: i for i, name in enumerate(_L.names)}
MIN_SCORE = 0.3
SHOULDERS_PER_TORSO = 1.5
MIN_SHOULDER_WIDTH = 0.3  # torso lengths: shoulders closer than this (turned > ~65 deg) give no line
AXIS_SMOOTH_S = 0.2  # the frame's axes are averaged over this (shoulder jitter of 3 mm turns the line by 0.5 deg)
HOLD_FRAME_S = 0.5  # a frame without both shoulders borrows the frame of a neighbour this near
TORSO_MM = 500.0  # one torso length of an adult (for evidence in mm)


def seen_mask(keypoints: np.ndarray, scores: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[T, V] points seen with confidence above MIN_SCORE inside the picture."""
    kp = np.asarray(keypoints)
    w, h = size
    with np.errstate(invalid="ignore"):
        inside = (kp[..., 0] >= 0) & (kp[..., 1] >= 0) & (kp[..., 0] < w) & (kp[..., 1] < h)
    return (np.asarray(scores) > MIN_SCORE) & np.isfinite(kp).all(-1) & inside


@dataclass
class Body:
    """One track's points (the track's own arrays, not copies; ``point`` gives a point in pixels with NaN
    where not seen), its scale and the torso's frame per frame."""

    mask: np.ndarray  # [T, V] bool: seen (confidence above MIN_SCORE, inside the picture)
    times: np.ndarray
    size: tuple[int, int]
    scale: float  # pixels per torso length
    scale_source: str
    origin: np.ndarray  # [T, 2] the neck (px), NaN without the shoulders
    xaxis: np.ndarray  # [T, 2] unit, toward the person's left
    yaxis: np.ndarray  # [T, 2] unit, toward the hips
    facing: np.ndarray  # [T] +1 facing the camera, -1 facing away
    raw: np.ndarray  # [T, V, 2] the track's own keypoints (not a copy): where the pose model put a point
    scores: np.ndarray  # [T, V] the track's own confidences (not a copy)

    @property
    def usable(self) -> bool:
        return bool(np.isfinite(self.scale))

    def point(self, name: str) -> np.ndarray:
        """[T, 2] pixels of a layout point (NaN where not seen)."""
        return self.points([name])[:, 0]

    def points(self, names) -> np.ndarray:
        """[T, N, 2] pixels of layout points (NaN where not seen)."""
        idx = [J[n] for n in names]
        return np.where(self.mask[:, idx, None], np.asarray(self.raw[:, idx], np.float64), np.nan)

    def guessed(self, name: str) -> np.ndarray:
        """[T, 2] pixels of a layout point wherever the pose model put it, seen or not (only to tell
        whether a hidden point is outside the picture or inside it)."""
        return np.asarray(self.raw[:, J[name]], np.float64)

    def confidence(self, names) -> np.ndarray:
        """[T] the mean confidence of the seen points among ``names`` (NaN where none is seen)."""
        idx = [J[n] for n in names]
        ok = self.mask[:, idx]
        sc = np.asarray(self.scores[:, idx], np.float64)
        with np.errstate(invalid="ignore"):
            return np.where(ok.any(1), (sc * ok).sum(1) / ok.sum(1), np.nan)

    def seen(self, name: str) -> np.ndarray:
        return self.mask[:, J[name]]

    def local(self, px: np.ndarray) -> np.ndarray:
        """Pixels [T, ..., 2] into the torso's frame (torso lengths; x to the person's left, y down)."""
        extra = (slice(None),) + (None,) * (px.ndim - 2)
        d = (px - self.origin[extra]) / self.scale
        return np.stack([(d * self.xaxis[extra]).sum(-1), (d * self.yaxis[extra]).sum(-1)], -1)

    def local_point(self, name: str) -> np.ndarray:
        return self.local(self.point(name))

    def pixels(self, distance: float) -> float:
        return distance * self.scale


def body_of(keypoints: np.ndarray, scores: np.ndarray, times: np.ndarray, size: tuple[int, int]) -> Body:
    """The body's frame of a track piece (keypoints [T, V, 2] pixels, scores [T, V]); the arrays are kept
    as they are (no copy of the whole track)."""
    seen = seen_mask(keypoints, scores, size)
    part = Body(seen, times, size, float("nan"), "unknown", np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2)),
                np.zeros(0), keypoints, scores)
    names = ("left_shoulder", "right_shoulder", "neck", "left_hip", "right_hip", "hip_center")
    sub = {n: part.point(n) for n in names}
    scale, source = _scale(sub)
    ls, rs = sub["left_shoulder"], sub["right_shoulder"]
    origin = _mid_of(ls, rs, sub["neck"])
    d = ls - rs
    width = np.linalg.norm(d, axis=-1)
    facing = np.sign(d[:, 0])
    facing[~(np.isfinite(facing) & (width >= MIN_SHOULDER_WIDTH * scale))] = np.nan
    facing = _hold(facing, times)
    facing = np.where(np.isfinite(facing), facing, 1.0)
    with np.errstate(invalid="ignore"):
        roll = np.arctan2(d[:, 1] * facing, d[:, 0] * facing)  # the shoulder line's angle, whichever way faced
    roll[~(width >= MIN_SHOULDER_WIDTH * scale)] = np.nan
    roll = smooth_valid(_hold(roll, times), times, AXIS_SMOOTH_S)
    roll = np.where(np.isfinite(roll), roll, 0.0)
    xaxis = np.stack([np.cos(roll), np.sin(roll)], -1) * facing[:, None]
    yaxis = np.stack([-np.sin(roll), np.cos(roll)], -1)
    origin = fill_gaps(origin, times, HOLD_FRAME_S)
    return Body(seen, times, size, scale, source, origin, xaxis, yaxis, facing, keypoints, scores)


def _mid_of(a: np.ndarray, b: np.ndarray, single: np.ndarray) -> np.ndarray:
    """Midpoint of two points [T, 2] where both are seen, else ``single`` where seen."""
    both = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    return np.where(both[:, None], (a + b) / 2, single)


def _scale(sub: dict) -> tuple[float, str]:
    """(pixels per torso length, how it was measured): the median neck-to-hip-centre distance, else 1.5
    shoulder widths, else NaN."""
    neck = _mid_of(sub["left_shoulder"], sub["right_shoulder"], sub["neck"])
    hip = _mid_of(sub["left_hip"], sub["right_hip"], sub["hip_center"])
    d = np.linalg.norm(neck - hip, axis=-1)
    d = d[np.isfinite(d) & (d > 1)]
    if len(d) >= 3:
        return float(np.median(d)), "neck to hip centre"
    w = np.linalg.norm(sub["left_shoulder"] - sub["right_shoulder"], axis=-1)
    w = w[np.isfinite(w) & (w > 1)]
    if len(w) >= 3:
        return float(np.median(w)) * SHOULDERS_PER_TORSO, "1.5 shoulder widths"
    return float("nan"), "unknown"


def _hold(x: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``x`` [T] with NaN frames given the nearest value within HOLD_FRAME_S."""
    ok = np.flatnonzero(np.isfinite(x))
    if len(ok) == 0:
        return x
    k = np.clip(np.searchsorted(ok, np.arange(len(x))), 1, len(ok) - 1) if len(ok) > 1 else np.zeros(len(x), int)
    if len(ok) > 1:
        left, right = ok[k - 1], ok[k]
        near = np.where(np.abs(times[left] - times) <= np.abs(times[right] - times), left, right)
    else:
        near = np.full(len(x), ok[0])
    out = x[near]
    out[np.abs(times[near] - times) > HOLD_FRAME_S] = np.nan
    return out
