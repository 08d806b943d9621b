"""Head actions from the head-pose angles: B1 nodding, B2 shaking head, B3 turning head, B4 tilting
head, B5 bowing head, B6 head up.

The angles are read on a uniform grid of ``GRID_S`` (linear between the frames) and averaged over
``SMOOTH_S`` there, so every duration below is measured in seconds whatever the frame rate (``_runs``
says what read at the frames did: docs/KINEMATICS.md, "Frame rates").

Each angle (yaw, pitch, roll; ``headpose``) is cut into **swings**: movements from one turning point
to the next of at least ``MIN_SWING_DEG`` (a zigzag with that hysteresis, so jitter below it never
makes a turning point). A swing starts when the angle last left its turning point by
``SETTLE_FRACTION`` of the swing before the swing's middle (a slow drift before it does not count) and
ends when it is first that close to the next one after its middle; what lies between two swings is a
**hold**. Then, per angle:

* **Oscillations**: swings that follow each other with holds under ``MAX_REVERSAL_HOLD_S`` and each
  last at most ``MAX_HALF_CYCLE_S``. Pitch: two or more swings (down and up: one nod; a series of nods
  is one instance; some nods start upward) -> B1 nodding. Yaw: three or more swings (left-right-left) -> B2 shaking head; two (out and
  back) -> B3 turning head (a glance aside), when large enough for a turn. Roll: B4 tilting head.
* **Displacements** (looked for first): a swing followed by a hold of at least ``MIN_HOLD_S`` (the
  head stays turned, tilted, bowed or raised, within ``HOLD_TOLERANCE`` of the swing, and no quick
  swing back larger than that begins), with the return when the angle comes back halfway within
  ``MAX_HOLD_S`` (however slowly; a flick back undone within ``MIN_HOLD_S`` is none). The return ends
  with the swing whose movement brings the head through halfway, or where it passes halfway when it
  drifted back there before the next swing moved (that swing is then free to be the next movement;
  which swing the drift belongs to is not decided at its turning point, which lies where the angle
  is flat and moves by a grid step with the frame rate, but where the swing has moved 15 %): yaw -> B3,
  roll -> B4, pitch down -> B5 bowing head, pitch up -> B6 head up, each when the swing reaches its
  ``DISPLACEMENT_DEG``.

Where instances of different angles overlap by more than half of the shorter, one whose angle moved
less than 1 / ``CROSSTALK_RATIO`` as far as the other's is crosstalk (a turning head moves the
fitted pitch and roll a little, and a nod the yaw) and is dropped: the larger rotation names the
gesture.

The values (why each holds for footage in general; docs/KINEMATICS.md has the measurements):

* ``MIN_SWING_DEG`` 2.0: the nod swings of the MA-52 nodding demo clip measure 2.6-3.8 deg with
  MediaPipe (small heads, faces masked); on still stretches of real footage the fitted angles wander
  by less than 1 deg peak to peak within a second, so a swing of 2 deg is over twice that. Nods in
  conversation are mostly 5-15 deg (motion-capture studies, e.g. Hadar et al. 1985).
* ``NOD_DEG`` 3 and ``SHAKE_DEG`` 6: the largest swing of a nod series and of a head shake. Nods
  measure 3.8 deg on the MA-52 nodding clip; a "no" turns the head 10-35 deg, and a head rolling
  7 deg each way in the picture (the animated sample's tilt) reads as 4.6 deg of yaw through the fit
  (a generic head's depth never matches the person's exactly), so 6 deg stays clear of that.
* ``MAX_HALF_CYCLE_S`` 0.7: nods and shakes run at 1-4 Hz (half cycles 0.12-0.5 s; Hadar et al.
  1985; fast nods up to 6 Hz in Hale et al. 2020); 0.7 s admits slow nods of 0.7 Hz.
* ``MAX_REVERSAL_HOLD_S`` 0.25: the head does not stop at the turning points of an oscillation; a
  stop of a quarter second is a held position.
* ``MIN_HOLD_S`` 0.3: a held head position lasts at least this (MA-52 clips are 1.5-2.5 s with the
  movement in them).
* ``HOLD_TOLERANCE`` 0.3: a held head wobbles by less than a third of the movement that put it there
  (fits of a head near profile wobble by 3-5 deg at 60 deg of yaw).
* ``MAX_HOLD_S`` 3.0: a return within this belongs to the same action (MA-52 actions last about
  1.5-2.5 s; a head held turned for longer has two instances, out and back).
* ``MAX_MOVEMENT_S`` 1.5: a displacement's swing takes at most this; head turns of 10-60 deg take
  0.2-1 s (peak velocities 50-300 deg/s), and a change spread over more is a drift of posture.
* ``DISPLACEMENT_DEG``: turn 8 (gaze shifts beyond about 10 deg recruit the head; speech moves yaw
  by less than 5 deg on the real talking clips), tilt 7, bow 8, head up 7 (both beyond speech-related
  pitch movement, 3-5 deg).
"""
from __future__ import annotations

