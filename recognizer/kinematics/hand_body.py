"""Hands on the body (E1 chest, E3 back, E4 arms akimbo, E6 shoulder; E5 crossing arms is a two-hand rule
in ``arm_actions``) and on the legs (G1 touching, G2 patting, G4 scratching feet; G3 scratching legs is
not told from G1, below):
the rules that ``hand_actions`` asks about a visit's main stay (a ``View``, torso frame, torso lengths;
the neck at 0, the shoulders at x = +-0.37, the hips at +-0.21 one torso length down).

* A hand most of whose points the pose model places outside the picture (under ``HIDDEN_INSIDE``) has no
  place here, but for E4 (the elbows out tell it).
* **At the head** (the hand's centre or fingertips above ``HEAD_Y`` within ``HEAD_HALF_WIDTH`` of the
  midline): left to
  ``hand_head``, which names F1-F10 and E2 from the head's own frame.
* **E6 shoulder**: the fingertips within ``SHOULDER_R`` of the other shoulder, no lower than
  ``SHOULDER_Y``. A hand at its own shoulder is, seen from the front, where raised, gesturing and waving
  hands are too (in front of it): it is not named.
* **E4 arms akimbo**: the hand at the waist (``WAIST_Y`` below the neck; within ``ON_HIP`` of its hip
  where the hips are seen), outward of the midline, the elbow out sideways (``ELBOW_OUT`` beyond its
  shoulder) and above the hand.
* **E3 back**: the hand model does not see the hand (at most one point: the hand is behind the body;
  pose models keep guessing the arm's wrist) although it places most of the hand's points
  (``HIDDEN_INSIDE``) inside the picture (a hand below the picture's edge is out of view, not behind the
  back), the arm's wrist within the torso's outline at the back's height, after the hand was seen moving
  there.
* **G**: only where the legs are seen (knees inside the picture; a desk hides them: then nothing).
  G4 scratching feet: the fingertips within ``FOOT_R`` of an ankle, heel or toe, or below the knees by
  ``BELOW_KNEE``. Otherwise the fingertips within ``LEG_R`` of a thigh (hip to knee) or a knee: G2 when the
  hand pats (``PAT``: the hand's centre goes up and down at least ``PAT_STROKES`` times by ``PAT_STROKE``),
  G3 when the fingertips scratch (``SCRATCH``), else G1 touching when the fingertips are within
  ``ON_KNEE`` of a knee (a hand laid on the thigh near the hip is where hands rest, or beside the hip:
  C10).

Hands that rest on the thighs and pat there are found at rest (``at_rest``): resting is a posture,
patting is an action.

The values:

* ``HEAD_Y`` -0.15, ``HEAD_HALF_WIDTH`` 0.3: the chin is 0.25 torso lengths above the neck, the head
  0.3 wide each side of the midline (150 mm).
* ``SHOULDER_R`` 0.22 (110 mm): a hand's breadth (85 mm) and the pose models' shoulder points, which sit
  in the joint, 40-60 mm inside the shoulder's top.
* ``ON_HIP`` 0.35 (175 mm): a hand on the hip, fingers forward, has its centre within a hand's length
  of the hip point.
* ``WAIST_Y`` 0.5-1.2 and ``ELBOW_OUT`` 0.3 (150 mm): a hand on the hip sits 0.6-1.0 below the neck; in
  akimbo the elbow points sideways, 150-250 mm beyond the shoulder; a hanging or resting arm's elbow is
  within 60 mm of the shoulder's line and up to 150 mm behind it, which a camera 25 deg aside shows as
  up to 0.27 torso lengths out.
* ``LEG_R`` 0.3 (150 mm) and ``FOOT_R`` 0.3: a hand (184 mm) lying on the knee or the thigh covers it.
  ``ON_KNEE`` 0.28 (140 mm): the knee point lies in the joint, 50 mm under the knee's top; a hand laid on
  the knee has its fingertips within a palm's length of it.
* ``PAT_STROKE`` 0.04 (20 mm) x 3 at ``PAT_HZ`` 1.5 or more: pats lift the hand 30-60 mm at 2-4 Hz.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .hand_shapes import stroke_info, tips_centre
from .hands import Naming, median, merge_hands
from .signals import runs, windows
from .types import ActionInstance, overlap, strength_score

if TYPE_CHECKING:
    from .hand_actions import View

HEAD_Y = -0.15
HEAD_HALF_WIDTH = 0.3
SHOULDER_R = 0.22
SHOULDER_Y = 0.25
WAIST_Y = (0.5, 1.2)
ELBOW_OUT = 0.3
ON_HIP = 0.35
BACK_Y = (0.35, 1.15)
BACK_HALF_WIDTH = 0.55
HIDDEN_INSIDE = 0.67  # of the hand model's points placed inside the picture: hidden there, not out of it
LEG_R = 0.3
ON_KNEE = 0.28
FLAT = 0.7
FOOT_R = 0.3
BELOW_KNEE = 0.25
PAT_STROKE = 0.04
PAT_STROKES = 3
PAT_HZ = 1.5
SCRATCH_STROKE = 0.012  # 6 mm: the fingertip strokes reported in G1's evidence
MIN_REST_EVENT_S = 0.6
PAT_WINDOW_S = 1.0
PAT_HOP_S = 0.1  # windows start this often at any rate (at 0.25 s the generated G2 at 25 fps ended 0.6 s early:
# no window held the last three strokes; 0.05 s found the same as 0.1 s at 15-60 fps)


def _naming(code: str, ratio: float, **evidence) -> Naming:
    return Naming(code, max(1.0, float(ratio)), {k: (round(float(v), 3) if isinstance(v, (float, np.floating)) else v)
                                                   for k, v in evidence.items()})


def at_head(v: "View") -> bool:
    """The hand's centre or fingertips above HEAD_Y within HEAD_HALF_WIDTH of the midline."""
    tip = v.tips if np.isfinite(v.tips).all() else v.centre
    return min(v.y, float(tip[1])) < HEAD_Y and min(abs(v.centre[0]), abs(float(tip[0]))) < HEAD_HALF_WIDTH


