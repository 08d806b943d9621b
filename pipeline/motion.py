"""Movement measured from keypoints alone (no model weights needed).

* Body scale: the person's median torso length (neck to hip centre; shoulder width where the hips
  are not seen), in pixels. All distances and speeds below are in torso lengths.
* Motion energy of a stretch of frames, from the stabilised keypoints (``pose.stabilize``): each joint's
  speed at each frame (``joint_speed``) is the time derivative of its trajectory averaged over
  ``SMOOTH_S`` seconds, over the frames where it is reliably seen (inside the picture, confidence >=
  ``MIN_SCORE``) in runs of ``SMOOTH_S`` or more (``steady``: a joint glimpsed for a frame or two has no
  speed to measure). Between frames the trajectory is the Catmull-Rom cubic through them, and the average
  (a Gaussian with the spread of a ``SMOOTH_S`` box) and its derivative are taken of that continuous
  curve (``trajectory_kernels``): a movement measures the same speed at 15 as at 60 fps, where an
  average sampled at the frames spans less than a frame at 15 fps. The average removes what is left of
  the pose model's frame-to-frame jitter (also for AlphaPose keypoints, which are not smoothed) but
  keeps micro-actions (a 3 Hz nod keeps 0.83-0.85 of its speed at 15-60 fps). Then, for each body region
  (head, torso, arms/hands, legs), the median over its joints of each joint's mean speed in torso
  lengths per second over consecutive reliable frames; the stretch's energy is the largest region's.
  Measured on MA-52 demo clips with MediaPipe: nodding 0.074, shaking body 0.24; frozen frames
  0.017-0.024 (docs/POSE_QUALITY.md). The same footage at 25-60 fps measures within 10 % of its 30 fps
  energy, and so does a 15 fps video run through the pose model (MediaPipe's 30 fps output thinned to
  15 fps reads up to 21 % off: thinning keeps one of the two fits its hand model flips between on every
  frame, README "Frame rates"). A window whose energy is below ``STILL_THRESHOLD`` is "still": MMN has no class for "nothing
  happening", so such windows are not forced into an action.
* Hand contacts (``pipeline.description``): a hand (wrist and fingertips) within
  ``CONTACT_DISTANCE`` torso lengths of the face/head, the torso or the legs (``TARGETS``, surfaces
  from ``surface_points``), for at least ``MIN_CONTACT_S`` seconds.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy.ndimage import convolve1d, correlate1d

from common.chunks import pieces
from common.frames import frame_interval, frames_covering
from definitions.body import SHOULDERS_TO_TORSO, neck_to_hips, shoulder_widths
from definitions.layout import REGIONS, hand_joints, ma52_layout

# torso lengths (neck to hip centre) in the distance from the eyes' centre to the mouth's, where neither the
# hips nor the shoulders are seen: adults' eye-to-mouth distance is about 7 cm and their neck-to-hip-joint
# length about 45 cm (6.4); MediaPipe's keypoints of 10 people in the MA-52 and real_dev clips, median 5.8
# (4.2 with a masked mouth to 8.9 with a turned head, which shortens the face in the picture)
HEAD_TO_TORSO = 6.0
MIN_SCORE = 0.5
MIN_COVERAGE = 0.5
SMOOTH_S = 0.1
STILL_THRESHOLD = 0.06  # torso lengths per second
CONTACT_DISTANCE = 0.2  # torso lengths
CONTACT_MIN_SCORE = 0.3
MIN_CONTACT_S = 0.2
KERNEL_TRUNCATE = 3.0  # smoothing kernels end at 3 standard deviations
_QUADRATURE = 256  # points a frame where trajectory_kernels integrates the continuous curve
ENERGY_CONTEXT_S = 1.0  # seconds on each side that give a chunk's speeds and energies their whole-video values
# (a frame's speed depends on 3 standard deviations of the SMOOTH_S average, and 2 frames of the cubic, around it)

_L = ma52_layout()
REGION_JOINTS = {r: np.array(_L.indices(*names)) for r, names in REGIONS.items()}
_HAND = {s: np.array(_L.indices(*hand_joints(s))) for s in ("left", "right")}
TARGETS = {
    "face/head": _L.indices("nose", "left_eye", "right_eye", "left_ear", "right_ear", "head_top", "nose_bridge",
                            "nose_bottom", "upper_lip_top", "lower_lip_bottom"),
    "torso": _L.indices("neck", "left_shoulder", "right_shoulder"),
    "legs": _L.indices("left_knee", "right_knee", "left_ankle", "right_ankle"),
}
# Segments sampled along these bones (from the first joint, this fraction of the way) stand for the
# surfaces a hand can touch. The torso stops above the hips: a seated person's lap is the legs'.
_SURFACES = {
    "torso": [("neck", "hip_center", 0.75), ("left_shoulder", "left_hip", 0.75),
              ("right_shoulder", "right_hip", 0.75), ("left_shoulder", "right_shoulder", 1.0)],
    "legs": [("left_hip", "left_knee", 1.0), ("right_hip", "right_knee", 1.0), ("left_knee", "left_ankle", 1.0),
             ("right_knee", "right_ankle", 1.0)],
}


def body_scale(keypoints: np.ndarray, chunk: int = 4096) -> float | None:
    """Median torso length [pixels] of a track [T, V, 2]: neck to hip centre; where that is never seen,
    ``SHOULDERS_TO_TORSO`` shoulder widths; else ``HEAD_TO_TORSO`` eye-to-mouth distances (a face alone in
    the picture); None when none of these is ever seen (then nothing can be measured in torso lengths).
    (Read ``chunk`` frames at a time; only the lengths, 4 bytes a frame, are kept.)"""
    def lengths(measure) -> np.ndarray:
        parts = []
        for s in range(0, len(keypoints), chunk):
            d = measure(np.asarray(keypoints[s:s + chunk], np.float64))
            parts.append(d[np.isfinite(d) & (d > 1)].astype(np.float32))
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    for measure, factor in ((neck_to_hips, 1.0), (shoulder_widths, SHOULDERS_TO_TORSO),
                            (_eyes_to_mouth, HEAD_TO_TORSO)):
        found = lengths(measure)
        if found.size:
            return float(np.median(found)) * factor
    return None


def _eyes_to_mouth(kp: np.ndarray) -> np.ndarray:
    """[T] distance from the eyes' centre to the mouth's [pixels]."""
    eyes, mouth = _L.indices("left_eye", "right_eye"), _L.indices("upper_lip_top", "lower_lip_bottom")
    return np.linalg.norm(kp[:, eyes].mean(1) - kp[:, mouth].mean(1), axis=-1)


def reliable(keypoints: np.ndarray, scores: np.ndarray, width: float, height: float,
             min_score: float = MIN_SCORE) -> np.ndarray:
    """[T, V] mask of joints seen with confidence >= min_score inside the frame (pose models guess
    the positions of parts outside the picture, with confidences that can look fine)."""
    x, y = keypoints[..., 0], keypoints[..., 1]
    with np.errstate(invalid="ignore"):
        inside = (x >= 0) & (y >= 0) & (x < width) & (y < height)
    return (scores >= min_score) & np.isfinite(keypoints).all(-1) & inside


class ReliableMask:
    """``reliable()`` of a track, computed for the frames sliced (``mask[a:b]``) rather than held for
    the whole track (it is per frame, so slices give the same values; long stretches are then worked
    on a chunk at a time without a mask as long as the video)."""

    def __init__(self, keypoints: np.ndarray, scores: np.ndarray, width: float, height: float,
                 min_score: float = MIN_SCORE):
        self.keypoints, self.scores, self.size, self.min_score = keypoints, scores, (width, height), min_score

    def __getitem__(self, frames: slice) -> np.ndarray:
        return reliable(self.keypoints[frames], self.scores[frames], *self.size, min_score=self.min_score)

    def view(self, a: int, b: int) -> "ReliableMask":
        """The mask of frames [a, b), still computed lazily."""
        return ReliableMask(self.keypoints[a:b], self.scores[a:b], *self.size, min_score=self.min_score)


def region_energy(keypoints: np.ndarray, ok: np.ndarray, times: np.ndarray, scale: float,
                  chunk: int = 4096) -> dict[str, float]:
    """Per region: the median over its joints of each joint's mean speed (torso lengths per second)
    over consecutive reliable frames; joints reliable in fewer than ``MIN_COVERAGE`` of the frame pairs
    do not count, and a region without such joints has energy 0. Long stretches are summed ``chunk``
    frames at a time (same result, bounded memory)."""
    n = len(times)
    if n < 2:
        return {r: 0.0 for r in REGION_JOINTS}
    total = np.zeros(keypoints.shape[1])
    count = np.zeros(keypoints.shape[1])
    pad, step = context_frames(times), frame_interval(times)  # the whole stretch's, for every chunk
    for p in pieces(0, n - 1, chunk, pad):  # pieces of the frame pairs: pair k is frames k and k + 1
        sp, both = _speeds(keypoints[p.lo:p.hi + 1], ok[p.lo:p.hi + 1], times[p.lo:p.hi + 1], scale, step)
        total += np.where(both[p.own], sp[p.own], 0.0).sum(0)
        count += both[p.own].sum(0)
    per_joint = np.where(count >= MIN_COVERAGE * (n - 1), total / np.maximum(count, 1), np.nan)
    out = {}
    for region, joints in REGION_JOINTS.items():
        vals = per_joint[joints]
        out[region] = float(np.nanmedian(vals)) if np.isfinite(vals).any() else 0.0
    return out


def context_frames(times: np.ndarray, seconds: float = ENERGY_CONTEXT_S) -> int:
    """``seconds`` of context in frames at the stretch's frame interval."""
    return int(math.ceil(seconds / frame_interval(times))) + 2


