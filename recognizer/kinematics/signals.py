"""Pieces shared by the weight-free recognizer's action modules: the frame step, smoothing over a time
span, gaps bridged, runs of a mask, turning points of a zigzag (swings of an angle, strokes of a hand),
stroke counts of a path, settled points.

Everything takes times in seconds and converts to frames here, so that the rules above it stay in
physical units whatever the frame rate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import convolve1d

from common.frames import frame_interval


def step(times: np.ndarray) -> float:
    """The frame interval (``common.frames.frame_interval``: equal timestamps and holes do not count; 1/30
    for a track of one frame), over the first STEP_SAMPLE steps (a track's frame rate does not change along
    it; this keeps the cost bounded on long tracks)."""
    return frame_interval(times[:STEP_SAMPLE + 1])


STEP_SAMPLE = 1000


def reach(times: np.ndarray, i: int, seconds: float, direction: int) -> int:
    """The farthest frame from frame i, back (direction -1) or on (+1), whose time is within ``seconds`` of
    frame i's (i itself when none is): a look-back or look-ahead of a time span, not of a rounded number of
    frames (a span that is no whole number of frames was rounded: 0.3 s was 5 frames, 0.33 s, at 15 fps
    and 7, 0.28 s, at 25; and a count at the median frame step missed or added time where frames were
    dropped or repeated)."""
    if direction < 0:
        return min(i, int(np.searchsorted(times, times[i] - seconds - 1e-9, side="left")))
    return max(i, int(np.searchsorted(times, times[i] + seconds + 1e-9, side="right")) - 1)


def nearest(times: np.ndarray, when: float) -> int:
    """The frame whose time is nearest ``when`` (the earlier of two as near)."""
    k = int(np.clip(np.searchsorted(times, when), 1, len(times) - 1)) if len(times) > 1 else 0
    return k - 1 if k > 0 and when - times[k - 1] <= times[k] - when + 1e-9 else k


def read_at(x: np.ndarray, times: np.ndarray, when: np.ndarray) -> np.ndarray:
    """``x`` [T, ...] read at the times ``when`` (clipped to the track's): linear between the two frames
    around each time, NaN where one of them is missing (a time on a frame reads that frame)."""
    x = np.asarray(x, np.float64)
    when = np.clip(np.asarray(when, np.float64), times[0], times[-1])
    if len(times) < 2:
        return np.repeat(x[:1], len(when), axis=0)
    k = np.clip(np.searchsorted(times, when, side="right") - 1, 0, len(times) - 2)
    gap = times[k + 1] - times[k]
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.clip(np.where(gap > 0, (when - times[k]) / np.where(gap > 0, gap, 1.0), 0.0), 0.0, 1.0)
    f = f.reshape(f.shape + (1,) * (x.ndim - 1))
    lo, hi = x[k], x[k + 1]
    with np.errstate(invalid="ignore"):
        mixed = lo + f * (hi - lo)
    return np.where(f <= 0, lo, np.where(f >= 1, hi, mixed))


def windows(times: np.ndarray, a: int, b: int, seconds: float, hop_s: float) -> list[tuple[int, int]]:
    """Frame ranges [lo, hi) of the windows of ``seconds`` inside frames [a, b): starting at frame a's time
    and every ``hop_s`` after it, as long as a window fits before frame b - 1's interval ends (at least
    one), each holding the frames whose times lie in [start, start + seconds). The windows start at the
    same times and span the same time at any frame rate (counted in frames, the hop was 3 frames, 0.2 s,
    at 15 fps and 15, 0.25 s, at 60, so windows began at other moments of the same movement)."""
    if b <= a:
        return []
    t0, end = float(times[a]), float(times[b - 1]) + step(times)
    n = max(1, int(np.floor((end - t0 - seconds) / hop_s + 1e-9)) + 1)
    starts = t0 + hop_s * np.arange(n)
    lo = np.clip(np.searchsorted(times, starts - 1e-9, side="left"), a, b)
    hi = np.clip(np.searchsorted(times, starts + seconds - 1e-9, side="left"), a, b)
    return [(int(p), int(q)) for p, q in zip(lo, hi) if q > p]


def box(seconds: float, times: np.ndarray) -> np.ndarray:
    """Weights of a centred average over ``seconds`` at the track's frame rate: each frame weighs the part
    of its own frame interval that the span covers, so the span is ``seconds`` at any rate (the two end
    frames count in part), never a rounded number of frames (0.1 s was 2 frames, 0.13 s, at 15 fps and
    0.08 s at 25), and never off centre (an even number of frames shifted the average by half a frame)."""
    half = max(1.0, seconds / step(times)) / 2
    reach = int(np.ceil(half - 0.5 - 1e-9))
    w = np.clip(half + 0.5 - np.abs(np.arange(-reach, reach + 1)), 0.0, 1.0)
    return w / w.sum()


def smooth(x: np.ndarray, times: np.ndarray, seconds: float) -> np.ndarray:
    """Moving average of ``x`` [T, ...] over ``seconds`` (``box``; along the first axis; the ends repeat)."""
    k = box(seconds, times)
    if len(k) <= 1 or len(x) < 2:
        return np.asarray(x, np.float64)
    return convolve1d(np.asarray(x, np.float64), k, axis=0, mode="nearest")


def fill_gaps(x: np.ndarray, times: np.ndarray, max_gap_s: float) -> np.ndarray:
    """``x`` [T] or [T, D] with NaN runs of at most ``max_gap_s`` interpolated linearly (longer ones
    and the ends stay NaN)."""
    x = np.array(x, np.float64)
    flat = x.reshape(len(x), -1)
    for d in range(flat.shape[1]):
        col = flat[:, d]
        ok = np.isfinite(col)
        idx = np.flatnonzero(ok)
        if len(idx) < 2 or ok.all():
            continue
        missing = np.flatnonzero(~ok)
        k = np.searchsorted(idx, missing)
        inner = (k > 0) & (k < len(idx))
        lo, hi = idx[np.clip(k - 1, 0, len(idx) - 1)], idx[np.clip(k, 0, len(idx) - 1)]
        short = inner & (times[hi] - times[lo] <= max_gap_s)
        m = missing[short]
        col[m] = np.interp(times[m], times[idx], col[idx])
    return flat.reshape(x.shape)


def smooth_valid(x: np.ndarray, times: np.ndarray, seconds: float) -> np.ndarray:
    """Moving average over ``seconds`` of a signal with NaN gaps: the mean of the valid samples in each
    window (NaN where the window holds none, or where the sample itself is missing)."""
    x = np.asarray(x, np.float64)
    ok = np.isfinite(x)
    k = box(seconds, times)
    if len(k) <= 1 or len(x) < 2:
        return x.copy()
    s = convolve1d(np.where(ok, x, 0.0), k, axis=0, mode="nearest")
    c = convolve1d(ok.astype(np.float64), k, axis=0, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = s / c
    return np.where(ok & (c > 0), out, np.nan)


def runs(mask: np.ndarray, times: np.ndarray, gap_s: float = 0.0, min_s: float = 0.0) -> list[tuple[int, int]]:
    """Frame runs [a, b) where ``mask`` holds, gaps of up to ``gap_s`` bridged, lasting at least ``min_s``
    (a run's length counts one frame step for its last frame)."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return []
    dt = step(times)
    out, start, last = [], idx[0], idx[0]
    for i in idx[1:]:
        if times[i] - times[last] > max(gap_s, 1.5 * dt):
            out.append((start, last + 1))
            start = i
        last = i
    out.append((start, last + 1))
    return [(int(a), int(b)) for a, b in out if times[b - 1] - times[a] + dt >= min_s - 1e-9]


def turning_points(x: np.ndarray, hysteresis: float) -> list[int]:
    """Turning points of ``x``: a new one each time it moves ``hysteresis`` back from its last
    extreme (the first is where the first such movement starts; the last is the final extreme)."""
    lo = hi = 0
    direction = 0
    pivots: list[int] = []
    extreme = 0
    for i in range(1, len(x)):
        if direction == 0:
            hi = i if x[i] > x[hi] else hi
            lo = i if x[i] < x[lo] else lo
            if x[hi] - x[lo] >= hysteresis:
                pivots, direction, extreme = ([lo], 1, hi) if hi > lo else ([hi], -1, lo)
        elif direction * (x[i] - x[extreme]) >= 0:
            extreme = i
        elif direction * (x[extreme] - x[i]) >= hysteresis:
            pivots.append(extreme)
            direction, extreme = -direction, i
    return pivots + [extreme] if direction else []


@dataclass
class Swing:
    """A movement of a signal from one turning point to the next: ``start`` (the frame where it has
    left the first by the settle tolerance), ``end`` (where it is that close to the next), the signed
    ``amplitude`` and the turning points' frames."""
    channel: int
    start: int
    end: int
    amplitude: float
    peak_from: int
    peak_to: int


def swings(x: np.ndarray, hysteresis: float, settle_fraction: float, min_tolerance: float,
           channel: int = 0) -> list[Swing]:
    """The swings of ``x`` between turning points of the given hysteresis. A swing starts when ``x`` has
    left its turning point by ``settle_fraction`` of the swing (at least ``min_tolerance``) and ends when
    it is that close to the next one."""
    pivots = turning_points(x, hysteresis)
    out = []
    for p, q in zip(pivots[:-1], pivots[1:]):
        amp = float(x[q] - x[p])
        if abs(amp) < hysteresis:
            continue
        tol = max(settle_fraction * abs(amp), min_tolerance)
        seg = x[p:q + 1]
        left = np.flatnonzero(np.abs(seg - x[p]) > tol)
        arrived = np.flatnonzero(np.abs(seg - x[q]) <= tol)
        start = p + (int(left[0]) - 1 if len(left) else 0)
        end = p + (int(arrived[0]) if len(arrived) else q - p)
        out.append(Swing(channel, max(p, start), max(end, start + 1), amp, p, q))
    return out


def strokes(path: np.ndarray, times: np.ndarray, stroke: float) -> dict:
    """Repeated back-and-forth strokes of a path [T, 2] (or [T]) along its main direction: turning points
    of hysteresis ``stroke`` (same units as the path). Returns the number of strokes, their typical size
    (the median distance between turning points), their rate (full cycles per second) and the frames
    (of ``path``) where they begin and end (``_stroke_edges``)."""
    p = np.asarray(path, np.float64)
    p = p[:, None] if p.ndim == 1 else p
    ok = np.isfinite(p).all(1)
    if ok.sum() < 4:
        return {"strokes": 0, "spread": 0.0, "rate_hz": 0.0, "first": 0, "last": 0}
    p, t = p[ok], times[ok]
    centred = p - p.mean(0)
    if p.shape[1] > 1:
        u = np.linalg.svd(centred, full_matrices=False)[2][0]
        x = centred @ u
    else:
        x = centred[:, 0]
    pivots = turning_points(x, stroke)
    n = max(0, len(pivots) - 1)
    span = float(t[-1] - t[0])
    size = float(np.median(np.abs(np.diff(x[pivots])))) if n else 0.0
    first, last = _stroke_edges(x, pivots) if n else (0, 0)
    seen = np.flatnonzero(ok)
    return {"strokes": int(n), "spread": size, "rate_hz": n / 2 / span if span > 0 else 0.0,
            "first": int(seen[first]), "last": int(seen[last])}


STROKE_EDGE = 0.1  # of a stroke: the strokes begin where the path has left its first extreme by this much


def _stroke_edges(x: np.ndarray, pivots: list[int]) -> tuple[int, int]:
    """Where the strokes begin and end: the last sample still within STROKE_EDGE of the first stroke from
    the first turning point, and the first within that of the last stroke from the final extreme (a
    turning point on a still stretch lies anywhere along it: the first such sample, or the last)."""
    p, q = pivots[0], pivots[1]
    tol = STROKE_EDGE * abs(x[q] - x[p])
    first = p + int(np.flatnonzero(np.abs(x[p:q + 1] - x[p]) <= tol)[-1])
    p, q = pivots[-2], pivots[-1]
    tol = STROKE_EDGE * abs(x[q] - x[p])
    last = p + int(np.flatnonzero(np.abs(x[p:q + 1] - x[q]) <= tol)[0])
    return first, last


def settled(point: np.ndarray, times: np.ndarray, window_s: float, max_move: float) -> np.ndarray:
    """[T] frames where ``point`` [T, D] moved less than ``max_move`` between the ends of the
    ``window_s`` around them, the point read at those times (``read_at``; the track's ends clip the
    window): the window spans ``window_s`` at any frame rate (a half-window rounded to frames made 0.3 s
    span 0.27 s at 15 fps, 0.32 s at 25, 0.33 s at 30 and 0.3 s at 60)."""
    out = np.zeros(len(times), bool)
    if len(times) < 2:
        return out
    half = max(window_s / 2, step(times))
    before, after = read_at(point, times, times - half), read_at(point, times, times + half)
    with np.errstate(invalid="ignore"):
        moved = np.linalg.norm(after - before, axis=-1)
    return np.isfinite(moved) & (moved < max_move)


def movement_bounds(x: np.ndarray, times: np.ndarray, p: int, q: int, fraction: float = 0.12) -> tuple[int, int]:
    """The frames [start, end] of the movement between turning points p and q of ``x``: around its
    fastest frame, as far as the speed toward q stays above ``fraction`` of that peak (a slow drift
    before or after a movement is not part of it; a minimum-jerk movement passes 12 % of its peak
    speed 9 % of its duration from each end)."""
    if q <= p + 1:
        return p, q
    v = np.gradient(x[p:q + 1], times[p:q + 1]) * np.sign(x[q] - x[p])
    v = np.where(np.isfinite(v), v, 0.0)
    k = int(np.argmax(v))
    floor = fraction * v[k]
    i = k
    while i > 0 and v[i - 1] > floor:
        i -= 1
    j = k
    while j < len(v) - 1 and v[j + 1] > floor:
        j += 1
    return p + i, p + j


def movements(x: np.ndarray, times: np.ndarray, p: int, q: int, pause_s: float, min_amplitude: float,
              fraction: float = 0.12) -> list[tuple[int, int]]:
    """The movements [start, end] between turning points p and q of ``x``, split where it pauses: its
    speed toward q stays under ``fraction`` of the peak for ``pause_s`` or longer (a return to rest and the
    next movement away in the same direction are two movements). Each is bounded as in
    ``movement_bounds``; parts moving less than ``min_amplitude`` (jitter during a pause) are dropped."""
    if q <= p + 1:
        return [(p, q)]
    v = np.gradient(x[p:q + 1], times[p:q + 1]) * np.sign(x[q] - x[p])
    v = np.where(np.isfinite(v), v, 0.0)
    moving = v > fraction * v.max()
    parts = []
    quiet = runs(~moving, times[p:q + 1], 0.0, pause_s)
    cuts = [(a, b) for a, b in quiet if a > 0 and b < len(v)]
    bounds = [0] + [c for a, b in cuts for c in (a, b)] + [len(v)]
    for a, b in zip(bounds[::2], bounds[1::2]):
        if b - a >= 2 and moving[a:b].any():
            i, j = movement_bounds(x, times, p + a, p + b - 1, fraction)
            if abs(x[j] - x[i]) >= min_amplitude:
                parts.append((i, j))
    return parts or [movement_bounds(x, times, p, q, fraction)]
