"""The weight-free movement description: MA-52 body part, touch events and resting contacts, and
movement episodes, from one person's (stabilised) keypoints alone.

* **Own motion of each body part**, per frame, in torso lengths per second (speeds measured as the
  motion energy's, ``motion.pair_speed``: the same at every frame rate). A part moves by itself
  when its joints move both in the picture and relative to their parent in the kinematic tree: the
  head relative to the neck (mid-shoulders), each arm's joints relative to their shoulder, each leg's
  relative to its hip, in the frame of the shoulder line (a leaning torso does not move its head).
  Taking the smaller of the two speeds means that a head carried by a swaying
  torso (moves in the picture, not relative to the neck) or a hand resting on the lap while the torso
  sways (moves relative to the shoulder, not in the picture) do not count. The torso's own motion is
  its shoulders' motion in the picture (hips are often hidden by a desk or the thighs and guessed).
  Where a part's parent is not seen (a webcam close-up cut at the shoulders), the part's motion in the
  picture alone counts. Per frame, a part's value is the median over its
  reliably seen joints, averaged over ``PART_SMOOTH_S``.
* **Contacts**: the distance from each hand (wrist and fingertips) to the face/head, the torso and
  the legs (surfaces sampled along the bones), in torso lengths. A contact starts at
  ``motion.CONTACT_DISTANCE`` and ends beyond ``RELEASE_DISTANCE`` (hysteresis: no flicker at the
  threshold) and lasts at least ``motion.MIN_CONTACT_S``. A contact the hand *arrived at* (it was at
  least ``APPROACH_DISTANCE`` away within ``APPROACH_S`` before) is a **touch event**; one already
  in place (hands resting on the lap or clasped on the table) is a **resting contact**, a posture,
  and its end is a **leave** event when the hand moves away; a hand coming back where it rested
  (within ``RETURN_S``) resumes that posture rather than touching anew.
* **Body part** (one of MA-52's 7): a touch event in a stretch names the touched part's hand category
  (face/head -> head-hand, torso -> body-hand, legs -> leg-hand); otherwise the part with the largest
  own motion (body, head, upper limb, lower limb), where the torso counts 1 / ``BODY_SHARE`` times:
  it carries the others, and in 2D a swaying or twisting torso's head and arms lead or lag it (an
  in-depth turn cannot be taken out), so a torso that moves at least ``BODY_SHARE`` as much as the
  most moving part names the movement. ``body_part_scores`` are the evidence shares behind it (they
  sum to 1): with touch events, the touch categories share ``TOUCH_WEIGHT`` by touch time and the
  motion categories the rest by (weighted) own motion; without, the motion categories share all.
* **Movement episodes** (without an MMN checkpoint, the segments where no weight-free action is named,
  ``pipeline.segments``): the frames whose motion
  energy reaches the still threshold, and the frames around them while it stays above ``RELEASE_FACTOR``
  of it (not counting the first ``LANDMARK_SETTLING_S`` after the person appears,
  while the pose model's landmarks settle: on a frozen frame they drift for about 0.4 s), gaps under ``MERGE_GAP_S`` closed, runs under
  ``MIN_EPISODE_S`` or never reaching ``PEAK_FACTOR`` times the threshold dropped (pose jitter hovers
  around the threshold, movements rise well above it), and runs joined across a still stretch during which a hand stays at a
  body part it touched (reaching for the face, holding, taking the hand away: one movement). A run is
  split where the moving body part changes (pieces shorter than ``MIN_PIECE_S`` join a neighbour, and
  neighbouring pieces that ``describe`` would name by the same part, or whose part does not move
  ``SWITCH_FACTOR`` times as much as the neighbour's, join again), at deep minima of the energy averaged over
  ``SPLIT_SMOOTH_S`` (two movements back to back), and, while longer than ``MAX_EPISODE_S`` (MA-52
  actions last about 1.5-2.5 s), at its lowest minimum.

Everything works on chunks of the track, so long videos need bounded memory. This is a heuristic
next to MMN, not a replacement: see the README for how well it does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.chunks import pieces
from common.diskarray import disk_array
from common.frames import frame_interval, frames_covering, frames_within
from common.shots import shot_ranges
from definitions.layout import hand_joints, ma52_layout

from . import motion

BODY_PARTS = ("body", "head", "upper limb", "lower limb", "body-hand", "head-hand", "leg-hand")  # MA-52 order
MOTION_PARTS = ("body", "head", "upper limb", "lower limb")
TOUCH_PART = {"torso": "body-hand", "face/head": "head-hand", "legs": "leg-hand"}
PART_SMOOTH_S = 0.3
RELEASE_DISTANCE = 0.3  # torso lengths
APPROACH_DISTANCE = 0.4
APPROACH_S = 1.0
TOUCH_WEIGHT = 0.6
BODY_SHARE = 0.6  # the torso names the movement when it moves at least this share of the most moving part
PART_WEIGHTS = np.array([1 / BODY_SHARE, 1.0, 1.0, 1.0])  # of MOTION_PARTS
MERGE_GAP_S = 0.25
MIN_EPISODE_S = 0.3
MAX_EPISODE_S = 3.0
DIP_RATIO = 0.5  # a minimum below this fraction of the lower neighbouring peak splits an episode
MIN_PIECE_S = 0.5
SPLIT_SMOOTH_S = 0.5  # minima are looked for in the energy averaged over this (not each turn of a nod)
RETURN_S = 30.0  # a hand arriving where it rested less than this long ago resumes its posture
DWELL_S = 0.5
LANDMARK_SETTLING_S = 0.5  # after a person appears, the pose model's landmarks settle for this long
PEAK_FACTOR = 1.5  # an episode's energy peaks at least this many times the still threshold
# a movement that reached the still threshold goes on while its energy stays above this share of it: energies
# differ by up to 10 % between frame rates (tests/test_frame_rate.py), and without the margin a dip just under the
# threshold cut a movement into pieces too short to count at one rate and not at another (the webcam talker's
# 0.8 s body movement at 7.4 s: an episode at 25 fps, none at 30). A wider margin (0.8) lets pose jitter near
# the threshold go on as movement: 18-23 episodes on the 2 px synthetic suite against 12-14 (docs/DESCRIPTION.md)
RELEASE_FACTOR = 0.9
# a piece split off by body part stands apart from its neighbour only where its part moves at least this many
# times as much as the neighbour's (weighted as named): a frame's motion differs by up to 20 % between frame
# rates (90th percentile near the still threshold, real_dev talkers resampled to 15-60 fps), and a standing
# speaker's body and arms, moving nearly alike for seconds, were cut into "upper limb" and "body" pieces at
# other places at each rate (README "Frame rates")
SWITCH_FACTOR = 1.25
CHUNK = 4096
CONTEXT_S = 1.0  # seconds of context on each side of a chunk (part motion depends on SMOOTH_S + PART_SMOOTH_S)

_L = ma52_layout()
_HANDS = {s: _L.indices(*hand_joints(s)) for s in ("left", "right")}


def _part_joints() -> dict[str, list[tuple[tuple[int, ...], tuple[int, ...] | None]]]:
    """Per motion part: (joints whose mean is one point, parent joints whose mean is its origin, or
    None: the picture). A hand counts as one point (the mean of its wrist and fingertips: finger
    jitter averages out)."""
    neck = tuple(_L.indices("left_shoulder", "right_shoulder"))
    head = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "nose_bridge", "nose_bottom",
            "right_eye_outer_corner", "left_eye_outer_corner", "upper_lip_top", "lower_lip_bottom")
    out = {"body": [((j,), None) for j in _L.indices("left_shoulder", "right_shoulder")],
           "head": [((j,), neck) for j in _L.indices(*head)], "upper limb": [], "lower limb": []}
    for s in ("left", "right"):
        shoulder = (_L.index(f"{s}_shoulder"),)
        out["upper limb"] += [((_L.index(f"{s}_elbow"),), shoulder), ((_L.index(f"{s}_wrist"),), shoulder),
                              (tuple(_HANDS[s]), shoulder)]
        hip = (_L.index(f"{s}_hip"),)
        leg = _L.indices(f"{s}_knee", f"{s}_ankle", f"{s}_big_toe", f"{s}_small_toe", f"{s}_heel")
        out["lower limb"] += [((j,), hip) for j in leg]
    return out


PART_JOINTS = _part_joints()
_SHOULDERS = _L.indices("left_shoulder", "right_shoulder")


@dataclass
class TrackDescription:
    """Whole-track measures of one person (per-frame arrays on disk, see ``common.diskarray``)."""

    times: np.ndarray
    energy: np.ndarray  # [T] motion energy per frame (``motion.frame_energy``)
    parts: np.ndarray  # [T, 4] own motion of MOTION_PARTS per frame
    touches: list[dict]  # touch and leave events
    resting: list[dict]  # resting contacts (postures)
    cuts: tuple = ()  # first frames of the shots after the first


def describe_track(keypoints: np.ndarray, scores: np.ndarray, times: np.ndarray, size: tuple[int, int],
                   scale: float, scratch_dir=None, cuts=()) -> TrackDescription:
    """Per-frame energy and part motion, and the contact events of a whole track, a chunk at a time
    and each shot on its own (nothing is measured across a camera cut)."""
    n = len(times)
    ok = motion.ReliableMask(keypoints, scores, *size)
    contact_ok = motion.ReliableMask(keypoints, scores, *size, min_score=motion.CONTACT_MIN_SCORE)
    energy = np.zeros(n)
    parts = disk_array((n, len(MOTION_PARTS)), np.float32, scratch_dir=scratch_dir)
    dist = disk_array((n, 2, len(motion.TARGETS)), np.float32, fill=np.nan, scratch_dir=scratch_dir)
    touches, resting = [], []
    context = motion.context_frames(times, CONTEXT_S)
    for first, last in shot_ranges(cuts, n):
        energy[first:last] = motion.frame_energy(keypoints[first:last], ok.view(first, last), times[first:last], scale)
        step = frame_interval(times[first:last])
        for p in pieces(first, last, CHUNK, context):
            moving = part_motion(keypoints[p.lo:p.hi], ok[p.lo:p.hi], times[p.lo:p.hi], scale, step)
            parts[p.start:p.stop] = moving[p.own]
            dist[p.start:p.stop] = hand_distances(keypoints[p.start:p.stop], contact_ok[p.start:p.stop], scale)
        t, r = contact_events(dist[first:last], times[first:last], end=motion_end(times, last))
        touches += t
        resting += r
    return TrackDescription(times, energy, parts, touches, resting, tuple(cuts))


# -- own motion of body parts ------------------------------------------------------------------------
def part_motion(keypoints: np.ndarray, ok: np.ndarray, times: np.ndarray, scale: float,
                step: float | None = None) -> np.ndarray:
    """[T, 4] own motion of MOTION_PARTS per frame (torso lengths per second; see the module's text).
    Positions relative to a parent are taken in the shoulders' frame (origin at the parent, axes
    along and across the shoulder line), so a torso that sways or leans carries its head and arms
    without moving them relative to it."""
    n = len(times)
    out = np.zeros((n, len(MOTION_PARTS)), np.float32)
    if n < 2:
        return out
    step = frame_interval(times) if step is None else step  # a chunk gets its whole shot's (same values)
    kp = np.asarray(keypoints, np.float64)
    across = kp[:, _SHOULDERS[0]] - kp[:, _SHOULDERS[1]]
    across /= np.linalg.norm(across, axis=-1, keepdims=True)
    frame_ok = ok[:, _SHOULDERS].all(1) & np.isfinite(across).all(-1)
    along = np.stack([-across[:, 1], across[:, 0]], -1)

    def speed(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
        return motion.pair_speed(x[:, None], valid[:, None], times, step)[:, 0] / scale

    for p, part in enumerate(MOTION_PARTS):
        speeds = []
        for joints, parent in PART_JOINTS[part]:
            pts, pts_ok = kp[:, list(joints)].mean(1), motion.steady(ok[:, list(joints)].all(1), step)
            sp, valid = speed(pts, pts_ok), pts_ok[1:] & pts_ok[:-1]
            if parent is not None:
                rel = pts - kp[:, list(parent)].mean(1)
                rel = np.stack([(rel * across).sum(-1), (rel * along).sum(-1)], -1)
                rel_ok = motion.steady(pts_ok & ok[:, list(parent)].all(1) & frame_ok, step)
                both = rel_ok[1:] & rel_ok[:-1]
                # where the parent is out of the picture (a close-up cut at the shoulders), the motion in
                # the picture alone: a head whose shoulders are unseen still moves
                sp = np.where(both, np.minimum(sp, speed(rel, rel_ok)), sp)
            speeds.append(np.where(valid & np.isfinite(sp), sp, np.nan))
        sp = np.stack(speeds, 1)  # [T-1, points]
        has = np.isfinite(sp).any(1)
        val = np.full(n - 1, np.nan)
        val[has] = np.nanmedian(sp[has], axis=1)
        val = np.nan_to_num(val)
        out[1:, p], out[0, p] = val, val[0]
    return motion.moving_average(out, PART_SMOOTH_S / step).astype(np.float32)


# -- contacts -----------------------------------------------------------------------------------------
def hand_distances(keypoints: np.ndarray, ok: np.ndarray, scale: float) -> np.ndarray:
    """[T, 2 hands (left, right), targets] distance in torso lengths from each hand to each target
    surface (``motion.TARGETS``); NaN where the hand or the target is not reliably seen."""
    kp = np.where(ok[..., None], keypoints, np.nan)
    out = np.full((len(kp), 2, len(motion.TARGETS)), np.nan, np.float32)
    for i, joints in enumerate(_HANDS.values()):
        hp = kp[:, joints]  # [t, 6, 2]
        for k, target in enumerate(motion.TARGETS):
            surf = motion.surface_points(kp, target)
            d = np.linalg.norm(hp[:, :, None] - surf[:, None], axis=-1)  # [t, 6, P]
            with np.errstate(invalid="ignore"):
                m = np.min(np.where(np.isfinite(d), d, np.inf), axis=(1, 2))
            out[:, i, k] = np.where(np.isfinite(m), m / scale, np.nan)
    return out


def contact_events(dist: np.ndarray, times: np.ndarray, end: float | None = None) -> tuple[list[dict], list[dict]]:
    """(touch and leave events, resting contacts) from hand-target distances [T, 2, targets]. A hand
    touches one place at a time (the nearest target), and a contact shorter than ``DWELL_S`` right
    before or after another one of the same hand is the hand passing by on its way, not a contact.
    ``end`` is when the last frame ends (default: one frame interval after it)."""
    events, resting = [], []
    if len(times) == 0:
        return events, resting
    step = frame_interval(times)
    approach, gap = frames_covering(APPROACH_S, step), frames_within(MERGE_GAP_S, step)
    targets = list(motion.TARGETS)
    for i, hand in enumerate(("left", "right")):
        d_all = np.asarray(dist[:, i], np.float64)  # [T, targets]
        with np.errstate(invalid="ignore"):
            nearest = np.nanmin(np.where(np.isfinite(d_all), d_all, np.inf), axis=1, keepdims=True)
        only = np.where(np.isfinite(d_all) & (d_all > nearest), np.inf, d_all)
        runs = sorted((a, b, k) for k in range(len(targets)) for a, b in _contact_runs(only[:, k], step))
        dwell = frames_covering(DWELL_S, step)
        kept = [r for n, r in enumerate(runs) if r[1] - r[0] >= dwell or not (
            (n > 0 and r[0] - runs[n - 1][1] <= gap) or (n + 1 < len(runs) and runs[n + 1][0] - r[1] <= gap))]
        rested_until: dict[int, float] = {}
        for a, b, k in kept:
            d = d_all[:, k]
            start = float(times[a])
            stop = float(times[b]) if b < len(times) else (end if end is not None else float(times[-1]) + step)
            before = d[max(0, a - approach):a]
            rec = {"hand": hand, "target": targets[k], "start_s": round(start, 3), "end_s": round(stop, 3)}
            arrived = np.isfinite(before).any() and np.nanmax(before) >= APPROACH_DISTANCE
            back = k in rested_until and start - rested_until[k] <= RETURN_S
            if arrived and not back:
                events.append(dict(rec, kind="touch"))
                continue
            resting.append(rec)
            rested_until[k] = stop
            after = d[b:b + approach]
            if b < len(d) and np.isfinite(after).any() and np.nanmax(after) >= APPROACH_DISTANCE:
                leave = int(np.argmax(np.nan_to_num(after, nan=-1) >= APPROACH_DISTANCE))
                events.append(dict(rec, start_s=round(stop, 3), end_s=round(float(times[b + leave]) + step, 3),
                                   kind="leave"))
    key = lambda e: (e["start_s"], e["hand"], e["target"])  # noqa: E731
    return sorted(events, key=key), sorted(resting, key=key)


def _contact_runs(d: np.ndarray, step: float) -> list[tuple[int, int]]:
    """Frame runs [a, b) in contact: entered at CONTACT_DISTANCE, left beyond RELEASE_DISTANCE (or
    when the hand is lost for longer than MERGE_GAP_S), lasting at least MIN_CONTACT_S."""
    runs, start, lost = [], None, 0
    max_lost = frames_within(MERGE_GAP_S, step)
    for t, v in enumerate(d):
        if start is None:
            if v <= motion.CONTACT_DISTANCE:
                start, lost = t, 0
            continue
        if not np.isfinite(v):
            lost += 1
            if lost > max_lost:
                runs.append((start, t - lost + 1))
                start = None
            continue
        lost = 0
        if v > RELEASE_DISTANCE:
            runs.append((start, t))
            start = None
    if start is not None:
        runs.append((start, len(d) - lost))
    return [(a, b) for a, b in runs if (b - a) * step >= motion.MIN_CONTACT_S]


def _overlapping(items: list[dict], start: float, end: float) -> list[dict]:
    return [e for e in items if e["start_s"] < end and e["end_s"] > start]


# -- body part ----------------------------------------------------------------------------------------
def body_part(part_energy: dict[str, float], touches: list[dict], start: float, end: float) -> tuple[str | None, dict]:
    """(MA-52 body part, evidence shares) of a stretch from its parts' own motion and the touch events
    that begin in it."""
    arrivals = [e for e in touches if e["kind"] == "touch" and start <= e["start_s"] < end]
    scores = dict.fromkeys(BODY_PARTS, 0.0)
    touch_time: dict[str, float] = {}
    for e in arrivals:
        name = TOUCH_PART[e["target"]]
        touch_time[name] = touch_time.get(name, 0.0) + min(e["end_s"], end) - e["start_s"]
    motion_weight = 1.0 - TOUCH_WEIGHT if touch_time else 1.0
    weighted = {name: part_energy.get(name, 0.0) * w for name, w in zip(MOTION_PARTS, PART_WEIGHTS)}
    total = sum(weighted.values())
    if total > 0:
        for name, e in weighted.items():
            scores[name] = motion_weight * e / total
    if touch_time:
        tt = sum(touch_time.values()) or 1.0
        for name, t in touch_time.items():
            scores[name] = TOUCH_WEIGHT * max(t, 1e-9) / tt
    if not touch_time and not any(scores.values()):
        return None, {k: 0.0 for k in scores}
    best = max(scores, key=scores.get)
    return best, {k: round(v, 4) for k, v in scores.items()}


def describe(desc: TrackDescription, keypoints: np.ndarray, ok, a: int, b: int, scale: float) -> dict:
    """The movement description of frames [a, b) of a track described by ``desc``."""
    times = desc.times
    start = float(times[a]) if a < len(times) else 0.0
    end = motion_end(times, b)
    energies = motion.region_energy(keypoints[a:b], ok[a:b], times[a:b], scale)
    part_energy = _part_energy(desc, a, b)
    part, scores = body_part(part_energy, desc.touches, start, end)
    return {
        "body_part": part,
        "body_part_scores": scores,
        "part_energy": {k: round(v, 4) for k, v in part_energy.items()},
        "motion_energy": round(motion.motion_energy(energies), 4),
        "region_energy": {k: round(v, 4) for k, v in energies.items()},
        "touch_events": _overlapping(desc.touches, start, end),
        "resting_contacts": _overlapping(desc.resting, start, end),
    }


def motion_end(times: np.ndarray, b: int) -> float:
    """The end time of frames [.., b): one frame interval after the last of them, and at most the next
    frame's time (after a hole in the timestamps the next frame comes much later)."""
    if not len(times) or b <= 0:
        return float(times[0]) if len(times) else 0.0
    end = float(times[b - 1]) + frame_interval(times)
    return min(end, float(times[b])) if b < len(times) else end