import numpy as np

from common.frames import frame_interval

from .headpose import HeadPose
from .signals import Swing, smooth, turning_points
from .types import ActionInstance, overlap, strength_score

YAW, PITCH, ROLL = 0, 1, 2
CHANNELS = ("yaw", "pitch", "roll")
MIN_SWING_DEG = 2.0
SETTLE_FRACTION = 0.15
MAX_HALF_CYCLE_S = 0.7
MAX_REVERSAL_HOLD_S = 0.25
MIN_HOLD_S = 0.3
MAX_HOLD_S = 3.0
MAX_MOVEMENT_S = 1.5
HOLD_TOLERANCE = 0.3  # of the swing: a held position wobbles by less
PAUSE_DEG = 1.5  # a head that stays within this for MIN_HOLD_S has paused (still-frame wander: < 1 deg)
DISPLACEMENT_DEG = {"turn": 8.0, "tilt": 7.0, "bow": 8.0, "up": 7.0}
NOD_DEG = 3.0  # the largest swing of a nod series reaches at least this (B1)
SHAKE_DEG = 6.0  # likewise for a head shake (B2)
SMOOTH_S = 0.1  # the fitted angles are averaged over this (pose jitter; a 4 Hz nod keeps 76 %)
GRID_S = 0.01  # the angles are read on a grid of this step, whatever the frame rate (see _runs)
MAX_GAP_S = 0.3  # missing head poses over at most this are interpolated
MIN_CONFIDENCE = 0.15
CROSSTALK_RATIO = 1.5


def head_actions(pose: HeadPose, times: np.ndarray) -> list[ActionInstance]:
    """The head action instances of a track's head pose (see the module's text)."""
    found: list[ActionInstance] = []
    for channel in (YAW, PITCH, ROLL):
        for a, b, grid, signal in _runs(pose, times, channel):
            swings = _swings(signal, channel, grid)
            found += _classify(swings, signal, grid, channel, _reliability(pose, a, b))
    return _drop_crosstalk(sorted(found, key=lambda i: i.start_s))


def _reliability(pose: HeadPose, a: int, b: int) -> float:
    """How far the head-pose fit of frames [a, b) can be trusted (0.5-1): its mean confidence against
    a typical clean fit's 0.5."""
    conf = pose.confidence[a:b]
    return float(np.clip(np.mean(conf[conf > 0]) / 0.5, 0.5, 1.0)) if (conf > 0).any() else 0.5


def _runs(pose: HeadPose, times: np.ndarray, channel: int):
    """(first, last frame, grid times, smoothed angle on the grid) of each stretch with a head pose (gaps
    up to MAX_GAP_S interpolated).

    The angle is read on a uniform grid of ``GRID_S`` (linear between the frames) and averaged over
    ``SMOOTH_S`` there, so every later step (turning points, pauses, where a swing starts and ends, the
    holds between swings) measures time in seconds, not in frames: read at the frames, a swing's edges
    fell on the nearest frame (up to a frame interval, 0.067 s at 15 fps, outward on each side, so the
    hold between two swings read 0.13 s shorter at 15 fps than at 30), and an average over a rounded
    number of frames spanned 0.13 s at 15 fps, 0.08 s at 25 and 0.1 s at 30, an even count shifting
    the angle by half a frame."""
    good = pose.valid & (pose.confidence >= MIN_CONFIDENCE)
    idx = np.flatnonzero(good)
    if len(idx) < 3:
        return
    breaks = np.flatnonzero(np.diff(times[idx]) > MAX_GAP_S)
    for lo, hi in zip(np.r_[0, breaks + 1], np.r_[breaks + 1, len(idx)]):
        a, b = int(idx[lo]), int(idx[hi - 1]) + 1
        if times[b - 1] - times[a] < 2 * SMOOTH_S:
            continue
        sel = idx[lo:hi]
        grid = times[a] + GRID_S * np.arange(int(np.floor((times[b - 1] - times[a]) / GRID_S + 1e-9)) + 1)
        signal = np.interp(grid, times[sel], pose.angles[sel, channel])
        yield a, b, grid, smooth(signal, grid, SMOOTH_S)


