"""Where a person's whole skeleton jumps between two pose frames: the pose stream's evidence of a cut.

At a cut between two shots that look alike (a jump cut, another person on the same chair) the pose
model's skeleton of the person jumps at once: every joint moves from one frame to the next and then
stays. A body cannot do that. Its joints' median displacement (over the reliably seen body joints,
in torso lengths) would have to go from the speed of the interval before (and after) to that of the
jump within one frame interval: an acceleration of ``JUMP_ACCEL`` torso lengths per second squared
is about 2 g for a 0.5 m torso, more than a seated or standing person's trunk and head reach (a
sudden nod or a sneeze moves the head, not the median joint). A jump must also be at least
``JUMP_TL`` torso lengths (about 5 cm), well above the pose model's frame-to-frame jitter (on the
real development clips with one person followed throughout: displacements of at most 0.022 torso
lengths, accelerations of at most 6 torso lengths / s^2). Between pose frames further apart the same displacement takes less acceleration, so a cut
is seen at 30 frames a second (a jump cut between MA-52 clips: 130-311 torso lengths / s^2) but
not, say, at 5, where a quick real movement could look alike.

This is evidence only: where the pose model swaps two people who hug, its skeleton jumps too, so a
cut needs the picture's change as well (``pipeline.cut_detection.CutDetector.finish``).
"""
from __future__ import annotations

import numpy as np

from definitions.layout import ma52_layout

JUMP_TL = 0.1  # torso lengths: the median reliable joint's displacement between two pose frames, at least
JUMP_ACCEL = 40.0  # torso lengths / s^2 against the intervals before and after (about 2 g for a 0.5 m torso)
MIN_SCORE = 0.5  # a joint is reliable in a frame from this confidence on
MIN_JOINTS = 5  # reliable body joints in both frames, at least
BODY = slice(0, 17)  # the body joints (Halpe 0-16: face points, shoulders, arms, hips, legs)


def skeleton_jumps(times: np.ndarray, frame: np.ndarray, person: np.ndarray, keypoints: np.ndarray,
                   scores: np.ndarray) -> list[tuple[int, int]]:
    """Spans (a, b) of frames (indices into ``times``) between which some person's skeleton jumped.

    ``frame``, ``person``, ``keypoints`` [D, 44, 2], ``scores`` [D, 44]: the detections of a run of frames
    with the pose backend's person ids (people without an id, -1, are not followed). A person is
    compared on consecutive frames where they were detected; ``frame`` numbers index ``times``."""
    L = ma52_layout()
    neck, hips = L.indices("neck", "hip_center")
    shoulders = L.indices("left_shoulder", "right_shoulder")
    out = []
    for pid in np.unique(person[person >= 0]):
        rows = np.flatnonzero(person == pid)
        rows = rows[np.argsort(frame[rows], kind="stable")]
        speed, step, span = [], [], []  # per interval between consecutive detections of the person
        for r0, r1 in zip(rows[:-1], rows[1:]):
            f0, f1 = int(frame[r0]), int(frame[r1])
            dt = float(times[f1] - times[f0])
            d = _median_shift(keypoints[r0], keypoints[r1], scores[r0], scores[r1],
                              _scale(keypoints[r0], neck, hips, shoulders))
            speed.append(d / dt if dt > 0 and np.isfinite(d) else np.nan)
            step.append((d, dt))
            span.append((f0, f1))
        for k, ((d, dt), v) in enumerate(zip(step, speed)):
            if not (np.isfinite(v) and d >= JUMP_TL):
                continue
            around = [speed[j] for j in (k - 1, k + 1) if 0 <= j < len(speed) and np.isfinite(speed[j])]
            if around and (v - max(around)) / dt >= JUMP_ACCEL:
                out.append(span[k])
    return sorted(set(out))


def _scale(kp: np.ndarray, neck: int, hips: int, shoulders: list[int]) -> float:
    """A person's torso length in a frame (neck to hip centre; shoulder width where it is unknown)."""
    torso = float(np.linalg.norm(kp[neck] - kp[hips]))
    if np.isfinite(torso) and torso >= 1:
        return torso
    width = float(np.linalg.norm(kp[shoulders[0]] - kp[shoulders[1]]))
    return width if np.isfinite(width) and width >= 1 else np.nan


def _median_shift(a: np.ndarray, b: np.ndarray, sa: np.ndarray, sb: np.ndarray, scale: float) -> float:
    """The median displacement of the body joints reliable in both frames, in ``scale`` units (NaN with
    fewer than ``MIN_JOINTS``)."""
    ok = (sa[BODY] >= MIN_SCORE) & (sb[BODY] >= MIN_SCORE) & np.isfinite(a[BODY]).all(-1) & np.isfinite(b[BODY]).all(-1)
    if ok.sum() < MIN_JOINTS or not np.isfinite(scale):
        return np.nan
    return float(np.median(np.linalg.norm(b[BODY][ok] - a[BODY][ok], axis=-1)) / scale)
