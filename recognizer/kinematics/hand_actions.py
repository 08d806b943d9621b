"""Hands and arms away from rest, named: the upper-limb (C), body-hand (E1, E3-E6) and leg-hand (G)
actions, from the hands' visits (``hands``).

Every visit of a hand (it leaves its rest, stays somewhere, comes back) is measured over its main stay
(a ``View``: where the hand and its fingertips are on the body, where its elbow is, its shape, its small
repeated movements, where the other hand is) and named by the first rule that fits, in this order:

1. both hands at once (their main stays overlapping by half): crossed forearms (E5), hands rubbing (C13),
   together (C9), touching by the fingertips (C3), spread wide (C7);
2. one hand, by place: at the head (left to ``hand_head``), at a shoulder (E6), at the waist with the
   elbow out (E4), behind the back (E3), on the other forearm (C6), at a foot (G4), on a leg (G2 patting,
   G3 scratching, G1 touching), beside the hip with the arm drawn back (C10);
3. one hand, by how the arm moves: waving (C5), stretched out (C4), at the chest pointing (C11) or
   touching (E1), moving in front of the body (C1 illustrative gestures).

The rules themselves, with their values and reasons, are in ``hand_body`` (E, G) and ``arm_actions`` (C).
A visit that no rule names is no action (a hand moved and came back). A hand at a place when the track
starts (it did not arrive there) is a posture, as resting hands are; hands at rest that pat or
scratch the thigh, and hands that close to a fist, are found at rest too (``arm_actions.fists``,
``hand_body.at_rest``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import arm_actions, hand_body
from definitions.layout import hand_joints

from .body import J, Body
from .hand_shapes import index_out, stroke_info, tip_spread, tips_centre
from .hands import RELIABLE_SCORE, Hand, Naming, Visit, hands_of, median
from .signals import step
from .types import ActionInstance, overlap, strength_score

LEG_POINTS = ("hip", "knee", "ankle", "heel", "big_toe", "small_toe")


@dataclass
class View:
    """One hand over the frames [a, b) of its main stay (medians; torso frame, torso lengths)."""
    hand: Hand
    other: Hand
    visit: Visit
    a: int
    b: int
    times: np.ndarray
    centre: np.ndarray
    tips: np.ndarray
    elbow: np.ndarray
    shoulder: np.ndarray
    other_centre: np.ndarray
    other_elbow: np.ndarray
    other_wrist: np.ndarray
    upper_ratio: float  # the upper arm's apparent length over its length at rest
    spread_ratio: float  # the fingertips' spread over the hand's usual spread
    index_ratio: float  # the index finger's standing out over the hand's usual
    model_seen: float
    legs: dict  # name -> [2] torso frame, NaN where not seen ("left_knee", ...)
    stay_s: float
    hand_inside: float  # the share of the hand model's points placed inside the picture

    @property
    def out(self) -> float:
        return float(self.hand.out(self.centre))

    @property
    def y(self) -> float:
        return float(self.centre[1])

    def stroke(self, path: np.ndarray, stroke: float) -> dict:
        return stroke_info(path, self.times, self.a, self.b, stroke)


def hand_actions(body: Body) -> list[ActionInstance]:
    """The C, E1/E3-E6 and G instances of a track piece (see the module's text)."""
    if not body.usable:
        return []
    hands = hands_of(body)
    t = body.times
    confidence = {side: body.confidence(hand_joints(side)) for side in hands}
    refs = {side: _references(h, t) | {"inside": _inside(body, side)} for side, h in hands.items()}
    legs = {f"{s}_{p}": body.local_point(f"{s}_{p}") for s in ("left", "right") for p in LEG_POINTS}
    views = {side: [_view(h, hands[_other(side)], v, t, refs[side], legs) for v in h.visits]
             for side, h in hands.items()}
    raised = arm_actions.raised_arms(hands, body, t, [])
    found, used = [], set()
    for lv in views["left"]:
        for rv in views["right"]:
            if id(rv) in used or not _together(lv, rv):
                continue
            named = arm_actions.two_hands(lv, rv)
            if named is not None:
                found.append(_instance(named, [lv, rv], t, confidence))
                used |= {id(lv), id(rv)}
                break
    for side in ("left", "right"):
        for v in views[side]:
            if id(v) in used or not v.visit.arrived and v.visit.start == 0:
                continue
            named = hand_body.place(v) or arm_actions.one_hand(v)
            if named is not None:
                found.append(_instance(named, [v], t, confidence))
    found = [f for f in found if not _within(f, raised)] + raised
    found += arm_actions.fists(hands, refs, t, found, confidence) + hand_body.at_rest(hands, t, legs, found)
    return sorted(found, key=lambda i: i.start_s)


def _within(inst: ActionInstance, raised: list[ActionInstance]) -> bool:
    """Whether a raised arm of the same hand (C4 from the elbows) covers half of the instance: hands
    stretched up leave the picture, and what is left of their visit (a pause at the chest on the way) is
    part of the stretch."""
    return any(r.evidence["hand"] in (inst.evidence.get("hand"), "both") or inst.evidence.get("hand") == "both"
               for r in raised if overlap(inst.start_s, inst.end_s, r.start_s, r.end_s) > 0.5 * (inst.end_s - inst.start_s))


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def _references(hand: Hand, times: np.ndarray) -> dict:
    """The hand's usual shape and arm over the track (its medians), and per-frame shape series."""
    spread, index = tip_spread(hand, times), index_out(hand, times)
    upper = hand.upper_arm()
    rest = hand.stays & ~hand.away if hand.away is not None else hand.stays
    upper_rest = median(np.where(rest, upper, np.nan) if rest.any() else upper, 0, len(times))
    return {"spread": spread, "index": index, "upper": upper, "spread_ref": float(np.nanmedian(spread)) if np.isfinite(spread).any() else np.nan,
            "index_ref": float(np.nanmedian(index)) if np.isfinite(index).any() else np.nan, "upper_ref": upper_rest,
            "tips": tips_centre(hand)}


def _inside(body: Body, side: str) -> np.ndarray:
    """[T] the share of the hand model's six points that the pose model put inside the picture, seen or
    not (a hand out of the picture is not a hand hidden behind the body)."""
    w, h = body.size
    raw = np.asarray(body.raw[:, [J[n] for n in hand_joints(side)]], np.float64)
    with np.errstate(invalid="ignore"):
        inside = (raw[..., 0] >= 0) & (raw[..., 1] >= 0) & (raw[..., 0] < w) & (raw[..., 1] < h)
    return inside.mean(1)


def _view(hand: Hand, other: Hand, v: Visit, times: np.ndarray, ref: dict, legs: dict) -> View:
    a, b = v.stay_a, v.stay_b

    def ratio(series, reference):
        m = median(series, a, b)
        return float(m / reference) if np.isfinite(m) and np.isfinite(reference) and reference > 0 else float("nan")

    return View(hand, other, v, a, b, times, median(hand.centre, a, b), median(ref["tips"], a, b),
                median(hand.elbow, a, b), median(hand.shoulder, a, b), median(other.centre, a, b),
                median(other.elbow, a, b), median(other.wrist, a, b), ratio(ref["upper"], ref["upper_ref"]),
                ratio(ref["spread"], ref["spread_ref"]), ratio(ref["index"], ref["index_ref"]),
                float(np.median(hand.model_seen[a:b])), {k: median(p, a, b) for k, p in legs.items()},
                float(times[b - 1] - times[a] + step(times)) if v.stayed else 0.0, float(np.median(ref["inside"][a:b])))


def _together(lv: View, rv: View) -> bool:
    """Both hands' main stays overlap by half of the shorter."""
    shared = min(lv.b, rv.b) - max(lv.a, rv.a)
    return shared > 0 and shared >= 0.5 * min(lv.b - lv.a, rv.b - rv.a)


def _instance(named: Naming, views: list[View], times: np.ndarray, confidence: dict) -> ActionInstance:
    """The instance of a named visit (or two): from the first hand leaving to the last back; its score
    times the hands' reliability (their points' median confidence over the stay against
    RELIABLE_SCORE: a hand model at 0.3-0.5 is guessing half of the time)."""
    start = min(v.visit.start for v in views)
    end = min(max(v.visit.end for v in views), len(times)) - 1
    hands = [v.hand.side for v in views]
    conf = min(median(confidence[v.hand.side], v.a, v.b) for v in views)
    reliability = float(np.clip(conf / RELIABLE_SCORE, 0.0, 1.0)) if np.isfinite(conf) else 0.5
    ev = {"hand": hands[0] if len(hands) == 1 else "both", "stay_s": round(max(v.stay_s for v in views), 2),
          "arrived": all(v.visit.arrived for v in views), "hand_confidence": round(float(conf), 2) if np.isfinite(conf) else None,
          **named.evidence}
    return ActionInstance(named.code, float(times[start]), float(times[end]) + (step(times) if end == len(times) - 1 else 0.0),
                          strength_score(named.ratio, reliability), ev)
