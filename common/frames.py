"""Frame times: the one home for "the frame interval of a stretch", and for repairing times that do not
increase.

Everything that turns seconds into frames (smoothing widths, minimum durations, the end of a last frame)
asks ``frame_interval``. It is the median step between consecutive frames that have different times,
so frames with equal timestamps (a container that gives two frames one time) do not make it 0, and a
hole in the timestamps (frames lost or never recorded) does not stretch it.
"""
from __future__ import annotations

import numpy as np

DEFAULT_INTERVAL_S = 1 / 30  # a stretch of fewer than two distinct times: the most common video rate
TIME_EPS = 1e-6  # seconds: steps at or below this are equal times (containers keep microseconds at best)
MIN_GAP_S = 1.0  # a step this long (half a micro-action), and of GAP_FACTOR frame intervals, is a hole
GAP_FACTOR = 4.0


def frame_interval(times, default: float = DEFAULT_INTERVAL_S) -> float:
    """The typical time between consecutive frames [s] of a stretch of frame times: the median of the
    steps between frames whose times differ (equal times and holes do not count); ``default`` when the
    stretch has fewer than two distinct times."""
    t = np.asarray(times, np.float64)
    if len(t) < 2:
        return default
    dt = np.diff(t)
    dt = dt[np.isfinite(dt) & (dt > TIME_EPS)]
    return float(np.median(dt)) if dt.size else default


FRAME_SLACK = 0.1  # of a frame: how far seconds / interval may miss a whole number of frames (see below)


def frames_within(seconds: float, step: float) -> int:
    """The most frame intervals that fit in ``seconds`` (at least 1): a gap allowed to last at most
    ``seconds`` spans at most this many frames, at any rate. (Rounding to the nearest count let 0.25 s be
    8 frames, 0.267 s, at 30 fps, and 15 frames, 0.25 s, at 60: one movement at 30 fps, two at 60.)
    ``FRAME_SLACK``: containers round frame times (1/28 s is stored as 0.035714 s), so 0.5 s at 28 fps
    reads 14.0001 intervals, not 14; the slack stays under the quarter frames that 0.25 s makes at 15 fps
    (3.75). Times rounded to milliseconds (Matroska) put the median interval up to 1.5 % off, a frame in
    70: a limit that lands on a whole number of frames can then move by one."""
    return max(1, int(np.floor(seconds / step + FRAME_SLACK)))


def frames_covering(seconds: float, step: float) -> int:
    """The fewest frames whose intervals span ``seconds`` (at least 1): a stretch that must last at least
    ``seconds``, or the frames within ``seconds`` of a moment, have this many (``FRAME_SLACK`` as above)."""
    return max(1, int(np.ceil(seconds / step - FRAME_SLACK)))


def nominal_interval(fps: float | None) -> float:
    """The frame interval [s] a container's nominal frame rate gives (``DEFAULT_INTERVAL_S`` when the rate is
    unknown: None or not above 0); for when no frame times are known yet."""
    return 1.0 / fps if fps and fps > 0 else DEFAULT_INTERVAL_S


def frame_rate(times, default: float = 1 / DEFAULT_INTERVAL_S) -> float:
    """Frames a second of a stretch (``1 / frame_interval``)."""
    return 1.0 / frame_interval(times, 1.0 / default)


def spread_equal_times(times) -> tuple[np.ndarray, int]:
    """Times that increase: each run of frames whose times do not increase (equal timestamps, or a
    timestamp earlier than the frame before) is spread evenly from its first frame's time to the next
    frame's (the last run: over the frame interval). Returns (times, how many frames got a new time)."""
    t = np.asarray(times, np.float64).copy()
    n = len(t)
    if n < 2:
        return t, 0
    fixed, i = 0, 0
    while i < n - 1:
        if t[i + 1] > t[i] + TIME_EPS:
            i += 1
            continue
        j = i + 1
        while j < n and t[j] <= t[i] + TIME_EPS:
            j += 1
        # the last run: at the spacing of the frames before it (already spread), else of the whole stretch
        end = t[j] if j < n else t[i] + (j - i) * frame_interval(t[:i + 1] if i > 0 else t)
        t[i:j] = t[i] + (end - t[i]) * np.arange(j - i) / (j - i)
        fixed += j - i - 1
        i = j
    return t, fixed


def holes(times) -> list[int]:
    """The frames that follow a hole in the timestamps: a step of at least ``MIN_GAP_S`` and of
    ``GAP_FACTOR`` frame intervals (no frame of the video covers that time)."""
    t = np.asarray(times, np.float64)
    if len(t) < 2:
        return []
    limit = max(MIN_GAP_S, GAP_FACTOR * frame_interval(t))
    return [int(k) + 1 for k in np.flatnonzero(np.diff(t) >= limit)]


def missing_spans(expected, decoded) -> list[tuple[float, float, int]]:
    """(start, end, frames) of each run of ``expected`` frame times (the video's packets) that no ``decoded``
    frame time matches (within half a frame interval): frames the file holds that could not be decoded."""
    e = np.sort(np.asarray(expected, np.float64))
    d = np.sort(np.asarray(decoded, np.float64))
    if not len(e):
        return []
    step = frame_interval(e)
    if len(d):
        k = np.clip(np.searchsorted(d, e), 1, len(d) - 1) if len(d) > 1 else np.zeros(len(e), int)
        nearest = np.minimum(np.abs(d[k] - e), np.abs(d[np.maximum(k - 1, 0)] - e))
        lost = nearest > 0.5 * step
    else:
        lost = np.ones(len(e), bool)
    spans, i = [], 0
    while i < len(e):
        if not lost[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(e) and lost[j + 1]:
            j += 1
        spans.append((float(e[i]), float(e[j]) + step, j - i + 1))
        i = j + 1
    return spans
