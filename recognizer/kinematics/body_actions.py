"""Body actions (MA-52 A): A1 shaking body, A2 turning around, A3 sitting straightly, A4 shrugging,
A5 rising up, from the torso's points (``body``) and the head's pose (``headpose``).

Per frame (smoothed over ``SMOOTH_S``):

* **lean**: the torso's roll in the picture, degrees (> 0 toward the person's own left): the angle of
  the line from the hip centre to the neck where the hips are seen, else the shoulder line's angle
  (both turn together when the trunk rolls about the hips).
* **turn**: the torso's yaw change from the shoulders' apparent width. Shoulders ``w0`` wide when the
  torso faced ``y0`` degrees away from the camera look ``w0 cos(y0 + a) / cos(y0)`` wide after turning by
  ``a``; the head's median yaw over the track stands for ``y0`` (people face where their head faces)
  and the head's own yaw change gives the turn's direction (the head goes with the torso). A width change near
  a frontal view says little (cos is flat there): 20 deg from frontal narrows the shoulders by 6 %.
* **shrug**: the vertical distance from the shoulders up to the ears, mm (the head's scale from its
  pose; the ears sit at the shoulders' depth), else torso lengths x 500 mm.
* **depth**: the head's distance from the camera, mm (the head pose), and the head's **pitch**.
* **rise**: the hips' height in the picture (torso lengths), else the neck's.

Rules:

* **A1 shaking body**: the lean swings (turning points of hysteresis ``SWAY_SWING_DEG``) back and forth
  (half cycles under ``MAX_SWAY_HALF_S``, stops at the turns under ``MAX_REVERSAL_HOLD_S``), the largest
  swing at least ``SWAY_DEG``; or one quick sideways sway of at least ``SINGLE_SWAY_DEG`` (the MA-52
  shaking-body clip holds one: the trunk rolls 11 deg in 1 s). A sway explained by a turn (A2) or by
  rising (A5) is part of those.
* **A2 turning around**: the head turns at least ``TURN_HEAD_DEG`` within ``MAX_MOVEMENT_S`` and the
  shoulders' width says the torso turned at least ``TURN_TORSO_DEG`` with it, and at least ``TORSO_SHARE``
  of the head's turn (a head turning alone, B3, leaves the shoulders' width as it was; a turning trunk
  carries the head, which leads it by a tenth to a third), held at least ``MIN_HOLD_S``; the return within ``MAX_HOLD_S``
  belongs to the same instance. The torso's facing before the turn is taken as the head's usual yaw
  over the track (a person's head faces where the torso faces most of the time).
* **A3 sitting straightly**: the head moves back (away from the camera) at least ``STRAIGHTEN_MM`` within
  ``MAX_STRAIGHTEN_S`` (but no faster than ``MIN_TRUNK_MOVE_S``) and comes up by ``PITCH_UP_DEG`` (a trunk
  straightening carries the head back and up), without a turn of the head, and stays so ``MIN_HOLD_S``;
  evidence ``pattern``: torso back toward upright. The same movement toward the camera is leaning
  forward: body movement without an MA-52 action (no instance; the movement description covers it).
  From the front a lean back from upright looks the same as straightening from a slouch, and is
  reported as A3 too. A lean forward and back within ``MAX_HOLD_S`` is one movement (its return is not
  A3), and straightening within a rise (A5) or a turn (A2) is part of those.
* **A4 shrugging**: the shoulders rise toward the ears by at least ``SHRUG_MM`` within
  ``MAX_SHRUG_RISE_S`` and come back down by half of it within ``MAX_SHRUG_S``.
* **A5 rising up**: the hips rise at least ``RISE_HIPS`` torso lengths in the picture within
  ``MAX_RISE_S`` (the seat left, however briefly), or, where the hips are not seen, the neck rises
  ``RISE_NECK``; where the head's distance is measured, after the trunk leaned toward the camera (standing
  up from a chair starts by bringing the trunk forward over the feet; hips bobbing up and down without
  it are not rising).

The values and why they hold:

* ``SMOOTH_S`` 0.15: keypoint jitter (3 mm at the shoulders, 5 mm at the hips) rolls the torso line by
  up to 1 deg per frame; trunk sways of 1-2.5 Hz keep over 80 % of their swing.
* ``SWAY_SWING_DEG`` 2 and ``SWAY_DEG`` 3: the lean of a still seated person wanders by under 1 deg
  (breathing, talking); a deliberate sway rolls the trunk by 3-10 deg each way.
* ``SINGLE_SWAY_DEG`` 6: a single sideways sway must be twice an oscillation's swing (a one-way shift
  of posture of a few degrees is not shaking).
* ``MAX_SWAY_HALF_S`` 1.0: trunk sways of 0.5-2.5 Hz (half cycles 0.2-1 s).
* ``TURN_HEAD_DEG`` 10 and ``TURN_TORSO_DEG`` 15: a turn of the torso of 15 deg narrows frontal
  shoulders by 3.4 %, over twice the width's jitter (1.5 %) once smoothed; a width change under
  ``WIDTH_NOISE`` (2 %) is no sign of a turn at all. A torso turning through the frontal view (from one
  side of the camera to the other) ends with a width it also has after a small turn (cos is even): the
  smaller turn is taken, so such turns are missed (the head's turn remains, B3) rather than head turns
  named A2.
* ``STRAIGHTEN_MM`` 80: the head is 670 mm above the hips (torso and neck, 0.39 of the stature): a
  trunk pitching 7 deg moves it 80 mm; talking moves it 10-30 mm, and the head pose's distance jitters
  by 20-30 mm at 2.5 m.
* ``PITCH_UP_DEG`` 4: a trunk straightening by 12-25 deg brings the head up with it (its pitch against
  the line of sight changes by about as much); the head's pitch wanders by 1-3 deg while talking.
  ``MIN_TRUNK_MOVE_S`` 0.2: a trunk does not move 80 mm or more faster (a jump of the pose fit).
* ``SHRUG_MM`` 15: shrugs lift the shoulders 20-50 mm; breathing moves them 1-3 mm.
* ``RISE_HIPS`` 0.1 (50 mm) and ``RISE_NECK`` 0.25 (125 mm): rising lifts the hips off the seat by 60 mm
  or more and unbends the trunk; sitting up straight lifts the neck by at most 0.1 torso length.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import MIN_SHOULDER_WIDTH, TORSO_MM, Body
from .headpose import HeadPose
from .signals import Swing, fill_gaps, movement_bounds, movements, nearest, reach, smooth_valid, step, swings
from .types import ActionInstance, overlap, strength_score

SMOOTH_S = 0.15
DEPTH_SMOOTH_S = 0.3
MAX_GAP_S = 0.3
SWAY_SWING_DEG = 2.0
SWAY_DEG = 3.0
SINGLE_SWAY_DEG = 6.0
MAX_SWAY_DEG = 30.0
MAX_SWAY_HALF_S = 1.0
MAX_REVERSAL_HOLD_S = 0.3
MAX_MOVEMENT_S = 1.5
MIN_HOLD_S = 0.3
MAX_HOLD_S = 3.0
TURN_HEAD_DEG = 10.0
TURN_TORSO_DEG = 15.0
TORSO_SHARE = 0.5
WIDTH_NOISE = 0.02
STRAIGHTEN_MM = 80.0
MAX_STRAIGHTEN_S = 2.0
PITCH_UP_DEG = 4.0
MAX_TURN_IN_STRAIGHTEN_DEG = 8.0
SHRUG_MM = 15.0
MAX_SHRUG_RISE_S = 0.8
MAX_SHRUG_S = 2.0
MAX_SHRUG_HOLD_S = 1.0
SHOULDERS_RISE = 0.5  # of the ears-to-shoulders shortening, seen as the shoulders going up in the picture
MIN_TRUNK_MOVE_S = 0.2
RISE_HIPS = 0.1
RISE_NECK = 0.25
MAX_RISE_S = 2.0
MAX_LEAN_S = 1.5
MINOR = {"A1": ("A2", "A3", "A5"), "A3": ("A2", "A5"), "A4": ("A1", "A2", "A3", "A5")}


@dataclass
class Torso:
    """The per-frame torso signals of a track piece (see the module's text); NaN where not measured."""

    lean: np.ndarray  # degrees, > 0 toward the person's left
    lean_source: str
    width: np.ndarray  # shoulder width, torso lengths
    shrug_mm: np.ndarray  # ears above the shoulders
    depth_mm: np.ndarray  # head distance from the camera
    yaw: np.ndarray  # head yaw, degrees
    pitch: np.ndarray  # head pitch, degrees (> 0 down)
    hips_y: np.ndarray  # torso lengths, picture (down > 0)
    neck_y: np.ndarray
    mm_per_unit: np.ndarray  # mm per torso length at the head's depth (TORSO_MM without a head pose)


def torso_signals(body: Body, pose: HeadPose) -> Torso:
    t = body.times
    neck = body.origin
    hips_seen = body.seen("left_hip") & body.seen("right_hip")
    hip = np.where(hips_seen[:, None], (body.point("left_hip") + body.point("right_hip")) / 2, np.nan)
    ls, rs = body.point("left_shoulder"), body.point("right_shoulder")
    d = ls - rs
    f = body.facing
    with np.errstate(invalid="ignore"):
        shoulder_roll = np.degrees(np.arctan2(d[:, 1] * f, d[:, 0] * f))
        v = neck - hip
        hip_lean = np.degrees(np.arctan2(v[:, 0], -v[:, 1])) * f
    width_px = np.linalg.norm(d, axis=-1)
    shoulder_roll[~(width_px >= MIN_SHOULDER_WIDTH * body.scale)] = np.nan  # side-on: no line
    use_hips = np.isfinite(hip_lean).mean() >= 0.5
    lean = hip_lean if use_hips else -shoulder_roll
    ears = _mean_seen(body.point("left_ear"), body.point("right_ear"))
    shoulder_y = (body.local(ls)[:, 1] + body.local(rs)[:, 1]) / 2
    ear_y = body.local(ears)[:, 1]
    mm_per_unit = np.where(np.isfinite(pose.mm_per_px), fill_gaps(pose.mm_per_px, t, 1.0) * body.scale, TORSO_MM)
    mm_per_unit = np.where(np.isfinite(mm_per_unit), mm_per_unit, TORSO_MM)
    shrug = (shoulder_y - ear_y) * mm_per_unit

    def sm(x, s=SMOOTH_S):
        return smooth_valid(fill_gaps(x, t, MAX_GAP_S), t, s)

    return Torso(sm(lean), "hips to neck" if use_hips else "shoulder line", sm(width_px / body.scale),
                 sm(shrug), sm(pose.translation[:, 2], DEPTH_SMOOTH_S), sm(pose.angles[:, 0]), sm(pose.angles[:, 1]),
                 sm(hip[:, 1] / body.scale), sm(neck[:, 1] / body.scale), mm_per_unit)


def _mean_seen(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    both = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    return np.where(both[:, None], (a + b) / 2, np.nan)


def body_actions(body: Body, pose: HeadPose) -> list[ActionInstance]:
    """The body action instances of a track piece (see the module's text)."""
    if not body.usable:
        return []
    times = body.times
    tor = torso_signals(body, pose)
    found = _rises(tor, times) + _turns(tor, times) + _straightening(tor, times) + _shrugs(tor, times) + _sways(tor, times)
    return sorted([i for i in found if not _explained(i, found)], key=lambda i: i.start_s)


def _explained(inst: ActionInstance, others: list[ActionInstance]) -> bool:
    """A sway, straightening or shrug overlapping a larger movement (``MINOR``) by half of itself is part
    of it: a turning or rising trunk rolls in the picture, moves the head back and the shoulders."""
    return any(o.code in MINOR.get(inst.code, ()) and overlap(inst.start_s, inst.end_s, o.start_s, o.end_s)
               > 0.5 * (inst.end_s - inst.start_s) for o in others)


def _finite_runs(x: np.ndarray):
    ok = np.isfinite(x)
    idx = np.flatnonzero(ok)
    if len(idx) < 3:
        return
    breaks = np.flatnonzero(np.diff(idx) > 1)
    for lo, hi in zip(np.r_[0, breaks + 1], np.r_[breaks + 1, len(idx)]):
        if hi - lo >= 3:
            yield int(idx[lo]), int(idx[hi - 1]) + 1


def _chains(sw: list[Swing], times: np.ndarray, max_half_s: float) -> list[list[Swing]]:
    chains: list[list[Swing]] = []
    for s in sw:
        quick = times[s.end] - times[s.start] <= max_half_s
        if chains and quick and times[chains[-1][-1].end] - times[chains[-1][-1].start] <= max_half_s \
                and times[s.start] - times[chains[-1][-1].end] <= MAX_REVERSAL_HOLD_S:
            chains[-1].append(s)
        else:
            chains.append([s])
    return chains


def _sways(tor: Torso, times: np.ndarray) -> list[ActionInstance]:
    out = []
    for a, b in _finite_runs(tor.lean):
        t = times[a:b]
        for chain in _chains(swings(tor.lean[a:b], SWAY_SWING_DEG, 0.15, 0.3), t, MAX_SWAY_HALF_S):
            amps = [abs(s.amplitude) for s in chain]
            big = max(amps)
            span = float(t[chain[-1].end] - t[chain[0].start])
            if big > MAX_SWAY_DEG:
                continue  # beyond the trunk's lateral flexion: the pose model mixed up the points
            if len(chain) >= 2 and big >= SWAY_DEG:
                ratio, pattern = big / SWAY_DEG, "side-to-side oscillation"
            elif len(chain) == 1 and big >= SINGLE_SWAY_DEG and span <= MAX_MOVEMENT_S:
                ratio, pattern = big / SINGLE_SWAY_DEG, "one quick sideways sway"
            else:
                continue
            ev = {"signal": f"torso lean ({tor.lean_source})", "pattern": pattern, "swings": len(chain),
                  "amplitude_deg": round(big, 1), "rate_hz": round(len(chain) / 2 / span, 2) if span > 0 else None}
            out.append(ActionInstance("A1", float(t[chain[0].start]), float(t[chain[-1].end]),
                                      strength_score(ratio), ev))
    return out


def _displacements(x: np.ndarray, times: np.ndarray, threshold: float, max_move_s: float,
                   min_hold_s: float = MIN_HOLD_S, max_hold_s: float = MAX_HOLD_S):
    """(first frame, end of the movement, end of the hold or return, amplitude, returned, hold) of each
    movement of ``x`` by at least ``threshold`` within ``max_move_s`` held at least ``min_hold_s``, with
    its return when it comes within ``max_hold_s`` (half to 1.5 times as large: a larger one goes on past
the start, a movement of its own). A movement runs from turning point to turning point
    (hysteresis half the threshold), split where it pauses for MIN_HOLD_S, and lasts while its speed
    is above an eighth of its peak (``signals.movements``)."""
    for a, b in _finite_runs(x):
        t, seg = times[a:b], x[a:b]
        moves = []
        for s in swings(seg, threshold * 0.5, 0.1, threshold * 0.05):
            for i, j in movements(seg, t, s.peak_from, s.peak_to, MIN_HOLD_S, threshold * 0.5):
                moves.append((i, j, float(seg[j] - seg[i])))
        k = 0
        while k < len(moves):
            i, j, amp = moves[k]
            nxt = moves[k + 1] if k + 1 < len(moves) else None
            k += 1
            if abs(amp) < threshold or t[j] - t[i] > max_move_s:
                continue
            hold = float((t[nxt[0]] if nxt is not None else t[-1]) - t[j])
            if hold < min_hold_s:
                continue
            returned = nxt is not None and hold <= max_hold_s and np.sign(nxt[2]) != np.sign(amp) \
                and 0.5 * abs(amp) <= abs(nxt[2]) <= 1.5 * abs(amp) and t[nxt[1]] - t[nxt[0]] <= max_move_s
            end = nxt[1] if returned else min(len(t) - 1, max(j + 1, nearest(t, t[j] + min(hold, MIN_HOLD_S))))
            if returned:
                k += 1
            yield a + i, a + j, a + end, amp, returned, hold


def _turns(tor: Torso, times: np.ndarray) -> list[ActionInstance]:
    out = []
    for i, j, end, amp, returned, hold in _displacements(tor.yaw, times, TURN_HEAD_DEG, MAX_MOVEMENT_S):
        torso = _torso_turn(tor, times, i, j, amp)
        if torso is None or abs(torso) < TURN_TORSO_DEG or abs(torso) < TORSO_SHARE * abs(amp):
            continue
        ev = {"head_turn_deg": round(abs(amp), 1), "torso_turn_deg": round(abs(torso), 1),
              "direction": "to the person's left" if amp > 0 else "to the person's right",
              "returned": bool(returned), "hold_s": round(hold, 2),
              "signal": "shoulder width (torso yaw) with the head's yaw"}
        out.append(ActionInstance("A2", float(times[i]), float(times[end]), strength_score(abs(torso) / TURN_TORSO_DEG), ev))
    return out


def _torso_turn(tor: Torso, times: np.ndarray, i: int, j: int, head_amp: float) -> float | None:
    """The torso's yaw change (degrees, signed as the head's) from the shoulders' width before frame i
    and after frame j, the head's usual yaw standing for the torso's facing. Where two turns in the
    head's direction give that width (toward the camera by a little, or past it by more), the smaller."""
    before = _around(tor.width, times, i, -1)
    after = _around(tor.width, times, j, +1)
    y0 = float(np.nanmedian(tor.yaw)) if np.isfinite(tor.yaw).any() else float("nan")
    if not (np.isfinite(before) and np.isfinite(after) and np.isfinite(y0)) or before <= 0:
        return None
    if abs(after / before - 1) < WIDTH_NOISE:
        return 0.0  # within the shoulders' jitter: no sign of the torso turning
    c = np.clip(after / before * np.cos(np.radians(y0)), -1.0, 1.0)
    turned = np.degrees(np.arccos(c))  # |y0 + a|
    sign = 1.0 if head_amp > 0 else -1.0
    candidates = [a for a in (turned - y0, -turned - y0) if a * sign > 0]  # the torso's turn a, either side
    return float(min(candidates, key=abs)) if candidates else 0.0  # the smaller: widths cannot tell more


def _around(x: np.ndarray, times: np.ndarray, i: int, direction: int, span_s: float = 0.3) -> float:
    """Median of ``x`` over ``span_s`` before (direction -1) or after (+1) frame i."""
    k = reach(times, i, max(span_s, step(times)), direction)
    seg = x[k:i + 1] if direction < 0 else x[i:k + 1]
    seg = seg[np.isfinite(seg)]
    return float(np.median(seg)) if len(seg) else float("nan")


def _straightening(tor: Torso, times: np.ndarray) -> list[ActionInstance]:
    out = []
    for i, j, end, amp, returned, hold in _displacements(tor.depth_mm, times, STRAIGHTEN_MM, MAX_STRAIGHTEN_S):
        if amp <= 0:
            continue  # toward the camera: leaning forward
        yaw_change = abs(_around(tor.yaw, times, j, +1) - _around(tor.yaw, times, i, -1))
        if np.isfinite(yaw_change) and yaw_change > MAX_TURN_IN_STRAIGHTEN_DEG:
            continue  # a turn (A2) moves the fitted distance too
        pitch_up = _around(tor.pitch, times, i, -1) - _around(tor.pitch, times, j, +1)
        if not (np.isfinite(pitch_up) and pitch_up >= PITCH_UP_DEG):
            continue  # the head did not come up with the torso: not the trunk straightening
        if times[j] - times[i] < MIN_TRUNK_MOVE_S:
            continue  # faster than a trunk moves: the pose fit jumped
        ev = {"pattern": "torso back toward upright (the head moved back and came up)", "head_back_mm": round(float(amp)),
              "head_pitch_up_deg": round(float(pitch_up), 1), "movement_s": round(float(times[j] - times[i]), 2)}
        out.append(ActionInstance("A3", float(times[i]), float(times[j]), strength_score(amp / STRAIGHTEN_MM), ev))
    return out


def _shrugs(tor: Torso, times: np.ndarray) -> list[ActionInstance]:
    out = []
    for i, j, end, amp, returned, hold in _displacements(tor.shrug_mm, times, SHRUG_MM, MAX_SHRUG_RISE_S, 0.0):
        if amp >= 0 or not returned or hold > MAX_SHRUG_HOLD_S or times[end] - times[i] > MAX_SHRUG_S:
            continue
        rise = (_around(tor.neck_y, times, i, -1) - _around(tor.neck_y, times, j, +1)) * np.nanmedian(tor.mm_per_unit[i:j + 1])
        if not rise >= SHOULDERS_RISE * -amp:
            continue  # the ears came down to the shoulders (the head bowed), the shoulders did not go up
        ev = {"lift_mm": round(float(-amp), 1), "shoulders_up_mm": round(float(rise), 1), "hold_s": round(hold, 2),
              "pattern": "shoulders up to the ears and down"}
        out.append(ActionInstance("A4", float(times[i]), float(times[end]), strength_score(-amp / SHRUG_MM), ev))
    return out


def _rises(tor: Torso, times: np.ndarray) -> list[ActionInstance]:
    hips = np.isfinite(tor.hips_y).mean() >= 0.5
    x, threshold, what = (tor.hips_y, RISE_HIPS, "hips") if hips else (tor.neck_y, RISE_NECK, "neck")
    out = []
    for i, j, end, amp, returned, hold in _displacements(x, times, threshold, MAX_RISE_S, min_hold_s=0.0):
        if amp >= 0 or times[j] - times[i] < MIN_TRUNK_MOVE_S:
            continue
        start, stop = _with_lean(tor.depth_mm, times, i, end)
        depth_seen = np.isfinite(tor.depth_mm[reach(times, i, MAX_LEAN_S, -1):j + 1]).mean() >= 0.5
        if depth_seen and start == i:
            continue  # no lean toward the feet first: the hips bobbing, not a person standing up
        ev = {"signal": f"{what} height", "rise_torso_lengths": round(float(-amp), 3),
              "rise_mm": round(float(-amp) * TORSO_MM), "sat_back_down": bool(returned),
              "lean_before_s": round(float(times[i] - times[start]), 2)}
        out.append(ActionInstance("A5", float(times[start]), float(times[stop]), strength_score(-amp / threshold), ev))
    return out


def _with_lean(depth: np.ndarray, times: np.ndarray, i: int, end: int) -> tuple[int, int]:
    """A rise from frame i to frame end, widened by the trunk's lean toward the camera that starts
    before it (standing up begins by bringing the trunk forward over the feet) and by its
    straightening after sitting back down: movements of the head's distance of at least half of
    STRAIGHTEN_MM within MAX_LEAN_S of the rise."""
    lo = int(np.searchsorted(times, times[i] - MAX_LEAN_S))
    hi = int(np.searchsorted(times, times[end] + MAX_LEAN_S, side="right"))
    start, stop = i, end
    for a, b in _finite_runs(depth[lo:hi]):
        seg, t = depth[lo + a:lo + b], times[lo + a:lo + b]
        for s in swings(seg, STRAIGHTEN_MM * 0.5, 0.1, 5.0):
            p, q = movement_bounds(seg, t, s.peak_from, s.peak_to, 0.05)
            p, q = lo + a + p, lo + a + q
            if s.amplitude < 0 and p < i <= q + 1:
                start = min(start, p)
            if s.amplitude > 0 and p - 1 <= end < q:
                stop = max(stop, q)
    return start, stop