# -- movement episodes --------------------------------------------------------------------------------
def episodes(desc: TrackDescription, threshold: float, present: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Frame ranges [a, b) of movement episodes (see the module's text)."""
    times = desc.times
    n = len(times)
    if n < 2:
        return []
    step = frame_interval(times)
    at_least = lambda s: frames_covering(s, step)  # noqa: E731
    energy = np.asarray(desc.energy)
    allowed = np.ones(n, bool) if present is None else np.asarray(present, bool).copy()
    for a, _ in motion.runs(allowed):  # the first moments after the person appears: the model settles
        allowed[a:a + at_least(LANDMARK_SETTLING_S)] = False
    for first, _ in shot_ranges(desc.cuts, n):
        allowed[first:first + at_least(LANDMARK_SETTLING_S)] = False  # after a cut too
    active = np.zeros(n, bool)  # hysteresis: a run above RELEASE_FACTOR x the threshold that reaches it
    for a, b in motion.runs(allowed & (energy >= RELEASE_FACTOR * threshold)):
        active[a:b] = bool((energy[a:b] >= threshold).any())
    holds = [(e["start_s"], e["end_s"]) for e in desc.touches if e["kind"] == "touch"]
    out = []
    for first, last in shot_ranges(desc.cuts, n):
        merged: list[list[int]] = []
        for a, b in motion.runs(active[first:last]):
            a, b = a + first, b + first
            if merged and (a - merged[-1][1] <= frames_within(MERGE_GAP_S, step) or _held(holds, times, merged[-1][1], a)):
                merged[-1][1] = b
            else:
                merged.append([a, b])
        for a, b in merged:
            if b - a < at_least(MIN_EPISODE_S) or energy[a:b].max() < PEAK_FACTOR * threshold:
                continue
            for c, d in _split_by_part(desc, a, b, at_least(MIN_PIECE_S)):
                lo, hi = max(first, c - at_least(SPLIT_SMOOTH_S)), min(last, d + at_least(SPLIT_SMOOTH_S))
                e = motion.moving_average(energy[lo:hi], SPLIT_SMOOTH_S / step)
                e = e[c - lo:d - lo]
                cut = e.copy()  # where a split may go: not while a hand is held at what it touched
                for hs, he in holds:
                    cut[(times[c:d] >= hs) & (times[c:d] <= he)] = np.inf
                out += _split_by_energy(e, cut, c, at_least(MIN_PIECE_S), frames_within(MAX_EPISODE_S, step))
    return out


def _held(holds: list[tuple[float, float]], times: np.ndarray, gap_start: int, gap_end: int) -> bool:
    """Whether a touch lasts through the still frames [gap_start, gap_end) (a hand held at the face
    between reaching it and taking it away: one movement)."""
    a, b = float(times[gap_start - 1]), float(times[min(gap_end, len(times) - 1)])
    return any(s <= a and e >= b - MERGE_GAP_S for s, e in holds)


def _dominant(desc: TrackDescription, a: int, b: int) -> np.ndarray:
    """Per frame of [a, b): index in BODY_PARTS of the moving part (touches count from their start)."""
    parts = np.asarray(desc.parts[a:b], np.float64) * PART_WEIGHTS
    dom = np.argmax(parts, axis=1)  # MOTION_PARTS are BODY_PARTS[:4]
    times = desc.times[a:b]
    for e in desc.touches:
        if e["kind"] == "touch":
            inside = (times >= e["start_s"] - APPROACH_S / 2) & (times < e["end_s"])
            dom[inside] = BODY_PARTS.index(TOUCH_PART[e["target"]])
    return dom


def _split_by_part(desc: TrackDescription, a: int, b: int, min_piece: int) -> list[tuple[int, int]]:
    dom = _dominant(desc, a, b)
    # runs of one part shorter than min_piece join their left neighbour (or the right one at the start)
    edges = [0] + [i for i in range(1, len(dom)) if dom[i] != dom[i - 1]] + [len(dom)]
    pieces = [[edges[i], edges[i + 1], int(dom[edges[i]])] for i in range(len(edges) - 1)]
    changed = True
    while changed and len(pieces) > 1:
        changed = False
        for i, (s, e, part) in enumerate(pieces):
            if e - s < min_piece:
                j = i - 1 if i > 0 else i + 1
                lo, hi = min(s, pieces[j][0]), max(e, pieces[j][1])
                pieces[min(i, j)] = [lo, hi, pieces[j][2]]
                del pieces[max(i, j)]
                changed = True
                break
    out = []
    for s, e, part in pieces:  # neighbours the naming rule gives the same part, or not clearly another, join again
        energy = _part_energy(desc, a + s, a + e)
        name = _piece_part(desc, a + s, a + e, energy) or BODY_PARTS[part]
        if out and (out[-1][2] == name or not moves_clearly_more(energy, name, out[-1][2])):
            out[-1][1] = e
        else:
            out.append([s, e, name])
    return [(a + s, a + e) for s, e, _ in out]


def _piece_part(desc: TrackDescription, a: int, b: int, energy: dict[str, float]) -> str | None:
    """The body part ``describe`` names frames [a, b) by (their parts' mean own motion, ``energy``, and the
    touches that begin in them). A piece that absorbed a shorter neighbour carries the label of the frames
    it had, not necessarily the part that moved most over it all."""
    return body_part(energy, desc.touches, float(desc.times[a]), motion_end(desc.times, b))[0]


def moves_clearly_more(part_energy: dict[str, float], part: str, other: str) -> bool:
    """Whether ``part`` moves at least ``SWITCH_FACTOR`` times as much as ``other`` (own motion per part,
    ``_part_energy``, weighted as the naming rule weighs them; a touch category always stands apart)."""
    if part not in MOTION_PARTS or other not in MOTION_PARTS:
        return True
    weight = dict(zip(MOTION_PARTS, PART_WEIGHTS))
    return part_energy[part] * weight[part] >= SWITCH_FACTOR * part_energy[other] * weight[other]


def _part_energy(desc: TrackDescription, a: int, b: int) -> dict[str, float]:
    """Each motion part's mean own motion over frames [a, b) (0 where there are none)."""
    parts = np.asarray(desc.parts[a:b], np.float64)
    return {name: float(parts[:, i].mean()) if len(parts) else 0.0 for i, name in enumerate(MOTION_PARTS)}


def _split_by_energy(e: np.ndarray, cut: np.ndarray, offset: int, min_piece: int, max_len: int) -> list[tuple[int, int]]:
    """Split at the deepest energy minimum (kept >= min_piece frames from both ends; only where ``cut``
    is finite) while it is deep (below DIP_RATIO of the lower peak on either side) or the piece is
    longer than max_len."""
    n = len(e)
    if n >= 2 * min_piece + 1:
        inner = np.arange(min_piece, n - min_piece)
        m = int(inner[np.argmin(cut[inner])])
        if np.isfinite(cut[m]):
            deep = e[m] < DIP_RATIO * min(e[:m].max(), e[m + 1:].max())
            if deep or n > max_len:
                return (_split_by_energy(e[:m], cut[:m], offset, min_piece, max_len)
                        + _split_by_energy(e[m:], cut[m:], offset + m, min_piece, max_len))
    return [(offset, offset + n)]