def _split_at_pauses(x: np.ndarray, times: np.ndarray, pivots: list[int]) -> tuple[list[int], set[int]]:
    """Turning points, plus both ends of every pause inside a movement in one direction (the head went
    up, stayed 3 s, went further up: two movements, not one), and the first ends of the pauses. A pause
    is at least MIN_HOLD_S during which the angle stays within ``PAUSE_DEG``, with MIN_SWING_DEG of
    movement on both sides; it is a hold, never a swing (a slow drift within it, however far it adds
    up, is not a movement)."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    if len(x) < 3:
        return pivots, set()
    width = max(2, int(round(MIN_HOLD_S / frame_interval(times))) + 1)  # samples spanning MIN_HOLD_S
    origin = -(width // 2)  # windows [i, i + width)
    band = maximum_filter1d(x, width, origin=origin) - minimum_filter1d(x, width, origin=origin)
    out = [pivots[0]] if pivots else []
    pauses: set[int] = set()
    for p, q in zip(pivots[:-1], pivots[1:]):
        calm = np.zeros(len(x), bool)
        if q - p > width:
            calm[p:q - width + 1] = band[p:q - width + 1] <= PAUSE_DEG
        last = p
        for a, b in _true_runs(calm):
            b = b - 1 + width - 1  # the pause's last frame
            if abs(x[a] - x[last]) >= MIN_SWING_DEG and abs(x[q] - x[b]) >= MIN_SWING_DEG:
                out += [a, b]
                pauses.add(a)
                last = b
        out.append(q)
    return out, pauses


def _true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    m = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[::2], edges[1::2]))


def _swings(x: np.ndarray, channel: int, times: np.ndarray) -> list[Swing]:
    """The swings between the turning points of hysteresis MIN_SWING_DEG (and pauses)."""
    pivots, pauses = _split_at_pauses(x, times, turning_points(x, MIN_SWING_DEG))
    out = []
    for p, q in zip(pivots[:-1], pivots[1:]):
        amp = float(x[q] - x[p])
        if p in pauses or abs(amp) < MIN_SWING_DEG:
            continue
        tol = max(SETTLE_FRACTION * abs(amp), 0.3)
        seg = x[p:q + 1]
        half = int(np.flatnonzero(np.sign(amp) * (seg - x[p]) >= abs(amp) / 2)[0])  # the movement's middle
        near_start = np.flatnonzero(np.abs(seg[:half + 1] - x[p]) <= tol)
        near_end = np.flatnonzero(np.abs(seg[half:] - x[q]) <= tol)
        start = p + (int(near_start[-1]) if len(near_start) else 0)
        end = p + half + (int(near_end[0]) if len(near_end) else q - p - half)
        out.append(Swing(channel, start, max(end, start + 1), amp, p, q))
    return out


def _chains(swings: list[Swing], times: np.ndarray) -> list[list[Swing]]:
    """Swings joined into oscillations: quick swings with short holds between them."""
    chains: list[list[Swing]] = []
    for s in swings:
        quick = times[s.end] - times[s.start] <= MAX_HALF_CYCLE_S
        if chains and quick and _quick(chains[-1][-1], times) and \
                times[s.start] - times[chains[-1][-1].end] <= MAX_REVERSAL_HOLD_S:
            chains[-1].append(s)
        else:
            chains.append([s])
    return chains


def _quick(s: Swing, times: np.ndarray) -> bool:
    return times[s.end] - times[s.start] <= MAX_HALF_CYCLE_S


def _classify(swings: list[Swing], x: np.ndarray, times: np.ndarray, channel: int,
              reliability: float) -> list[ActionInstance]:
    """Held displacements first (each takes its swings out, the wobble while held and the return);
    the swings left make oscillations."""
    out: list[ActionInstance] = []
    used: set[int] = set()
    rest = {}  # per swing: the angle where its chain of quick swings began (the head's rest)
    for chain in _chains(swings, times):
        for sw in chain:
            rest[id(sw)] = x[chain[0].start]
    for k, s in enumerate(swings):
        if k in used or abs(x[s.end] - rest[id(s)]) <= abs(x[s.start] - rest[id(s)]):
            continue  # a swing back toward the rest is no displacement (the last swing of a nod)
        found = _displacement(k, swings, x, times, channel, reliability)
        if found is not None:
            inst, last = found
            out.append(inst)
            used.update(range(k, last + 1))
    free = [s for k, s in enumerate(swings) if k not in used]
    for chain in _chains(free, times):
        inst = _oscillation(chain, times, channel, reliability)
        if inst is not None:
            out.append(inst)
    return _merge_returns(out)


def _evidence_swings(chain: list[Swing], times: np.ndarray) -> dict:
    amps = [abs(s.amplitude) for s in chain]
    span = times[chain[-1].end] - times[chain[0].start]
    return {"swings": len(chain), "amplitude_deg": round(max(amps), 1),
            "mean_amplitude_deg": round(float(np.mean(amps)), 1),
            "rate_hz": round(len(chain) / 2 / span, 2) if span > 0 else None}


def _oscillation(chain: list[Swing], times: np.ndarray, channel: int, reliability: float) -> ActionInstance | None:
    if len(chain) < 2:
        return None
    ev = _evidence_swings(chain, times)
    ev["angle"] = CHANNELS[channel]
    start, end = float(times[chain[0].start]), float(times[chain[-1].end])
    big = ev["amplitude_deg"]
    if channel == PITCH:
        if big < NOD_DEG:
            return None
        return ActionInstance("B1", start, end, strength_score(big / NOD_DEG * min(1.0, len(chain) / 2), reliability),
                              dict(ev, pattern="down-up oscillation", nods=len(chain) // 2 or 1))
    if channel == YAW:
        if len(chain) >= 3 and big >= SHAKE_DEG:
            return ActionInstance("B2", start, end, strength_score(big / SHAKE_DEG, reliability),
                                  dict(ev, pattern="left-right oscillation"))
        if big >= DISPLACEMENT_DEG["turn"]:
            return ActionInstance("B3", start, end, strength_score(big / DISPLACEMENT_DEG["turn"], reliability),
                                  dict(ev, pattern="quick turn and back", direction=_side(chain[0].amplitude)))
        return None
    if big >= DISPLACEMENT_DEG["tilt"]:
        return ActionInstance("B4", start, end, strength_score(big / DISPLACEMENT_DEG["tilt"], reliability),
                              dict(ev, pattern="tilt and back", direction=_tilt_side(chain[0].amplitude)))
    return None


def _side(amplitude: float) -> str:
    return "to the person's left" if amplitude > 0 else "to the person's right"


def _tilt_side(amplitude: float) -> str:
    return "toward the left shoulder" if amplitude > 0 else "toward the right shoulder"


def _displacement(k: int, swings: list[Swing], x: np.ndarray, times: np.ndarray, channel: int,
                  reliability: float) -> tuple[ActionInstance, int] | None:
    """Swing ``k`` as a held displacement: it reaches its action's ``DISPLACEMENT_DEG`` within
    MAX_MOVEMENT_S and the head then stays there for MIN_HOLD_S (or the track ends): the angle within
    HOLD_TOLERANCE of the swing, and no quick swing (at most MAX_HALF_CYCLE_S) larger than that
    tolerance begins: the head swinging straight back, the next half of an oscillation, has not held
    its position, however slowly that swing ends; with the return when
    the angle comes back halfway within MAX_HOLD_S. Returns the instance and the index of the last swing
    it covers."""
    s = swings[k]
    amp = abs(s.amplitude)
    code, key, detail = _held_kind(channel, s.amplitude)
    if amp < DISPLACEMENT_DEG[key] or times[s.end] - times[s.start] > MAX_MOVEMENT_S:
        return None  # too small, or a slow drift of posture rather than a movement
    held = x[s.end]
    away = np.flatnonzero(np.abs(x[s.end:] - held) > HOLD_TOLERANCE * amp)
    leave = s.end + int(away[0]) if len(away) else len(x) - 1
    moved = next((w.start for w in swings[k + 1:] if abs(w.amplitude) > HOLD_TOLERANCE * amp and _quick(w, times)), None)
    hold = float(times[leave if moved is None else min(leave, moved)] - times[s.end])
    if hold < MIN_HOLD_S and (len(away) or moved is not None):
        return None
    last, end, returned = k, float(times[s.end]) + min(hold, MIN_HOLD_S), False
    halfway = _return(x, times, s, leave, held, amp) if len(away) else None
    if halfway is not None:  # the head came back halfway: by a swing, or drifting back between swings
        last, end, returned = k, float(times[halfway]), True
        for j in range(k + 1, len(swings)):
            if swings[j].start > halfway:  # back halfway before this swing moved: the drift was the return
                break
            last = j  # a wobble while held, or the swing that brings the head back through halfway
            if halfway <= swings[j].peak_to:
                end = float(times[swings[j].end])
                break
    ev = {"angle": CHANNELS[channel], "amplitude_deg": round(amp, 1), "hold_s": round(hold, 2),
          "movement_s": round(float(times[s.end] - times[s.start]), 2), "returned": returned,
          "pattern": "held " + {"B3": "turn", "B4": "tilt", "B5": "bow", "B6": "raise"}[code], **detail}
    return ActionInstance(code, float(times[s.start]), end, strength_score(amp / DISPLACEMENT_DEG[key], reliability), ev), last


def _return(x: np.ndarray, times: np.ndarray, s: Swing, leave: int, held: float, amp: float) -> int | None:
    """Where the head held after swing ``s`` comes back through halfway (from ``leave`` on, within
    MAX_HOLD_S of arriving), or None. A flick back that is undone within MIN_HOLD_S (the angle within
    HOLD_TOLERANCE of the held one again) is no return: the head has not left the position it holds
    (on small faces a fit flips to another solution for a frame or two and back)."""
    sign, base = np.sign(s.amplitude), x[s.start]
    pos = leave
    while pos < len(x):
        back = np.flatnonzero(sign * (x[pos:] - base) <= 0.5 * amp)
        if not len(back) or times[pos + int(back[0])] - times[s.end] > MAX_HOLD_S:
            return None
        halfway = pos + int(back[0])
        soon = int(np.searchsorted(times, times[halfway] + MIN_HOLD_S, side="right"))
        again = np.flatnonzero(np.abs(x[halfway + 1:soon] - held) <= HOLD_TOLERANCE * amp)
        if not len(again):
            return halfway
        pos = halfway + 1 + int(again[0])
    return None


def _held_kind(channel: int, amplitude: float) -> tuple[str, str, dict]:
    if channel == YAW:
        return "B3", "turn", {"direction": _side(amplitude)}
    if channel == ROLL:
        return "B4", "tilt", {"direction": _tilt_side(amplitude)}
    return ("B5", "bow", {"direction": "down"}) if amplitude > 0 else ("B6", "up", {"direction": "up"})


def _merge_returns(found: list[ActionInstance]) -> list[ActionInstance]:
    """A displacement whose return was already covered by the previous instance of the same code is
    not counted twice."""
    out: list[ActionInstance] = []
    for inst in sorted(found, key=lambda i: (i.start_s, -i.end_s)):
        if out and out[-1].code == inst.code and inst.start_s < out[-1].end_s:
            if inst.score > out[-1].score:
                inst.start_s = min(inst.start_s, out[-1].start_s)
                inst.end_s = max(inst.end_s, out[-1].end_s)
                out[-1] = inst
            else:
                out[-1].end_s = max(out[-1].end_s, inst.end_s)
            continue
        out.append(inst)
    return out


def _drop_crosstalk(found: list[ActionInstance]) -> list[ActionInstance]:
    """Drop an instance overlapping (over half of the shorter) one of another angle that turned at
    least CROSSTALK_RATIO times as far: the larger rotation names the gesture."""
    def dominated(inst: ActionInstance) -> bool:
        return any(other.evidence["angle"] != inst.evidence["angle"]
                   and overlap(inst.start_s, inst.end_s, other.start_s, other.end_s)
                   > 0.5 * min(inst.end_s - inst.start_s, other.end_s - other.start_s)
                   and other.evidence["amplitude_deg"] >= CROSSTALK_RATIO * inst.evidence["amplitude_deg"]
                   for other in found)
    return [inst for inst in found if not dominated(inst)]