def smoothing_kernel(width: float) -> np.ndarray:
    """Weights of an average over ``width`` frames (any real number >= 1), centred: a Gaussian with the
    standard deviation of a ``width``-frame box (``width / sqrt(12)``), sampled at the frames. So an
    average "over 0.1 s" spans the same time at any frame rate, never a rounded number of frames (3
    frames are 0.2 s at 15 fps, where a 3 Hz nod measured at 0.59 of its speed at 30 fps). A Gaussian
    rather than a box with fractional ends: sampled at low rates a box damps a 3-4 Hz movement more than
    it does at 30 fps. Used to average per-frame values over time (energies, part motion); speeds are
    measured on the continuous trajectory instead (``trajectory_kernels``)."""
    sigma = max(1.0, float(width)) / math.sqrt(12.0)
    reach = int(math.ceil(KERNEL_TRUNCATE * sigma))
    k = np.exp(-0.5 * (np.arange(-reach, reach + 1) / sigma) ** 2)
    return k / k.sum()


def moving_average(x: np.ndarray, width: float, axis: int = 0, mode: str = "nearest") -> np.ndarray:
    """``x`` averaged over ``width`` frames along ``axis`` (``smoothing_kernel``)."""
    return convolve1d(np.asarray(x, np.float64), smoothing_kernel(width), axis=axis, mode=mode)


