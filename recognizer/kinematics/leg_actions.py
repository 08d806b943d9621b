"""Lower-limb actions (MA-52 D): D1 tiptoe, D2 retracting feet, D3 shaking legs, D4 stretching feet,
D5 closing legs, D6 spreading legs, D7 curling legs, D8 crossing legs, only where the legs are seen:
knees and ankles inside the picture with confidence above 0.3 in at least ``MIN_SEEN`` of the frames
(a desk or the picture's edge hides them: then nothing, not a guess).

The legs are measured in the picture (torso lengths; x toward the person's own left): the feet stand
on the floor, which the camera does not move against, whatever the trunk does (rising moves the hips,
not the feet). Seen from a camera above the feet (at a seated person's head or chest height, as interviews are
filmed), a foot moving away from the camera rises in the picture toward the horizon and a foot coming
closer drops; the shank tilting back or forward shortens it in the picture. Per leg, averaged over
``SMOOTH_S``:

* the ankle's height (D2, D4, D7), the heel's height over the toes' (D1, D2), the ankles' order across
  the picture (D8), and between the legs the knees' spacing (D5, D6).

A posture change is a movement of one of these by its threshold within ``MAX_MOVE_S``, held at least
``MIN_HOLD_S`` (``body_actions``' displacements), named by the first that fits:

* **D8 crossing legs**: an ankle moves across toward the other by ``2 CROSS`` or more and passes it (their
  order across the picture flips) and rises ``CROSS_RISE`` (it goes over the other knee).
* **D7 curling legs**: an ankle rises ``CURL`` or more (the foot tucked back and up under the seat).
* **D5 closing / D6 spreading legs**: the knees' spacing shrinks or grows by ``KNEES`` or more.
* **D2 retracting feet**: an ankle rises ``RETRACT`` (less than a curl) with the heel coming up off the
  floor.
* **D4 stretching feet**: an ankle drops ``STRETCH`` or more (the foot slides forward, toward the camera),
  or the toes rise ``TIPTOE`` over the heel (the foot forward on its heel).
* **D1 tiptoe**: a knee rises ``TIPTOE_KNEE`` or more while its ankle rises less (a heel lifted off the
  floor with the toes on it lifts the shank and the knee; the ankle, nearer the toes, less) and less than
  ``RETRACT`` but at least ``TIPTOE_ANKLE`` of the knee's rise, and the heel comes up over the toes (or the
  ankle, where the toes are not seen) by half of ``TIPTOE``.

**D3 shaking legs**: in a window of ``SHAKE_WINDOW_S``, the heel and ankle of one leg go up and down at
least ``SHAKE_STROKES`` times by ``SHAKE_STROKE`` (after removing their average over 0.3 s) and the knee
moves with them (correlation ``SHAKE_COHERENCE`` or more: a bouncing heel lifts the shank and the knee;
pose jitter moves each point on its own); the instance runs from the first to the last bounce at least
half the size of the median one.

The values (one torso length is about 500 mm):

* ``SMOOTH_S`` 0.15, ``MAX_MOVE_S`` 1.5, ``MIN_HOLD_S`` 0.3: legs move into a posture in 0.4-1.5 s.
* ``CROSS`` 0.1 and ``CROSS_RISE`` 0.2: a crossing leg's ankle moves 250-500 mm across, ending on or beyond
  the other ankle, and 150-200 mm up; feet never swap sides otherwise.
* ``CURL`` 0.4: feet tucked under the seat rise 0.45-0.8 in the picture; pulled back on the floor
  0.15-0.35 (``RETRACT`` 0.14: a tiptoe raises the ankle by 0.04-0.1).
* ``KNEES`` 0.15 (75 mm): knees closing or opening move by 40-150 mm each; the knees' spacing wanders by
  under 20 mm.
* ``STRETCH`` 0.08 (40 mm): a foot slid 150-300 mm forward drops 0.1-0.3 in the picture.
* ``TIPTOE`` 0.08 (40 mm): toes raised 10-25 deg on a 250 mm foot lift them 45-100 mm over the heel;
  heel and toe points, each jittering and drifting by 5 mm, make their difference wander by up to 30 mm.
  ``TIPTOE_KNEE`` 0.05 (25 mm): a heel raised 30-60 mm lifts the knee 25-70 mm in the picture; knees at rest
  wander by under 10 mm. ``TIPTOE_ANKLE`` 1/4: the ankle sits between the heel and the ball of the foot
  (about 3/4 of the heel's lift) under the rigid shank that lifts the knee, so it rises with the knee; a
  knee that rises while its ankle stays is the shank tipping or the pose model settling (MediaPipe's first
  0.7 s on a frozen frame at 15 fps: knee 0.057, ankle 0.008, a ratio of 0.14); generated tiptoes seen
  from above read 0.3-1.
* ``SHAKE_STROKE`` 0.01 (5 mm) x 6 in ``SHAKE_WINDOW_S`` 1 s (3 cycles: 3 Hz or more), coherence 0.75:
  legs shake at 3-6 Hz with the heel bouncing 10-30 mm; slower heel movements are other leg actions.
"""
from __future__ import annotations

