"""Upper-limb actions (MA-52 C) and crossing arms (E5): the rules that ``hand_actions`` asks about a
visit's main stay (a ``View``: torso frame, torso lengths; the neck at 0, the shoulders at x = +-0.37).
C8 playing objects needs the object, which a skeleton does not hold: it is left to MMN.

Both hands (their stays overlapping):

* **E5 crossing arms**: each hand across the midline on the other side by ``CROSS`` or more and within
  ``AT_ELBOW`` of the other arm's elbow, at the chest or belly (``TORSO_Y``).
* **C13 rubbing hands** / **C9 putting hands together**: the hands' centres within ``TOGETHER``; rubbing
  when the one moves against the other back and forth (``RUB``: at least 3 strokes of ``RUB_STROKE`` at
  ``RUB_HZ`` or more).
* **C3 hands touching fingers**: the fingertips of the two hands within ``TIPS_TOUCH`` of each other
  while the wrists stay ``WRISTS_APART`` apart (a steeple; palms together bring the wrists together), or
  while the wrists are not seen (the fingertips touching is what the picture shows).
* **C7 spreading hands**: both hands out sideways, ``SPREAD`` beyond the midline, below the head.
* **C4 stretching arms**: both arms stretched (each by the one-hand rule).

One hand:

* **C5 waving**: the hand raised to the shoulders or above (``RAISED_Y``), ``FOREARM_UP`` above its elbow
  (the forearm held up), the elbow lifted near the shoulders' height (``ELBOW_RAISED_Y`` below them at
  most: gesturing hands rise with the elbows low), and its index or middle fingertip moving side to
  side at least
  ``WAVE_STROKES`` times by ``WAVE_STROKE`` at ``WAVE_HZ`` or more.
* **C4 stretching arms**: the arm straight (the wrist ``STRETCH`` or more of the arm's length from the
  shoulder, the upper arm no shorter than usual, the hand no lower than ``STRETCH_Y``: arms stretch up,
  out or forward, not down to the knees) or the hand above the head (``ABOVE_HEAD_Y``); or, from the
  elbows alone (``raised_arms``: hands stretched up leave most pictures), an elbow ``ARM_UP`` above its
  shoulder, the hand not at the head.
* **C10 retracting arms**: the hand beside the hip (``HIP_Y`` down, ``BESIDE_HIP`` outward of the hip point),
  the upper arm foreshortened (the elbow drawn back: ``DRAWN_BACK`` of its usual length or less) or the
  hand hanging edge-on (its index fingertip in line with the others: ``EDGE_ON`` of the hand's usual
  standing-out or less), the elbow not out sideways (not akimbo).
* **C11 pointing oneself**: the fingertips at the chest (``CHEST``), the hand seen end-on (a hand
  pointing at its own chest aims the index along the line of sight: its fingertips gather over the back
  of the hand, ``GATHERED`` of their usual spread or less, and stand no higher than the hand's centre,
  ``END_ON``), or, seen from aside, with its index fingertip standing out from the others (``POINTING``
  times the hand's usual or more); **E1 touching the chest** otherwise (a hand laid on the chest shows its
  fingers side by side).
* **C6 scratching arms**: the fingertips within ``ON_ARM`` of the other forearm, away from the other
  hand.
* **C1 illustrative gestures**: the hand in front of the body (below the head, above the lap), besides
  the reach out and back, moving back and forth at least ``GESTURE_STROKES`` times by ``GESTURE_STROKE``
  (a rhythmic gesture) or making ``GESTURE_MOVES`` separate movement of that size or more (a stroke
  between holds, as speakers gesture; a hand reaching to touch the body goes there and back), or kept moving for ``MIN_GESTURE_S`` without staying anywhere
  (seen for that long: a hand at the picture's edge, seen in glimpses, is not seen to keep moving);
  not a visit in which the hand was at the head for ``MIN_AT_HEAD_S`` (a touch of the face, which
  ``hand_head`` names).

At rest or anywhere the hand stays: **C12 clenching fist**: the fingertips' spread falls to ``FIST`` of
what it was, within ``MAX_FIST_MOVE_S``, for ``MIN_FIST_S`` or more (``fists``).

The values:

* ``CROSS`` 0.1 (50 mm) and ``AT_ELBOW`` 0.35 (175 mm): crossed forearms put each wrist 150-250 mm past
  the midline, the hand on or beside the other upper arm near its elbow; hands held together in front
  cross the midline by a few centimetres, far from the elbows.
* ``TOGETHER`` 0.25 (125 mm) and ``TIPS_TOUCH`` 0.12 (60 mm): hands palm to palm have their centres a
  palm's thickness apart (40-60 mm), seen at any angle within a hand's breadth (85 mm); fingertips that
  touch lie within a fingertip's width plus the pose models' error (10-15 mm each).
* ``WRISTS_APART`` 0.25 (125 mm): in a steeple the palms are apart, the wrists 150-250 mm.
* ``RUB_STROKE`` 0.02 (10 mm), ``RUB_HZ`` 1.5: rubbing slides the palms 20-40 mm against each other at
  2-4 Hz, much of it along the line of sight from the front; two resting hands' centres, averaged over
  0.05 s, jitter against each other by 3-4 mm.
* ``SPREAD`` 0.55: spread hands are beyond the shoulders (0.37) by a hand's breadth or more.
* ``RAISED_Y`` 0 (the shoulder line), ``WAVE_STROKE`` 0.02 (10 mm) x 3 at 1 Hz or more: a waving hand is
  held up with the forearm raised (``FOREARM_UP`` 0.2: the forearm, 0.5 long, 25 deg or more above the
  horizontal; gesturing forearms are held level or forward); waving swings the fingertips side to side by
  10-80 mm in the picture; a raised hand held still, its fingertips averaged over 0.05 s, by under 5 mm.
* ``STRETCH`` 0.85 of the arm (upper arm 0.63 + forearm 0.5 torso lengths): a bent elbow brings the
  wrist to 0.5-0.7 of it; ``ABOVE_HEAD_Y`` -0.7: the top of the head is 0.6 above the neck.
* ``HIP_Y`` 0.75, ``DRAWN_BACK`` 0.85: an elbow drawn back by 30 deg or more shortens the upper arm's
  picture by 13 % or more (cos 30 deg). ``EDGE_ON`` 0.5: a hand hanging beside the hip is seen along its
  edge from the front, its fingertips one behind the other; a hand laid on the lap or a knee shows them
  side by side.
* ``CHEST`` |x| 0.4, y 0.05-0.5: between the shoulders, from the collarbones to the lower end of the
  sternum (hands on the waist lie 0.55 and lower). ``GATHERED`` 0.85 and
  ``END_ON`` 0.02 (10 mm): fingertips seen along the fingers lie within 20-30 mm of their centre instead
  of 27-35 mm; fingers laid on the chest rise 20-60 mm above the hand's centre. ``POINTING`` 1.6: a pointing
  index stands 40-90 mm out of the curled fingers, relaxed fingertips 15-30 mm apart.
* ``ON_ARM`` 0.15 (75 mm) from the forearm's line (elbow to wrist): the forearm is 60-80 mm thick.
* ``GESTURE_STROKE`` 0.08 (40 mm) x 3: conversational gestures move the hands 50-200 mm at 0.5-2.5 Hz, a
  phrase of several strokes (a reach along a curved path turns once or twice);
  ``MIN_GESTURE_S`` 1: a hand that moves for under a second and comes back is a reach, not a gesture.
* ``ARM_UP`` 0.35: an upper arm (0.63 torso lengths) raised 35 deg or more above the horizontal; hands
  touching the hair or the back of the head can raise the elbow that far, but stay within a hand's
  breadth of the head's outline (``NEAR_HEAD_X`` 0.5: the head's half width 0.3 and half a hand).
* ``FIST`` 0.75 for ``MIN_FIST_S`` 0.3, within ``MAX_FIST_MOVE_S`` 0.8: relaxed fingertips lie 27-35 mm
  from their centre, a fist's 20 mm (a fall to 0.57-0.74); fingertip jitter moves the averaged spread by
  3 %; a hand closes in 0.2-0.5 s.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .body_actions import _displacements
from .hand_body import ELBOW_OUT, HEAD_HALF_WIDTH, HEAD_Y, _naming, _segment_distance, at_head
from .hand_shapes import count_movements, stroke_info, tips_centre
from .hands import INDEX, MIDDLE, MOVING, RELIABLE_SCORE, Naming, _reach, median, merge_hands
from .signals import runs, step
from .types import ActionInstance, overlap, strength_score

if TYPE_CHECKING:
    from .hand_actions import View

CROSS = 0.1
AT_ELBOW = 0.35
TORSO_Y = (0.05, 0.95)
TOGETHER = 0.25
TIPS_TOUCH = 0.12
WRISTS_APART = 0.25
RUB_STROKE = 0.02
RUB_STROKES = 3
RUB_HZ = 1.5
SPREAD = 0.55
RAISED_Y = 0.0
FOREARM_UP = 0.2
ELBOW_RAISED_Y = 0.25
WAVE_STROKE = 0.02
WAVE_STROKES = 3
WAVE_HZ = 1.0
ARM = 1.13
STRETCH = 0.85
STRETCH_Y = 0.5
ABOVE_HEAD_Y = -0.7
HIP_Y = 0.75
HIP_OUT = 0.21  # the hip keypoints' half spacing (0.125 of the stature / 0.294)
BESIDE_HIP = 0.05
EDGE_ON = 0.5
DRAWN_BACK = 0.85
CHEST_X = 0.4
CHEST_Y = (0.05, 0.5)
GATHERED = 0.85
POINTING = 1.6
END_ON = 0.02
ON_ARM = 0.15
GESTURE_STROKE = 0.08
GESTURE_STROKES = 3
GESTURE_Y = (-0.3, 1.0)
GESTURE_MOVES = 1
MIN_STAY_S = 0.3
MIN_GESTURE_S = 1.0
MIN_AT_HEAD_S = 0.3
FIST = 0.75
MAX_FIST_MOVE_S = 0.8
ARM_UP = 0.35
NEAR_HEAD_X = 0.5
MIN_RAISED_S = 0.3
MIN_FIST_S = 0.3


def two_hands(lv: "View", rv: "View") -> Naming | None:
    """The two-hand action of two overlapping stays, or None (both hands at the head: ``hand_head``'s)."""
    if not (np.isfinite(lv.centre).all() and np.isfinite(rv.centre).all()) or (at_head(lv) and at_head(rv)):
        return None
    a, b = max(lv.a, rv.a), min(lv.b, rv.b)
    left, right = lv.hand, rv.hand
    lc, rc = median(left.centre, a, b), median(right.centre, a, b)
    across = min(float(left.out(lc)), float(right.out(rc)))
    at_elbows = max(_distance(lc, median(right.elbow, a, b)), _distance(rc, median(left.elbow, a, b)))
    if -across >= CROSS and at_elbows <= AT_ELBOW and TORSO_Y[0] <= max(lc[1], rc[1]) and min(lc[1], rc[1]) <= TORSO_Y[1]:
        return _naming("E5", -across / CROSS, across=-across, hands_to_other_elbows=at_elbows)
    gap = float(np.linalg.norm(lc - rc))
    wrists = float(np.linalg.norm(median(left.wrist, a, b) - median(right.wrist, a, b)))
    tips = _tips_gap(left, right, a, b)
    if not np.isfinite(wrists) and tips <= TIPS_TOUCH:
        return _naming("C3", TIPS_TOUCH / max(tips, 1e-3), fingertips_gap=tips, wrists_gap=None,
                       cue="fingertips together, the wrists not seen")
    if gap <= TOGETHER and wrists < WRISTS_APART:
        rub = _rub(left, right, lv.times, a, b)
        if rub["strokes"] >= RUB_STROKES and rub["rate_hz"] >= RUB_HZ:
            return _naming("C13", rub["strokes"] / RUB_STROKES, strokes=rub["strokes"], rate_hz=rub["rate_hz"],
                           stroke_mm=rub["spread"] * 500, hands_gap=gap)
        return _naming("C9", TOGETHER / max(gap, 1e-3), hands_gap=gap, wrists_gap=wrists)
    if tips <= TIPS_TOUCH and wrists >= WRISTS_APART:
        return _naming("C3", TIPS_TOUCH / max(tips, 1e-3), fingertips_gap=tips, wrists_gap=wrists)
    if min(float(left.out(lc)), float(right.out(rc))) >= SPREAD and max(lc[1], rc[1]) >= HEAD_LOW:
        return _naming("C7", min(float(left.out(lc)), float(right.out(rc))) / SPREAD, out_left=float(left.out(lc)),
                       out_right=float(right.out(rc)))
    one_l, one_r = _stretch(lv), _stretch(rv)
    if one_l is not None and one_r is not None:
        return _naming("C4", min(one_l.ratio, one_r.ratio), arms="both", **one_l.evidence)
    return None


HEAD_LOW = -0.2  # spread hands are below the head's middle


def _distance(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.linalg.norm(p - q)) if np.isfinite(p).all() and np.isfinite(q).all() else np.inf


def _rub(left, right, times, a, b) -> dict:
    return stroke_info(left.centre - right.centre, times, a, b, RUB_STROKE)


def _tips_gap(left, right, a: int, b: int) -> float:
    """The median over frames [a, b) of the smallest distance between a fingertip of one hand and one
    of the other (torso lengths)."""
    lt, rt = left.points[a:b, 1:], right.points[a:b, 1:]
    d = np.linalg.norm(lt[:, :, None] - rt[:, None, :], axis=-1).reshape(b - a, -1)  # [n, 25]
    m = np.where(np.isfinite(d), d, np.inf).min(axis=1)
    m = m[np.isfinite(m)]
    return float(np.median(m)) if len(m) else np.inf


def one_hand(v: "View") -> Naming | None:
    """The upper-limb action of one hand's stay, or None (``hand_body.place`` is asked first)."""
    if not np.isfinite(v.centre).all() or at_head(v):
        return None
    return _wave(v) or _stretch(v) or _retract(v) or _on_arm(v) or _chest(v) or _gesture(v)


def _wave(v: "View") -> Naming | None:
    if v.y > RAISED_Y or not v.y <= v.elbow[1] - FOREARM_UP or not v.elbow[1] <= ELBOW_RAISED_Y:
        return None
    # the longest fingers' tips swing furthest (averaged with the thumb's, half as far)
    best = max((v.stroke(v.hand.points[:, k, 0], WAVE_STROKE) for k in (INDEX, MIDDLE)), key=lambda x: x["strokes"])
    if best["strokes"] >= WAVE_STROKES and best["rate_hz"] >= WAVE_HZ:
        return _naming("C5", best["strokes"] / WAVE_STROKES, strokes=best["strokes"], rate_hz=best["rate_hz"],
                       wave_mm=best["spread"] * 500, hand_height=v.y)
    return None


def _stretch(v: "View") -> Naming | None:
    if not np.isfinite(v.centre).all():
        return None
    reach = float(np.linalg.norm(v.centre - v.shoulder)) if np.isfinite(v.shoulder).all() else np.nan
    straight = np.isfinite(reach) and reach >= STRETCH * ARM and not (v.upper_ratio < 0.9) and v.y <= STRETCH_Y
    if straight or v.y <= ABOVE_HEAD_Y:
        return _naming("C4", max(reach / (STRETCH * ARM) if np.isfinite(reach) else 1.0, 1.0), reach=reach, hand_height=v.y)
    return None


def _retract(v: "View") -> Naming | None:
    elbow_out = float(v.hand.out(v.elbow) - v.hand.out(v.shoulder))
    hip = v.legs[f"{v.hand.side}_hip"]
    beside = v.out - float(v.hand.out(hip)) if np.isfinite(hip).all() else v.out - HIP_OUT
    drawn_back = v.upper_ratio <= DRAWN_BACK
    hanging = np.isfinite(v.index_ratio) and v.index_ratio <= EDGE_ON
    if v.y >= HIP_Y and (drawn_back or hanging) and elbow_out < ELBOW_OUT and beside >= BESIDE_HIP:
        return _naming("C10", max(DRAWN_BACK / max(v.upper_ratio, 1e-3), 1.0), upper_arm_ratio=v.upper_ratio,
                       hand_height=v.y, beside_hip=beside, index_out_ratio=v.index_ratio)
    return None


def _on_arm(v: "View") -> Naming | None:
    tip = v.tips if np.isfinite(v.tips).all() else v.centre
    if not (np.isfinite(v.other_elbow).all() and np.isfinite(v.other_wrist).all()):
        return None
    d = _segment_distance(tip, v.other_elbow, v.other_wrist)
    to_hand = float(np.linalg.norm(tip - v.other_centre)) if np.isfinite(v.other_centre).all() else np.inf
    if d <= ON_ARM and to_hand > TOGETHER:
        return _naming("C6", ON_ARM / max(d, 1e-3), forearm_distance=d, other_hand_distance=to_hand)
    return None


def _chest(v: "View") -> Naming | None:
    tip = v.tips if np.isfinite(v.tips).all() else v.centre
    if not (abs(tip[0]) <= CHEST_X and CHEST_Y[0] <= tip[1] <= CHEST_Y[1]):
        return None
    if _gesture(v) is not None:
        return None
    fingers_up = float(v.centre[1] - tip[1])
    if np.isfinite(v.spread_ratio) and v.spread_ratio <= GATHERED and fingers_up <= END_ON:
        return _naming("C11", GATHERED / max(v.spread_ratio, 1e-3), fingertip_spread_ratio=v.spread_ratio,
                       fingers_above_hand=fingers_up, cue="hand seen end-on at the chest, fingertips gathered")
    if np.isfinite(v.index_ratio) and v.index_ratio >= POINTING:
        return _naming("C11", v.index_ratio / POINTING, index_out_ratio=v.index_ratio,
                       cue="the index finger standing out at the chest")
    return _naming("E1", 1.5, fingertips_at=[round(float(x), 2) for x in tip], fingers_above_hand=fingers_up)


def _gesture(v: "View") -> Naming | None:
    if not GESTURE_Y[0] <= v.y <= GESTURE_Y[1]:
        return None
    a, b = v.visit.start, min(v.visit.end, len(v.times))
    c = tips_centre(v.hand)[a:b]
    with np.errstate(invalid="ignore"):
        at_head = (c[:, 1] < HEAD_Y) & (np.abs(c[:, 0]) < HEAD_HALF_WIDTH) & v.hand.stays[a:b]
    if at_head.sum() * step(v.times) >= MIN_AT_HEAD_S:
        return None  # the hand stayed at the head: a touch (``hand_head``), not a gesture
    s = stroke_info(v.hand.centre, v.times, a, b, GESTURE_STROKE)
    oscillating = s["strokes"] - 2  # the reach out and back are two strokes
    moves = count_movements(v.hand.centre, v.times, a, b, MOVING, GESTURE_STROKE) - 2
    seen_s = float(v.hand.seen[a:b].sum()) * step(v.times)  # moving where it was seen (not a visit's unseen stretches)
    if oscillating >= GESTURE_STROKES or moves >= GESTURE_MOVES or (v.stay_s < MIN_STAY_S and seen_s >= MIN_GESTURE_S):
        return _naming("C1", max(oscillating / GESTURE_STROKES, moves / GESTURE_MOVES, 1.0), strokes=oscillating,
                       movements=moves, rate_hz=s["rate_hz"], stroke_mm=s["spread"] * 500)
    return None


def raised_arms(hands: dict, body, times: np.ndarray, found: list) -> list[ActionInstance]:
    """C4 from the elbows alone: an elbow ``ARM_UP`` or more above its shoulder for MIN_RAISED_S, the hand
    not by the head or neck (above the shoulders, below the top of the head, within ``NEAR_HEAD_X`` of the
    midline: a hand touching the head raises the elbow too; a hand hidden behind the head is judged by
    where the pose model put its wrist) and no other instance of that hand there
    (arms stretched up take the hands out of most pictures; the elbows stay in)."""
    out = []
    for side, hand in hands.items():
        wrist = np.where(np.isfinite(hand.centre), hand.centre, body.local(body.guessed(f"{side}_wrist")))
        with np.errstate(invalid="ignore"):
            up = (hand.shoulder[:, 1] - hand.elbow[:, 1]) >= ARM_UP
            head = (wrist[:, 1] < 0.0) & (wrist[:, 1] > ABOVE_HEAD_Y) & (np.abs(wrist[:, 0]) < NEAR_HEAD_X)
        for a, b in runs(up & ~head, times, 0.25, MIN_RAISED_S):
            start, _ = _reach(hand.speed, times, a, -1)
            end, _ = _reach(hand.speed, times, b - 1, +1)
            s, e = float(times[start]), float(times[end])
            if any(f.evidence.get("hand") in (side, "both") and overlap(s, e, f.start_s, f.end_s) > 0.5 * (e - s) for f in found):
                continue
            lift = float(np.nanmedian(hand.shoulder[a:b, 1] - hand.elbow[a:b, 1]))
            out.append(ActionInstance("C4", s, e, strength_score(lift / ARM_UP),
                                      {"hand": side, "elbow_above_shoulder": round(lift, 2), "cue": "elbow raised"}))
    return merge_hands(out)


def fists(hands: dict, refs: dict, times: np.ndarray, found: list, confidence: dict) -> list[ActionInstance]:
    """C12: the fingertips' spread falls to FIST of what it was or less (the logarithm of the spread drops
    by log 1/FIST within MAX_FIST_MOVE_S, ``body_actions``' displacements) while the hand stays, held at
    least MIN_FIST_S, until it opens again; not where another instance of that hand is. The score is
    weighed by the hand's confidence, as for visits."""
    out = []
    for side, hand in hands.items():
        spread = refs[side]["spread"]
        with np.errstate(invalid="ignore", divide="ignore"):
            log_spread = np.where(spread > 0, np.log(spread), np.nan)
        for i, j, end, amp, returned, hold in _displacements(log_spread, times, -np.log(FIST), MAX_FIST_MOVE_S,
                                                             min_hold_s=MIN_FIST_S, max_hold_s=np.inf):
            if amp >= 0 or hand.stays[i:j + 1].mean() < 0.5:
                continue
            s, e = float(times[i]), float(times[end])
            if any(f.evidence.get("hand") in (side, "both") and overlap(s, e, f.start_s, f.end_s) > 0.5 * (e - s) for f in found):
                continue
            conf = float(np.nanmedian(confidence[side][i:end + 1])) if np.isfinite(confidence[side][i:end + 1]).any() else 0.0
            ratio = float(np.exp(amp))
            out.append(ActionInstance("C12", s, e, strength_score(np.log(ratio) / np.log(FIST), min(1.0, conf / RELIABLE_SCORE)),
                                      {"hand": side, "fingertip_spread_ratio": round(ratio, 2), "opened": bool(returned),
                                       "hand_confidence": round(conf, 2)}))
    return merge_hands(out)