def _speeds(keypoints: np.ndarray, ok: np.ndarray, times: np.ndarray, scale: float,
            step: float) -> tuple[np.ndarray, np.ndarray]:
    """Joint speeds [T-1, V] (torso lengths / s) between consecutive frames and where both frames are
    reliable and in a run of ``SMOOTH_S`` or more (``steady``): the mean of the two frames' speeds
    (``joint_speed``; ``step``: the whole stretch's frame interval, which sets the kernels for every chunk)."""
    ok = steady(np.asarray(ok), step)
    speed = pair_speed(keypoints, ok, times, step) / scale
    both = ok[1:] & ok[:-1] & np.isfinite(speed)
    return speed, both


def steady(ok: np.ndarray, step: float, seconds: float = SMOOTH_S) -> np.ndarray:
    """``ok`` [T, ...] where its runs of True along time last ``seconds`` or more (``frames_covering``):
    a joint seen for less than the speed's own average (a hand glimpsed at the picture's edge for a
    frame or two) has no speed to measure. Its flicker read as movement, and as twice as long at 60 fps
    as at 30 when each frame is shown twice."""
    need = frames_covering(seconds, step)
    ok = np.asarray(ok, bool)
    if need <= 1 or not len(ok):
        return ok
    flat = ok.reshape(len(ok), -1)
    out = np.zeros_like(flat)
    for j in np.flatnonzero(flat.any(0)):
        for a, b in runs(flat[:, j]):
            if b - a >= need:
                out[a:b, j] = True
    return out.reshape(ok.shape)


