"""The weight-free recognizer: MA-52 actions named from a 44-joint keypoint track alone, with the
measured evidence for every label (no model weights). Pure functions of a track, shared by the
pipeline and ``microaction-classify``; MMN (``recognizer.mmn``) is the learned recognizer beside it.

* ``headpose``: yaw, pitch, roll per frame (a perspective-n-point fit of a generic head);
* ``head_actions``: B1-B6 from the angles (oscillations versus held displacements);
* ``hand_head``: F1-F10 and E2 from where the hands are on the head and how they move there.

Each instance is an ``ActionInstance`` (code, start/end in seconds, score 0-1, evidence).
"""
from __future__ import annotations

import numpy as np

from .hand_head import hand_head_actions
from .head_actions import head_actions as _head_actions
from .headpose import HeadPose, head_pose
from .types import ActionInstance

COVERED = ("B1", "B2", "B3", "B4", "B5", "B6", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "E2")

__all__ = ["ActionInstance", "COVERED", "HeadPose", "head_pose", "recognize"]


PIECE_S = 60.0  # a long track is read this much at a time (bounded memory) ...
CONTEXT_S = 10.0  # ... with this much of its neighbours on each side


def recognize(keypoints: np.ndarray, scores: np.ndarray, times: np.ndarray, size: tuple[int, int],
              cuts=()) -> list[ActionInstance]:
    """Every action instance of one person's track (keypoints [T, 44, 2] in pixels, scores [T, 44],
    times [T] in seconds, the picture's (width, height)), shot by shot: ``cuts`` are the first frames
    of the shots after the first, and no instance spans a cut. A long shot is read ``PIECE_S`` at a
    time with ``CONTEXT_S`` on each side (arrays as long as the video are never copied whole); an
    instance found in two overlapping pieces is one. Sorted by start."""
    found: list[ActionInstance] = []
    times = np.asarray(times)
    bounds = [0, *[int(c) for c in cuts], len(times)]
    for first, last in zip(bounds[:-1], bounds[1:]):
        if last - first < 3:
            continue
        start = float(times[first])
        while True:
            a = first + int(np.searchsorted(times[first:last], start - CONTEXT_S))
            b = first + int(np.searchsorted(times[first:last], start + PIECE_S + CONTEXT_S))
            if b - a >= 3:
                found += _piece(np.asarray(keypoints[a:b]), np.asarray(scores[a:b]), times[a:b], size)
            start += PIECE_S
            if b >= last:
                break
    return _join(sorted(found, key=lambda i: (i.code, i.start_s)))


def _piece(kp: np.ndarray, sc: np.ndarray, t: np.ndarray, size: tuple[int, int]) -> list[ActionInstance]:
    pose = head_pose(kp, sc, t, size)
    return _head_actions(pose, t) + hand_head_actions(kp, sc, t, size, pose)


def _join(found: list[ActionInstance]) -> list[ActionInstance]:
    """Instances of one code that overlap (one found in two pieces) become one: the union of their
    times, the evidence and score of the higher-scored."""
    out: list[ActionInstance] = []
    for inst in found:
        prev = out[-1] if out else None
        if prev is not None and prev.code == inst.code and inst.start_s < prev.end_s:
            best = inst if inst.score > prev.score else prev
            out[-1] = ActionInstance(best.code, prev.start_s, max(prev.end_s, inst.end_s), best.score, best.evidence)
            continue
        out.append(inst)
    return sorted(out, key=lambda i: (i.start_s, -i.score))