import numpy as np

from .body import Body
from .body_actions import _displacements as _moves
from .signals import fill_gaps, runs, smooth_valid, strokes, turning_points, windows
from .types import ActionInstance, merge_sides, overlap, strength_score

SIDES = ("left", "right")
MIN_SEEN = 0.8
SMOOTH_S = 0.15
MAX_GAP_S = 0.3  # dropouts of the points up to this are interpolated (pose models lose a person for a few frames)
MAX_MOVE_S = 1.5
CROSS = 0.1
CROSS_RISE = 0.2
CURL = 0.4
KNEES = 0.15
RETRACT = 0.14
STRETCH = 0.08
TIPTOE = 0.08
TIPTOE_KNEE = 0.05
TIPTOE_ANKLE = 0.25  # the ankle's rise over the knee's, at least (rigid shank)
SHAKE_WINDOW_S = 1.0
SHAKE_HOP_S = 0.1  # windows start this often, at any frame rate (see hand_body.PAT_HOP_S)
SHAKE_STROKE = 0.01
SHAKE_STROKES = 6
SHAKE_COHERENCE = 0.75
SHAKE_HIGHPASS_S = 0.3
PRIORITY = ("D8", "D7", "D5", "D6", "D2", "D4", "D1")


def leg_actions(body: Body) -> list[ActionInstance]:
    """The D instances of a track piece (see the module's text)."""
    if not body.usable:
        return []
    t = body.times
    legs = _legs(body)
    if legs is None:
        return []
    found = _crossings(legs, t) + _postures(legs, t) + _knees(legs, t) + _shakes(legs, t)
    return _resolve(found)


def _legs(body: Body) -> dict | None:
    names = [f"{s}_{p}" for s in SIDES for p in ("knee", "ankle")]
    seen = np.all([body.seen(n) for n in names], axis=0)
    if seen.mean() < MIN_SEEN:
        return None
    flip = np.stack([body.facing, np.ones(len(body.times))], -1)
    out = {}
    for s in SIDES:
        for p in ("knee", "ankle", "heel", "big_toe", "small_toe"):
            out[f"{s}_{p}"] = body.point(f"{s}_{p}") / body.scale * flip
        toe = max(("big_toe", "small_toe"), key=lambda p: np.isfinite(out[f"{s}_{p}"]).all(-1).mean())
        if np.isfinite(out[f"{s}_{toe}"]).all(-1).mean() < 0.5:
            toe = "ankle"  # toes not seen: the heel against the ankle (it rises more, the foot turning on its ball)
        out[f"{s}_heel_up"] = out[f"{s}_heel"][:, 1] - out[f"{s}_{toe}"][:, 1]  # < 0: the heel above the toes
    return {k: smooth_valid(fill_gaps(v, body.times, MAX_GAP_S), body.times, SMOOTH_S) for k, v in out.items()} | {"raw": out}