def pair_speed(points: np.ndarray, ok: np.ndarray, times: np.ndarray, step: float) -> np.ndarray:
    """[T-1, V] speeds (pixels / s) of points [T, V, 2] between consecutive frames: the mean of the two
    frames' ``joint_speed`` (the one measure of a trajectory's speed: joints here, body parts in
    ``pipeline.description``)."""
    sp = joint_speed(points, ok, times, step)
    return 0.5 * (sp[1:] + sp[:-1])


def joint_speed(keypoints: np.ndarray, ok: np.ndarray, times: np.ndarray, step: float) -> np.ndarray:
    """Speed of each joint at each frame [T, V] (pixels / s; NaN where no reliable frame is in reach): the
    time derivative of its trajectory averaged over ``SMOOTH_S`` (``trajectory_kernels``), using only the
    frames where ``ok`` (normalised convolution, differentiated by the quotient rule), divided by the
    frame times' own derivative (the same kernel over every frame; beyond the stretch's ends the times
    go on at ``step``), so that equal timestamps, jittered times or a hole do not read as a jump: a
    steady movement reads its speed exactly wherever the average's reach holds reliable frames only
    (tests/test_joint_speed.py); next to the stretch's ends and unseen frames the average is one-sided
    and reads it slower."""
    h, dh = trajectory_kernels(SMOOTH_S / math.sqrt(12.0) / step)
    w = ok.astype(np.float64)[..., None]
    x = np.where(ok[..., None], keypoints, 0.0)
    den, dden = (correlate1d(w, k, axis=0, mode="constant") for k in (h, dh))
    num, dnum = (correlate1d(x, k, axis=0, mode="constant") for k in (h, dh))
    reach = len(dh) // 2  # the times go on at the stretch's frame interval beyond its ends
    t = np.asarray(times, np.float64)
    t = np.concatenate([t[0] - step * np.arange(reach, 0, -1), t, t[-1] + step * np.arange(1, reach + 1)])
    per_frame = np.convolve(t, dh[::-1], mode="valid")  # seconds a frame, at each frame
    with np.errstate(invalid="ignore", divide="ignore"):
        velocity = (dnum * den - num * dden) / den ** 2  # pixels a frame
        speed = np.linalg.norm(velocity, axis=-1) / per_frame[:, None]
    return np.where((den[..., 0] > 1e-6) & (per_frame[:, None] > 0), speed, np.nan)