def place(v: "View") -> Naming | None:
    """The body or leg place of a visit's main stay, or None."""
    if not np.isfinite(v.centre).all() or at_head(v):
        return None
    if v.hand_inside < HIDDEN_INSIDE:
        return _akimbo(v)  # most of the hand out of the picture: only the arm's pose tells its place
    return _shoulder(v) or _akimbo(v) or _back(v) or _legs(v)


def _shoulder(v: "View") -> Naming | None:
    tip = v.tips if np.isfinite(v.tips).all() else v.centre
    sh = _other_shoulder(v)
    d = float(np.linalg.norm(tip - sh)) if np.isfinite(sh).all() else np.inf
    if d <= SHOULDER_R and tip[1] <= SHOULDER_Y:
        return _naming("E6", SHOULDER_R / max(d, 1e-3), shoulder="the other one", distance=d)
    return None


def _other_shoulder(v: "View") -> np.ndarray:
    return median(v.other.shoulder, v.a, v.b)


def _akimbo(v: "View") -> Naming | None:
    elbow_out = float(v.hand.out(v.elbow) - v.hand.out(v.shoulder))
    hip = v.legs[f"{v.hand.side}_hip"]
    if np.isfinite(hip).all() and np.linalg.norm(v.centre - hip) > ON_HIP:
        return None
    if WAIST_Y[0] <= v.y <= WAIST_Y[1] and v.out >= 0.0 and elbow_out >= ELBOW_OUT and v.elbow[1] < v.y:
        return _naming("E4", elbow_out / ELBOW_OUT, elbow_out=elbow_out, hand_height=v.y)
    return None


def _back(v: "View") -> Naming | None:
    if v.model_seen > 1 or not v.visit.arrived:
        return None
    if BACK_Y[0] <= v.y <= BACK_Y[1] and abs(v.centre[0]) <= BACK_HALF_WIDTH:
        return _naming("E3", 1.5, hand_model_points=v.model_seen, wrist_height=v.y,
                       cue="hand not seen, the arm's wrist within the torso's outline")
    return None


def _legs(v: "View") -> Naming | None:
    knees = [v.legs[f"{s}_knee"] for s in ("left", "right") if np.isfinite(v.legs[f"{s}_knee"]).all()]
    if not knees:
        return None  # legs not seen: nothing, not a guess
    tip = v.tips if np.isfinite(v.tips).all() else v.centre
    feet = [v.legs[f"{s}_{p}"] for s in ("left", "right") for p in ("ankle", "heel", "big_toe", "small_toe")]
    d_foot = min((float(np.linalg.norm(tip - p)) for p in feet if np.isfinite(p).all()), default=np.inf)
    below = tip[1] - max(k[1] for k in knees)
    if d_foot <= FOOT_R or below >= BELOW_KNEE:
        return _naming("G4", max(FOOT_R / max(d_foot, 1e-3), 1.0), foot_distance=d_foot, below_knees=below)
    d_leg = min(_leg_distance(tip, v.legs, s) for s in ("left", "right"))
    if d_leg > LEG_R:
        return None
    return _on_leg(v, d_leg)