def _displacements(x: np.ndarray, t: np.ndarray, threshold: float, max_move_s: float):
    """``body_actions``' displacements, with the return however long the posture was held: a leg going
    back to where it was is the end of the posture, not another action."""
    return _moves(x, t, threshold, max_move_s, max_hold_s=np.inf)


def _instance(code: str, t: np.ndarray, i: int, end: int, ratio: float, **ev) -> ActionInstance:
    return ActionInstance(code, float(t[i]), float(t[end]), strength_score(ratio),
                          {k: (round(float(v), 3) if isinstance(v, (float, np.floating)) else v) for k, v in ev.items()})


def _crossings(legs: dict, t: np.ndarray) -> list[ActionInstance]:
    order = legs["left_ankle"][:, 0] - legs["right_ankle"][:, 0]  # > 0 with the left ankle on its own side
    out = []
    for i, j, end, amp, returned, hold in _displacements(order, t, 2 * CROSS, MAX_MOVE_S):
        crossed = float(np.nanmedian(order[j:end + 1])) if end > j else float(order[j])
        if amp >= 0 or crossed > 0:
            continue
        side = _higher(legs, i, j)
        rise = _rise(legs[f"{side}_ankle"][:, 1], i, j)
        if rise < CROSS_RISE:
            continue
        out.append(_instance("D8", t, i, end, -crossed / CROSS, leg=side, past_other_ankle=-crossed, ankle_rise=rise,
                             uncrossed=bool(returned)))
    return out


def _higher(legs: dict, i: int, j: int) -> str:
    return min(SIDES, key=lambda s: legs[f"{s}_ankle"][j, 1] - legs[f"{s}_ankle"][i, 1])


def _rise(y: np.ndarray, i: int, j: int) -> float:
    return float(y[i] - y[j]) if np.isfinite(y[i]) and np.isfinite(y[j]) else 0.0


def _postures(legs: dict, t: np.ndarray) -> list[ActionInstance]:
    out = []
    for s in SIDES:
        ankle_y, heel_up, knee_y = legs[f"{s}_ankle"][:, 1], legs[f"{s}_heel_up"], legs[f"{s}_knee"][:, 1]
        for i, j, end, amp, returned, hold in _displacements(ankle_y, t, STRETCH, MAX_MOVE_S):
            heel = _rise(heel_up, i, j)  # > 0: the heel came up over the toes
            if amp <= -CURL:
                out.append(_instance("D7", t, i, end, -amp / CURL, leg=s, ankle_rise=-amp))
            elif amp <= -RETRACT and heel >= TIPTOE / 2:
                out.append(_instance("D2", t, i, end, -amp / RETRACT, leg=s, ankle_rise=-amp, heel_rise=heel))
            elif amp >= STRETCH:
                out.append(_instance("D4", t, i, end, amp / STRETCH, leg=s, ankle_drop=amp, heel_rise=heel))
        for i, j, end, amp, returned, hold in _displacements(heel_up, t, TIPTOE, MAX_MOVE_S):
            if amp >= TIPTOE and _rise(ankle_y, i, j) < RETRACT:
                out.append(_instance("D4", t, i, end, amp / TIPTOE, leg=s, toes_rise=amp, cue="toes up"))
        for i, j, end, amp, returned, hold in _displacements(knee_y, t, TIPTOE_KNEE, MAX_MOVE_S):
            ankle, heel = _rise(ankle_y, i, j), _rise(heel_up, i, j)
            if -amp >= TIPTOE_KNEE and TIPTOE_ANKLE * -amp <= ankle < min(RETRACT, -amp) and heel >= TIPTOE / 2:
                out.append(_instance("D1", t, i, end, -amp / TIPTOE_KNEE, leg=s, knee_rise=-amp, ankle_rise=ankle,
                                     heel_rise=heel))
    return out