@functools.lru_cache(maxsize=64)
def trajectory_kernels(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights over frame offsets -R..R: ``h`` gives the value at a frame, ``dh`` its derivative per frame,
    of a trajectory drawn through its frames as the Catmull-Rom cubic (the curve through every frame
    with a continuous direction) and averaged over time with a Gaussian of ``sigma`` frames (the spread
    of a ``SMOOTH_S`` average). Computed on the continuous curve (quadrature, 256 points a frame), so the
    average and the speed are the same at any frame rate even when ``sigma`` is under a frame: a 3 Hz
    nod measures within 3 % from 15 to 60 fps (tests/test_frame_rate.py), where a Gaussian sampled at
    the frames let it read 8 % faster at 15 fps than at 30 and let more of the pose model's jitter
    through (README "Frame rates")."""
    sigma = max(float(sigma), 1e-3)
    reach = int(math.ceil(KERNEL_TRUNCATE * sigma)) + 2  # the Gaussian's reach plus the cubic's two frames
    tau = np.arange(-reach * _QUADRATURE, reach * _QUADRATURE + 1) / _QUADRATURE  # frames
    g = np.exp(-0.5 * (tau / sigma) ** 2)
    dg = -tau / sigma ** 2 * g
    offsets = np.arange(-reach, reach + 1)
    # at frame 0: the integral of g(-tau) x(tau) and of its derivative, x(tau) = sum_k x_k cubic(tau - k)
    # (g is even, g' odd); sums over the uniform grid, normalised below
    h = np.array([np.sum(g * _catmull_rom(tau - k)) for k in offsets])
    dh = np.array([np.sum(-dg * _catmull_rom(tau - k)) for k in offsets])
    return h / h.sum(), dh / np.dot(offsets, dh)  # exact for a straight line: value 1, slope 1 frame a frame


def _catmull_rom(u: np.ndarray) -> np.ndarray:
    """The Catmull-Rom (Keys, a = -1/2) interpolation kernel: the curve through the frames."""
    a = np.abs(u)
    return np.where(a <= 1, (1.5 * a - 2.5) * a * a + 1,
                    np.where(a < 2, ((-0.5 * a + 2.5) * a - 4) * a + 2, 0.0))


def frame_energy(keypoints: np.ndarray, ok: np.ndarray, times: np.ndarray, scale: float,
                 chunk: int = 4096) -> np.ndarray:
    """Motion energy per frame [T] (the largest region's median joint speed, smoothed over
    ``SMOOTH_S``); used to place segment edges where the movement starts and stops. Computed in
    chunks of ``chunk`` frames (with enough context to give the same values), so the working memory
    does not grow with the video's length."""
    n = len(times)
    parts = []
    pad, step = context_frames(times), frame_interval(times)  # the whole stretch's, for every chunk
    for p in pieces(0, n, chunk, pad):
        parts.append(_frame_energy(keypoints[p.lo:p.hi], ok[p.lo:p.hi], times[p.lo:p.hi], scale, step)[p.own])
    return np.concatenate(parts) if parts else np.zeros(0)


def _frame_energy(keypoints: np.ndarray, ok: np.ndarray, times: np.ndarray, scale: float, step: float) -> np.ndarray:
    n = len(times)
    if n < 2:
        return np.zeros(n)
    speed, both = _speeds(keypoints, ok, times, scale, step)
    speed = np.where(both, speed, np.nan)
    per_region = []
    for joints in REGION_JOINTS.values():
        vals = speed[:, joints]
        has = np.isfinite(vals).any(axis=1)
        med = np.zeros(len(vals))
        if has.any():
            med[has] = np.nanmedian(vals[has], axis=1)
        per_region.append(med)
    e = moving_average(np.max(per_region, axis=0), max(1.0, SMOOTH_S / step))
    return np.concatenate(([e[0]], e))


def motion_energy(energies: dict[str, float]) -> float:
    return max(energies.values()) if energies else 0.0


def surface_points(kp: np.ndarray, target: str) -> np.ndarray:
    """[T, P, 2] points standing for a target surface."""
    pts = [kp[:, TARGETS[target]]]
    for a, b, extent in _SURFACES.get(target, []):
        pa, pb = kp[:, _L.index(a)], kp[:, _L.index(b)]
        fr = np.linspace(0, extent, 6)[None, :, None]
        pts.append(pa[:, None] * (1 - fr) + pb[:, None] * fr)
    return np.concatenate(pts, axis=1)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    m = np.concatenate(([False], np.asarray(mask, bool), [False]))
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[::2], edges[1::2]))
