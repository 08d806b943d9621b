"""Stable keypoints from a pose model's per-frame detections, for offline analysis of a whole track.

Per-frame pose models are noisy in two ways that a micro-action recognizer has never seen in its
training data (AlphaPose keypoints):

* **Source switches.** A joint's value comes from different models over time (``pose.types``): e.g.
  a fingertip from MediaPipe's hand model while it finds the hand, from the body model's index
  landmark when it does not. Each switch is a jump of tens of pixels.
* **Jitter.** On a perfectly still person (one frame repeated), MediaPipe's face and hand points
  wander by several pixels a frame, and the face model on a masked face alternates between two fits.

What is done, in this order (each a pure function of the raw track; names in ``quotes`` are
``StabilizerSettings`` fields):

0. **Part models checked against the body model.** Face and hand models sometimes produce fits that
   the body model contradicts: on a masked face MediaPipe's face mesh flips every frame between two
   fits 27 px apart while the body model's nose stays put. For each part (face; each hand) the offset
   between the part model's points and the body model's points for the same place (nose and eyes;
   the wrist) is followed over time; where it departs from its running mean (over
   ``agree_window_s`` on each side) by more than ``agree_tol`` torso lengths, the part's joints are
   kept but their confidences are multiplied by ``uncertain_score`` (below the 0.5 that motion
   measures need: they do not count as movement).
1. **Continuity across source switches.** At each switch (two frames of different sources less than
   ``max_switch_gap_s`` apart) the step between the two sources is measured by a least-squares fit of
   one straight line plus a step over ``fit_s`` seconds of each side (so the joint's own motion
   is not taken for the step). The stretch from the less trusted source (fallback < derived <
   detected) is shifted by that step: fully at the switch, for ``hold_s`` seconds, then fading out
   over ``fade_s`` seconds (raised cosine); a short stretch between two switches gets the step
   interpolated between its two ends. The shifted joints' confidences are multiplied by
   ``shifted_score`` (their position is partly inferred).
2. **Adaptive non-causal smoothing** (the One-Euro filter's idea, without its lag: the whole track is
   available): every joint is smoothed twice with a Gaussian over time, strongly (``sigma_slow_s``) and
   lightly (``sigma_fast_s``), and the two are blended per frame by the joint's speed measured on the
   strong version (averaged over ``speed_sigma_s``, in torso lengths per second, the torso length
   averaged over ``scale_sigma_s``): below ``speed_slow`` the strong one (a still person reads as
   still), above ``speed_fast`` the light one (a nod keeps its amplitude), linear in between.
   Missing frames are not filled: smoothing only averages frames where the joint was seen
   (normalised convolution). Measured effects: docs/POSE_QUALITY.md.

Every step looks at most ``context_frames()`` frames to either side, so ``stabilize_track`` works the
track a piece at a time with that much context (``common.chunks``; long videos need bounded memory) and
gets exactly the values of one pass over the whole shot.
Left/right hand swaps are repaired where the pose backend still has both models' outputs (see
``pose.mediapipe_backend``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from common.chunks import pieces
from common.diskarray import disk_array
from common.frames import frame_rate
from common.shots import shot_ranges
from definitions.body import torso_lengths
from definitions.layout import hand_joints, ma52_layout

from .types import DERIVED, DETECTED, FALLBACK, MISSING, PersonTrack

# trust of each source: a switch shifts the stretch of the less trusted one
TRUST = {DETECTED: 3, DERIVED: 2, FALLBACK: 1, MISSING: 0}
TRUNCATE = 3.0  # Gaussian kernels end at 3 sigma
MIN_FIT_FRAMES = 2  # a step fitted with a slope needs two frames on each side, whatever the frame rate


# Part models checked against the body model: (the part's joints, the body model's joints for the same place)
PART_CHECKS = {
    "face": (("nose_bridge", "nose_bottom", "right_eye_outer_corner", "left_eye_outer_corner", "upper_lip_top",
              "lower_lip_bottom"), ("nose", "left_eye", "right_eye")),
    "left hand": (hand_joints("left"), ("left_wrist",)),
    "right hand": (hand_joints("right"), ("right_wrist",)),
}


@dataclass(frozen=True)
class StabilizerSettings:
    agreement: bool = True
    agree_tol: float = 0.045  # torso lengths
    agree_window_s: float = 0.25  # half-width of the running mean of the part-to-body offset
    uncertain_score: float = 0.45
    continuity: bool = True
    smoothing: bool = True
    fit_s: float = 0.133  # the step at a switch is fitted over this long on each side (4 frames at 30 fps)
    max_switch_gap_s: float = 0.25
    hold_s: float = 1.0
    fade_s: float = 1.0
    shifted_score: float = 0.8
    sigma_slow_s: float = 0.067
    sigma_fast_s: float = 0.033
    speed_slow: float = 0.025  # torso lengths per second
    speed_fast: float = 0.09
    speed_sigma_s: float = 0.133  # the speed that chooses between them is averaged over this
    scale_sigma_s: float = 1.0  # the local body scale (torso length) is averaged over this

    def to_dict(self) -> dict:
        return asdict(self)


MEDIAPIPE = StabilizerSettings()
# AlphaPose keypoints are what MMN was trained on: no switches to repair, and no smoothing by default
# (its jitter is part of what the model saw).
ALPHAPOSE = StabilizerSettings(agreement=False, smoothing=False)
NONE = StabilizerSettings(agreement=False, continuity=False, smoothing=False)


def stabilizer_for(backend: str, fps: float, raw: bool = False) -> "Stabilizer":
    """The usual stabiliser for a pose backend's keypoints (``raw``: none at all)."""
    if raw:
        return Stabilizer(NONE, fps)
    return Stabilizer(MEDIAPIPE if backend == "mediapipe" else ALPHAPOSE, fps)