def _leg_distance(p: np.ndarray, legs: dict, side: str) -> float:
    hip, knee = legs[f"{side}_hip"], legs[f"{side}_knee"]
    if not np.isfinite(knee).all():
        return np.inf
    if not np.isfinite(hip).all():
        return float(np.linalg.norm(p - knee))
    return _segment_distance(p, hip, knee)


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    d = b - a
    u = float(np.clip(np.dot(p - a, d) / max(float(np.dot(d, d)), 1e-9), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + u * d)))


def _on_leg(v: "View", d_leg: float) -> Naming:
    pat = v.stroke(v.hand.seat[:, 1], PAT_STROKE)
    if pat["strokes"] >= PAT_STROKES and pat["rate_hz"] >= PAT_HZ:
        return _naming("G2", pat["strokes"] / PAT_STROKES, pats=pat["strokes"] // 2, pat_mm=pat["spread"] * 500,
                       rate_hz=pat["rate_hz"], leg_distance=d_leg)
    scratch = _scratch(v)
    knee = min(float(np.linalg.norm(_tip(v) - v.legs[f"{s}_knee"])) for s in ("left", "right")
               if np.isfinite(v.legs[f"{s}_knee"]).all())
    if knee > ON_KNEE or not (np.isfinite(v.index_ratio) and v.index_ratio >= FLAT):
        return None  # away from the knees, or a hand hanging edge-on beside them (C10)
    return _naming("G1", ON_KNEE / max(knee, 1e-3), knee_distance=knee, fingertip_strokes=scratch["strokes"],
                   fingertip_stroke_hz=scratch["rate_hz"])


def _tip(v: "View") -> np.ndarray:
    return v.tips if np.isfinite(v.tips).all() else v.centre


def _scratch(v: "View") -> dict:
    rel = _tips_rel(v.hand)
    return v.stroke(rel, SCRATCH_STROKE)


def _tips_rel(hand) -> np.ndarray:
    """[T, 2] the fingertips' centre relative to the wrist."""
    return tips_centre(hand) - hand.wrist


def at_rest(hands: dict, times: np.ndarray, legs: dict, found: list) -> list:
    """G2 patting by a hand at rest on the legs (not on a visit): windows of PAT_WINDOW_S in its rest
    where its centre (seat's frame) goes up and down as the rule says (``signals.windows``: the same
    times at any frame rate; each such window marks its strokes, not the whole window, which reached up to
    a window's length before the first pat), joined, at least MIN_REST_EVENT_S long, where no other
    instance of that hand is."""
    out = []
    for side, hand in hands.items():
        patting = np.zeros(len(times), bool)
        for a, b in runs(hand.stays & ~hand.away, times, 0.25, MIN_REST_EVENT_S):
            if not any(np.isfinite(legs[f"{s}_knee"][a:b]).all(-1).mean() >= 0.5 for s in ("left", "right")):
                continue  # legs not seen: the hand may rest on a table
            for w, e in windows(times, a, b, PAT_WINDOW_S, PAT_HOP_S):
                pat = stroke_info(hand.seat[:, 1], times, w, e, PAT_STROKE)
                if pat["strokes"] >= PAT_STROKES and pat["rate_hz"] >= PAT_HZ:
                    patting[w + pat["first"]:w + pat["last"] + 1] = True  # the pats, not the whole window
        for a, b in runs(patting, times, 0.1, MIN_REST_EVENT_S):
            s, e = float(times[a]), float(times[b - 1])
            if any(f.evidence.get("hand") in (side, "both") and overlap(s, e, f.start_s, f.end_s) > 0 for f in found):
                continue
            pat = stroke_info(hand.seat[:, 1], times, a, b, PAT_STROKE)
            out.append(ActionInstance("G2", s, e, strength_score(pat["strokes"] / PAT_STROKES),
                                      {"hand": side, "at_rest": True, "pats": pat["strokes"] // 2,
                                       "rate_hz": round(pat["rate_hz"], 2), "pat_mm": round(pat["spread"] * 500, 1)}))
    return merge_hands(out)
