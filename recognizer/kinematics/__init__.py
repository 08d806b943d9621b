"""The weight-free recognizer: MA-52 actions named from a 44-joint keypoint track alone, with the
measured evidence for every label (no model weights). Pure functions of a track, shared by the
pipeline and ``microaction-classify``; MMN (``recognizer.mmn``) is the learned recognizer beside it.

* ``headpose``: yaw, pitch, roll per frame (a perspective-n-point fit of a generic head);
* ``head_actions``: B1-B6 from the angles (oscillations versus held displacements);
* ``hand_head``: F1-F10 and E2 from where the hands are on the head and how they move there;
* ``body``: the torso's frame and scale (torso lengths); ``body_actions``: A1-A5 from the torso;
* ``hands``: the hands' places, rest and visits; ``hand_shapes``: their shapes and strokes;
  ``hand_actions`` names each visit by the rules of ``hand_body`` (E1, E3, E4, E6, G1, G2, G4) and
  ``arm_actions`` (C1, C3-C7, C9-C13, E5);
* ``leg_actions``: D1-D8 where the legs are seen;
* ``signals``: the pieces they share (smoothing, runs, swings, movements, strokes).

What is named and what is not, with the figures: docs/KINEMATICS_COVERAGE.md.

Where a body action (or G4, bending down to scratch the feet) overlaps a head action by over half of
the head action's time, the head action is dropped: a swaying or turning torso carries the head, and the
body's movement names the gesture; likewise body sways and straightenings within G4. Hands held
together in front of the chest (C3, C9, C13, E5) are one action: their fingertips reaching the chin in
the picture are not a touch of the face or neck (``hand_head``'s instances they overlap are dropped);
otherwise a hand at the head is named by ``hand_head`` and the hand's other instances it overlaps by
over half of their time are dropped (a hand reaching the face, a raised elbow behind the head).

Each instance is an ``ActionInstance`` (code, start/end in seconds, score 0-1, evidence).
"""
from __future__ import annotations

import numpy as np

from .body import body_of
from .body_actions import body_actions as _body_actions
from .hand_actions import hand_actions as _hand_actions
from .hand_head import hand_head_actions
from .head_actions import head_actions as _head_actions
from .headpose import HeadPose, head_pose
from .leg_actions import leg_actions as _leg_actions
from .types import ActionInstance, overlap

COVERED = ("A1", "A2", "A3", "A4", "A5", "B1", "B2", "B3", "B4", "B5", "B6",
           "C1", "C3", "C4", "C5", "C6", "C7", "C9", "C10", "C11", "C12", "C13",
           "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "E1", "E2", "E3", "E4", "E5", "E6",
           "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "G1", "G2", "G4")
CARRYING = ("A1", "A2", "A3", "A5", "G4")  # actions that carry the head with them (G4: bending to the feet)
TWO_HANDS = ("C3", "C9", "C13", "E5")  # hands held together in front: their fingertips can reach the chin
# movements made of repeated strokes (the others of A-D are one change of posture, measured from where it starts)
REPEATED = ("A1", "B1", "B2", "C1", "C2", "C3", "C5", "C6", "C8", "C13", "D3")

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
    """The instances of one piece of a shot, every family, with the arbitration between them (the
    package's text)."""
    pose = head_pose(kp, sc, t, size)
    body = body_of(kp, sc, t, size)
    hands = _hand_actions(body)
    at_head = _not_carried(hand_head_actions(kp, sc, t, size, pose), hands, TWO_HANDS)
    limbs = _not_at_head(hands, at_head) + _leg_actions(body)
    moved = _not_carried(_body_actions(body, pose), limbs, ("G4",))
    return _not_carried(_head_actions(pose, t), moved + limbs, CARRYING) + moved + limbs + at_head


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


def _not_at_head(limbs: list[ActionInstance], at_head: list[ActionInstance]) -> list[ActionInstance]:
    """The hand instances that no hand-at-head instance of the same hand overlaps by over half of their
    time: a hand going to the face is named by where it arrives on the head."""
    def same_hand(a: ActionInstance, b: ActionInstance) -> bool:
        ha, hb = a.evidence.get("hand"), b.evidence.get("hand")
        return ha == hb or "both" in (ha, hb)
    return [h for h in limbs if not any(same_hand(h, f) and overlap(h.start_s, h.end_s, f.start_s, f.end_s)
                                        > 0.5 * (h.end_s - h.start_s) for f in at_head)]


def _not_carried(found: list[ActionInstance], others: list[ActionInstance], codes) -> list[ActionInstance]:
    """The instances that no instance of ``codes`` among ``others`` overlaps by over half of their time."""
    carrying = [b for b in others if b.code in codes]
    return [h for h in found if not any(overlap(h.start_s, h.end_s, b.start_s, b.end_s) > 0.5 * (h.end_s - h.start_s)
                                        for b in carrying)]
