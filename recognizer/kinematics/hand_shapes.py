"""What a hand's six points say about its shape and its small repeated movements, per frame or over a
stay (``hands``): the fingertips' spread (a fist gathers them), the index finger standing out from the
others (pointing), and strokes of the hand or the fingertips (patting, scratching, rubbing, waving,
gesturing).

Shapes are compared with the same hand's usual shape in the track (its median), not with absolute
sizes: a hand seen end-on looks short whatever it does, but its fingertips still gather in a fist
(relaxed fingertips lie about 35 mm from their centre, a fist's 20 mm; seen end-on 27 and 20 mm).
"""
from __future__ import annotations

import numpy as np

from .hands import INDEX, MIDDLE, PINKY, RING, TIPS, Hand
from .signals import runs, smooth_valid, strokes

SHAPE_SMOOTH_S = 0.3  # fingertip jitter (3.5 mm) on a 30 mm spread: 10 % a frame, 3 % averaged over 0.3 s
MIN_TIPS = 4


def tip_spread(hand: Hand, times: np.ndarray) -> np.ndarray:
    """[T] the fingertips' RMS distance from their centre (torso lengths; NaN with fewer than MIN_TIPS
    seen), averaged over SHAPE_SMOOTH_S."""
    tips = hand.points[:, TIPS]
    ok = np.isfinite(tips).all(-1)
    with np.errstate(invalid="ignore"):
        centre = np.nansum(np.where(ok[..., None], tips, 0.0), axis=1) / ok.sum(1)[:, None]
        d2 = np.nansum(np.where(ok, ((tips - centre[:, None]) ** 2).sum(-1), 0.0), axis=1) / ok.sum(1)
    spread = np.where(ok.sum(1) >= MIN_TIPS, np.sqrt(d2), np.nan)
    return smooth_valid(spread, times, SHAPE_SMOOTH_S)


def index_out(hand: Hand, times: np.ndarray) -> np.ndarray:
    """[T] how far the index fingertip stands out from the middle, ring and little fingertips' centre
    (torso lengths), averaged over SHAPE_SMOOTH_S: a pointing hand's index is 40-90 mm out, a relaxed
    hand's 20 mm."""
    others = hand.points[:, [MIDDLE, RING, PINKY]]
    ok = np.isfinite(others).all(-1).all(-1) & np.isfinite(hand.points[:, INDEX]).all(-1)
    d = np.linalg.norm(hand.points[:, INDEX] - others.mean(1), axis=-1)
    return smooth_valid(np.where(ok, d, np.nan), times, SHAPE_SMOOTH_S)


def tips_centre(hand: Hand) -> np.ndarray:
    """[T, 2] the fingertips' centre (torso frame), else the hand's centre."""
    tips = hand.points[:, TIPS]
    ok = np.isfinite(tips).all(-1)
    with np.errstate(invalid="ignore"):
        c = np.nansum(np.where(ok[..., None], tips, 0.0), axis=1) / ok.sum(1)[:, None]
    return np.where((ok.sum(1) >= 3)[:, None], c, hand.centre)


def stroke_info(path: np.ndarray, times: np.ndarray, a: int, b: int, stroke: float, smooth_s: float = 0.05) -> dict:
    """Strokes (``signals.strokes``) of a path [T, 2] or [T] over frames [a, b), lightly smoothed first."""
    if b - a < 4:
        return {"strokes": 0, "spread": 0.0, "rate_hz": 0.0}
    seg = smooth_valid(np.asarray(path[a:b], np.float64), times[a:b], smooth_s)
    return strokes(seg, times[a:b], stroke)


def count_movements(path: np.ndarray, times: np.ndarray, a: int, b: int, moving: float, least: float) -> int:
    """How many separate movements the path [T, 2] makes over frames [a, b): runs where its speed
    (averaged over 0.1 s) is above ``moving`` (a second each, gaps of 0.1 s bridged) that carry it at
    least ``least`` from where they start."""
    if b - a < 4:
        return 0
    p = smooth_valid(np.asarray(path[a:b], np.float64), times[a:b], 0.1)
    v = np.linalg.norm(np.gradient(p, times[a:b], axis=0), axis=-1)
    with np.errstate(invalid="ignore"):
        fast = np.isfinite(v) & (v > moving)
    n = 0
    for i, j in runs(fast, times[a:b], 0.1, 0.0):
        seg = p[i:j]
        ok = np.isfinite(seg).all(1)
        if ok.sum() >= 2 and np.linalg.norm(seg[ok][-1] - seg[ok][0]) >= least:
            n += 1
    return n