class Stabilizer:
    """Stabilises tracks sampled at ``fps`` (the video's nominal rate sets the kernels' sizes)."""

    def __init__(self, settings: StabilizerSettings, fps: float):
        self.settings = settings
        self.fps = float(fps) if fps and math.isfinite(fps) and fps > 0 else 30.0
        s = settings
        self._sigma_slow = s.sigma_slow_s * self.fps
        self._sigma_fast = s.sigma_fast_s * self.fps
        self._sigma_scale = s.scale_sigma_s * self.fps
        self._sigma_speed = s.speed_sigma_s * self.fps
        self._agree_half = max(1, int(round(s.agree_window_s * self.fps)))
        self._fit = max(MIN_FIT_FRAMES, int(round(s.fit_s * self.fps)))
        self._reach = int(math.ceil((s.hold_s + s.fade_s + s.max_switch_gap_s) * self.fps)) + 2 * self._fit + 2

    def for_times(self, times: np.ndarray) -> "Stabilizer":
        """The same stabiliser at the frame rate of ``times`` (``common.frames.frame_rate``) when that
        differs from the one it was made for (by 0.5 % or more): the container's nominal rate is wrong
        for videos with holes in their timestamps, and a variable frame rate's average is not its
        frames' usual spacing."""
        rate = frame_rate(times, self.fps)
        return self if abs(rate - self.fps) < 0.005 * self.fps else Stabilizer(self.settings, rate)

    @property
    def active(self) -> bool:
        return self.settings.agreement or self.settings.continuity or self.settings.smoothing

    def settings_record(self) -> dict:
        """The settings and the frame rate the kernels were sized for, as kept with the tracks they stabilised
        (``PoseResult.stabilizer``: tracks stabilised otherwise are done again from their raw values)."""
        return dict(self.settings.to_dict(), fps=round(self.fps, 4))

    def context_frames(self) -> int:
        """Frames on each side that an output frame depends on (at most)."""
        k = lambda sigma: int(TRUNCATE * sigma + 0.5) + 1  # noqa: E731
        smooth = k(self._sigma_slow) + k(self._sigma_speed) + k(self._sigma_fast) + k(self._sigma_scale) + 2
        return self._reach + smooth + self._agree_half + k(self._sigma_scale)

    def __call__(self, keypoints: np.ndarray, scores: np.ndarray, sources: np.ndarray,
                 times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stabilised (keypoints [T, V, 2] float32, scores [T, V] float32) of a stretch of frames."""
        kp = np.asarray(keypoints, np.float64).copy()
        sc = np.asarray(scores, np.float32).copy()
        src = np.asarray(sources)
        times = np.asarray(times, np.float64)
        if self.settings.agreement:
            sc *= np.where(self._disagreeing(kp, src), self.settings.uncertain_score, 1.0).astype(np.float32)
        if self.settings.continuity:
            shifted = self._continuity(kp, src, times)
            sc[shifted] *= self.settings.shifted_score
        if self.settings.smoothing and len(kp) >= 2:
            kp = self._smooth(kp)
        return kp.astype(np.float32), sc

    # -- 0. agreement of part models with the body model -----------------------------------------
    def _disagreeing(self, kp: np.ndarray, src: np.ndarray) -> np.ndarray:
        """[T, V] joints of a part model (face, hand) in frames where the part's offset from the body
        model's own points for the same place (BlazePose nose and eyes; wrist) departs by more than
        ``agree_tol`` torso lengths from its running mean: the part model is unsure there (a face
        mesh on a masked face flips between two fits every frame while the body model's nose stays)."""
        import warnings

        L = ma52_layout()
        out = np.zeros(src.shape, bool)
        scale = self._local_scale(kp)
        h = self._agree_half
        for joints, reference in PART_CHECKS.values():
            part, ref = L.indices(*joints), L.indices(*reference)
            found = (src[:, part] == DETECTED).all(1)
            if found.sum() < 3:
                continue
            offset = kp[:, part].mean(1) - kp[:, ref].mean(1)  # [T, 2]
            offset[~found] = np.nan
            padded = np.pad(offset, ((h, h), (0, 0)), constant_values=np.nan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN stretches
                mean = np.nanmean(np.lib.stride_tricks.sliding_window_view(padded, 2 * h + 1, axis=0), axis=-1)
            with np.errstate(invalid="ignore"):
                off = np.linalg.norm(offset - mean, axis=-1) / scale > self.settings.agree_tol
            out[np.ix_(off & found, part)] = True
        return out

    # -- 1. continuity ---------------------------------------------------------------------------
    def _continuity(self, kp: np.ndarray, src: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Shift stretches of less trusted sources in place; the [T, V] mask of shifted joints."""
        valid = np.isfinite(kp).all(-1)
        shifted = np.zeros(valid.shape, bool)
        for j in range(kp.shape[1]):
            frames = np.flatnonzero(valid[:, j])
            if len(frames) < 2:
                continue
            s = src[frames, j]
            if (s == s[0]).all():
                continue
            corr = self._joint_correction(kp[frames, j], s, times[frames])
            moved = np.abs(corr).sum(-1) > 0
            kp[frames[moved], j] += corr[moved]
            shifted[frames[moved], j] = True
        return shifted

    def _joint_correction(self, x: np.ndarray, s: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Offsets [n, 2] for one joint's valid frames (positions x [n, 2], sources s, times t)."""
        st = self.settings
        n = len(x)
        # runs of one source among the valid frames, broken where frames are too far apart in time
        brk = np.flatnonzero((s[1:] != s[:-1]) | (np.diff(t) > st.max_switch_gap_s)) + 1
        starts = np.concatenate(([0], brk))
        ends = np.concatenate((brk, [n]))
        # steps at switches between consecutive runs: key = index of the first frame of the right run
        steps: dict[int, np.ndarray] = {}
        for r in range(1, len(starts)):
            b = starts[r]
            if s[b] == s[b - 1] or t[b] - t[b - 1] > st.max_switch_gap_s:
                continue
            lo, hi = max(starts[r - 1], b - self._fit), min(ends[r], b + self._fit)
            steps[b] = _step(x[lo:hi], t[lo:hi], b - lo)  # right minus left
        corr = np.zeros_like(x)
        for r in range(len(starts)):
            a, b = starts[r], ends[r]
            trust = TRUST.get(int(s[a]), 0)
            left = a in steps and TRUST.get(int(s[a - 1]), 0) > trust
            right = b in steps and TRUST.get(int(s[b]), 0) > trust
            if not (left or right):
                continue
            tt = t[a:b]
            reach = st.hold_s + st.fade_s
            d0 = np.minimum(tt - t[a - 1], reach) if left else np.full(len(tt), reach)
            d1 = np.minimum(t[b] - tt, reach) if right else np.full(len(tt), reach)
            w0 = self._envelope(d0) if left else np.zeros(len(tt))
            w1 = self._envelope(d1) if right else np.zeros(len(tt))
            # the stretch must move onto the trusted side: minus the step on its left, plus on its right
            off0 = -steps[a] if left else np.zeros(2)
            off1 = steps[b] if right else np.zeros(2)
            # between two ends in reach: interpolated (each end met exactly); with one end in reach:
            # that end's step, held, then faded (alpha depends on the far end only while it is in reach)
            num, den = w1 * d0, w1 * d0 + w0 * d1
            alpha = np.divide(num, den, out=np.zeros(len(tt)), where=den > 0)
            corr[a:b] = ((1 - alpha) * w0)[:, None] * off0 + (alpha * w1)[:, None] * off1
        return corr

    def _envelope(self, d: np.ndarray) -> np.ndarray:
        """1 up to ``hold_s`` from the switch, then a raised-cosine fade to 0 over ``fade_s``."""
        st = self.settings
        u = np.clip((d - st.hold_s) / max(st.fade_s, 1e-9), 0.0, 1.0)
        return 0.5 * (1.0 + np.cos(np.pi * u))

    # -- 2. smoothing ----------------------------------------------------------------------------
    def _smooth(self, kp: np.ndarray) -> np.ndarray:
        valid = np.isfinite(kp).all(-1)
        slow = _gaussian(kp, valid, self._sigma_slow)
        fast = _gaussian(kp, valid, self._sigma_fast)
        scale = self._local_scale(kp)  # [T]
        with np.errstate(invalid="ignore"):
            speed = np.linalg.norm(np.gradient(slow, axis=0), axis=-1) * self.fps / scale[:, None]  # [T, V]
        speed_ok = np.isfinite(speed)
        speed = _gaussian(np.where(speed_ok, speed, 0.0)[..., None], speed_ok, self._sigma_speed)[..., 0]
        st = self.settings
        w = np.clip((speed - st.speed_slow) / max(st.speed_fast - st.speed_slow, 1e-9), 0.0, 1.0)
        w = np.where(np.isfinite(w), w, 0.0)[..., None]
        out = w * fast + (1.0 - w) * slow
        return np.where(valid[..., None], out, np.nan)

    def _local_scale(self, kp: np.ndarray) -> np.ndarray:
        """Torso length [pixels] per frame (``definitions.body.torso_lengths``), averaged over
        ``scale_sigma_s``: the unit of the speeds above."""
        length = torso_lengths(kp)
        ok = np.isfinite(length) & (length > 1)
        out = _gaussian(np.where(ok, length, 0.0)[:, None, None], ok[:, None], self._sigma_scale)[:, 0, 0]
        return np.where(np.isfinite(out) & (out > 1), out, np.nan)


def _step(x: np.ndarray, t: np.ndarray, split: int) -> np.ndarray:
    """Least-squares step [2] at index ``split`` of positions x [m, 2] over times t: the model is one
    straight line plus a step (so steady motion is not counted); with too few frames for a slope,
    the difference of the two sides' means."""
    side = (np.arange(len(x)) >= split).astype(np.float64)
    if len(x) >= 4:
        tc = t - t[split]
        A = np.stack([np.ones(len(x)), tc, side], axis=1)
        coef, *_ = np.linalg.lstsq(A, x, rcond=None)
        return coef[2]
    return x[side > 0].mean(0) - x[side == 0].mean(0)


def _gaussian(x: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing over axis 0 of x [T, V, C] using only the frames where ``valid`` [T, V]
    (normalised convolution); NaN where no valid frame is in reach."""
    if sigma <= 0:
        return np.where(valid[..., None], x, np.nan)
    w = valid.astype(np.float64)[..., None]
    num = gaussian_filter1d(np.where(valid[..., None], x, 0.0), sigma, axis=0, mode="constant", truncate=TRUNCATE)
    den = gaussian_filter1d(w, sigma, axis=0, mode="constant", truncate=TRUNCATE)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-6, num / den, np.nan)


def stabilize_track(track: PersonTrack, times: np.ndarray, stabilizer: Stabilizer, scratch_dir=None,
                    chunk: int = 4096, cuts=()) -> PersonTrack:
    """The track with stabilised keypoints and scores (raw ones kept in ``raw_keypoints`` /
    ``raw_scores``), each shot on its own (nothing is smoothed across a camera cut, ``cuts``), computed
    ``chunk`` frames at a time with ``context_frames()`` of context on each side (the same values as
    one pass over the whole shot; bounded memory)."""
    if not stabilizer.active:
        return track
    n = len(track.keypoints)
    kp = disk_array(track.keypoints.shape, np.float32, fill=np.nan, scratch_dir=scratch_dir)
    sc = disk_array(track.scores.shape, np.float32, scratch_dir=scratch_dir)
    ctx = stabilizer.context_frames()
    for first, last in shot_ranges(cuts, n):
        for p in pieces(first, last, chunk, ctx):
            k, s = stabilizer(track.keypoints[p.lo:p.hi], track.scores[p.lo:p.hi], track.sources[p.lo:p.hi],
                              times[p.lo:p.hi])
            kp[p.start:p.stop], sc[p.start:p.stop] = k[p.own], s[p.own]
    return PersonTrack(track.id, kp, sc, track.sources, track.present,
                       raw_keypoints=track.keypoints, raw_scores=track.scores)


def ensure_stabilized(result, stabilizer: Stabilizer, scratch_dir=None) -> bool:
    """Stabilise a pose result's tracks (``pose.result.PoseResult``, e.g. read back from a cache) from
    their raw values when they were stabilised with other settings; True when they were. The kernels'
    sizes follow the result's own frame times (``Stabilizer.for_times``)."""
    stabilizer = stabilizer.for_times(result.times)
    if result.stabilizer == stabilizer.settings_record():
        return False
    tracks = []
    for t in result.tracks:
        raw_kp = t.keypoints if t.raw_keypoints is None else t.raw_keypoints
        raw_sc = t.scores if t.raw_scores is None else t.raw_scores
        tracks.append(stabilize_track(PersonTrack(t.id, raw_kp, raw_sc, t.sources, t.present), result.times,
                                      stabilizer, scratch_dir, cuts=result.cuts))
    result.tracks, result.stabilizer = tracks, stabilizer.settings_record()
    return True