def _knees(legs: dict, t: np.ndarray) -> list[ActionInstance]:
    gap = np.linalg.norm(legs["left_knee"] - legs["right_knee"], axis=-1)
    out = []
    for i, j, end, amp, returned, hold in _displacements(gap, t, KNEES, MAX_MOVE_S):
        code = "D6" if amp > 0 else "D5"
        out.append(_instance(code, t, i, end, abs(amp) / KNEES, knees_gap_change=amp, leg="both"))
    return out


def _shakes(legs: dict, t: np.ndarray) -> list[ActionInstance]:
    raw = legs["raw"]
    out = []
    for s in SIDES:
        heel, ankle = raw[f"{s}_heel"][:, 1], raw[f"{s}_ankle"][:, 1]
        foot = _highpass(np.where(np.isfinite(heel) & np.isfinite(ankle), (heel + ankle) / 2,
                                  np.where(np.isfinite(heel), heel, ankle)), t)
        knee = _highpass(raw[f"{s}_knee"][:, 1], t)
        shaking = np.zeros(len(t), bool)
        for a, b in windows(t, 0, len(t), SHAKE_WINDOW_S, SHAKE_HOP_S):
            st = strokes(foot[a:b], t[a:b], SHAKE_STROKE)
            if st["strokes"] < SHAKE_STROKES:
                continue
            ok = np.isfinite(foot[a:b]) & np.isfinite(knee[a:b])
            if ok.sum() < 5 or np.corrcoef(foot[a:b][ok], knee[a:b][ok])[0, 1] < SHAKE_COHERENCE:
                continue
            shaking[a:b] = True
        for a, b in runs(shaking, t, 0.1, SHAKE_WINDOW_S):
            a, b = _bounce_span(foot, a, b)
            st = strokes(foot[a:b], t[a:b], SHAKE_STROKE)
            out.append(_instance("D3", t, a, b - 1, st["strokes"] / SHAKE_STROKES, leg=s, strokes=st["strokes"],
                                 rate_hz=st["rate_hz"], bounce_mm=st["spread"] * 500))
    return out


def _bounce_span(foot: np.ndarray, a: int, b: int) -> tuple[int, int]:
    """Frames [a, b) narrowed to the bounce: from the first to the last turning point of a swing at least
    half as large as the median swing (the windows that found it reach up to a window past it)."""
    seg = np.nan_to_num(foot[a:b])
    pivots = turning_points(seg, SHAKE_STROKE)[:-1]  # the last is the running extreme, not a turn
    if len(pivots) < 3:
        return a, b
    amps = np.abs(np.diff(seg[pivots]))
    big = np.flatnonzero(amps >= 0.5 * np.median(amps))
    return a + pivots[big[0]], a + pivots[big[-1] + 1] + 1


def _highpass(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    return smooth_valid(y - smooth_valid(y, t, SHAKE_HIGHPASS_S), t, 0.05)


def _resolve(found: list[ActionInstance]) -> list[ActionInstance]:
    """Both legs' instances of one code at once are one (``leg``: both); of overlapping instances of
    different codes, the first in PRIORITY; D3 stands beside them, but a heel raised during it is its
    bounce, not D1."""
    merged = merge_sides(found, "leg", keep_best_score=True)
    out = []
    shakes = [m for m in merged if m.code == "D3"]
    for inst in merged:
        if inst.code == "D3":
            out.append(inst)
            continue
        if inst.code == "D1" and any(overlap(d.start_s, d.end_s, inst.start_s, inst.end_s) > 0 for d in shakes):
            continue  # the bouncing heel of a shaking leg
        rank = PRIORITY.index(inst.code)
        beaten = any(o.code != "D3" and o is not inst and PRIORITY.index(o.code) < rank
                     and overlap(o.start_s, o.end_s, inst.start_s, inst.end_s) > 0.5 * (inst.end_s - inst.start_s)
                     for o in merged)
        if not beaten:
            out.append(inst)
    return sorted(out, key=lambda i: i.start_s)
