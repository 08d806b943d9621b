"""The hands and arms in the body's frames, and their **visits**: the shared ground of the upper-limb (C),
body-hand (E) and leg-hand (G) rules.

**A hand's points.** The hand model's six points (wrist and five fingertips) where seen; the hand's
centre is their mean, else the body model's wrist. Positions are in torso lengths, in two frames:

* the torso's frame (``body``): where the hand is on the body (chest, shoulder, hip); ``out`` is the
  lateral coordinate toward the hand's own side (x for the left hand, -x for the right), so that one
  rule serves both hands;
* the seat's frame: the picture's axes with the origin at the hip centre (at the neck where the hips
  are not seen): whether the hand moves. A hand resting on the lap stays still in it while the trunk
  leans or sways, and moves with the hips when the person rises.

**Place and stillness.** The hand's place is its centre averaged over ``PLACE_S``: a moving average over
half a second removes the repeated small movements of scratching, rubbing and patting (2-6 Hz) but keeps
reaches (0.3-1 s). The hand **stays** where its place moves less than ``STAY_MOVE`` within
``STAY_WINDOW_S``. The arm's pose is the elbow's place relative to its shoulder (so averaged too).

**Home.** Each hand's home is where it first stays for ``HOME_MIN_S`` with its place low on the body
(``REST_Y`` torso lengths below the neck or lower: the lap, the thighs, a table): resting there is a
posture, not an action. The first such stay, not the longest: a hand held on the hip or the knee for
most of a short clip has left its rest to go there. A hand that never stays that low but holds still
from the track's start for ``HELD_FROM_START_S`` (hands clasped in front of a standing speaker) has that
place as its home.
The hand is away from home when its place is over ``HOME_RADIUS`` from it, or its elbow over
``ELBOW_AWAY`` from where it was at home (a hand reaching forward to the knee or back beside the hip moves
mostly in depth, which the elbow shows: the upper arm swings and looks shorter; the hand itself moves
in the picture by ``HAND_SHIFT`` at least, and the neck stays within ``TRUNK_MOVED`` of its usual place in
the seat's frame: a trunk leaning, rising or straightening swings the elbows of hands that stay on the
lap). Without a home (the hands
rest below the picture, or never rest) every stretch where the hand is seen is away.

**Visits.** A visit is a stretch of at least ``MIN_VISIT_S`` away from home (gaps of ``GAP_S`` bridged): it
starts when the hand begins to move (hand or elbow faster than ``REACH_FRACTION`` of the reach's peak
speed and than ``MOVING_FLOOR``, at most ``MAX_REACH_S`` before it is away) and ends when it has come back
and stopped (likewise after); the hand was seen arriving when that peak passed ``MOVING``. Its main stay (the longest stay
inside it) is the place that the rules name.

The values:

* ``PLACE_S`` 0.5: the moving average of one period of a 2 Hz movement is zero; 2.5-6 Hz keep under
  20 % of their amplitude.
* ``STAY_MOVE`` 0.08 (40 mm) in ``STAY_WINDOW_S`` 0.3 s: a reaching hand moves at 0.3-1 m/s (100-300 mm in
  0.3 s); a scratching or patting hand, averaged, moves under 15 mm.
* ``HOME_RADIUS`` 0.12 (60 mm) and ``ELBOW_AWAY`` 0.1 (50 mm): a hand back at rest lands within a few
  centimetres of where it was; resting hands and elbows, averaged, wander by under 10 mm.
* ``REST_Y`` 0.6: hands resting on the lap or a table lie 0.65-1.1 torso lengths below the neck; hands
  held in front of the chest (together, crossed, pointing) lie 0.2-0.55 below it.
* ``HAND_SHIFT`` 0.04 (20 mm): a hand reaching from the lap to the knee moves 30-150 mm in the picture;
  a resting hand's averaged place wanders by under 5 mm.
* ``TRUNK_MOVED`` 0.1 (50 mm): breathing and talking move the neck by under 20 mm; a lean of 10 deg
  moves it 90 mm.
* ``MOVING`` 0.2 (100 mm/s): resting hands with pose jitter move under 40 mm/s once smoothed over 0.1 s;
  ``MOVING_FLOOR`` 0.08 (40 mm/s, what resting hands stay under) and ``REACH_FRACTION`` 0.12: a minimum-jerk reach is above 12 % of its
  peak speed for all but 9 % of its duration at each end.
* ``MIN_VISIT_S`` 0.4: a reach out and back takes at least this.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from definitions.layout import hand_joints

from .body import Body
from .signals import fill_gaps, reach, runs, settled, smooth_valid
from .types import ActionInstance, merge_sides

PLACE_S = 0.5
SPEED_SMOOTH_S = 0.1
STAY_MOVE = 0.08
STAY_WINDOW_S = 0.3
MIN_STAY_S = 0.3
HOME_RADIUS = 0.12
ELBOW_AWAY = 0.1
TRUNK_MOVED = 0.1
HAND_SHIFT = 0.04
REST_Y = 0.6
HOME_MIN_S = 0.5
HELD_FROM_START_S = 1.0
MOVING = 0.2
MIN_VISIT_S = 0.4
GAP_S = 0.25
MAX_REACH_S = 1.2
REACH_FRACTION = 0.12
MOVING_FLOOR = 0.08
SIDES = ("left", "right")
TIPS = slice(1, 6)
THUMB, INDEX, MIDDLE, RING, PINKY = 1, 2, 3, 4, 5


RELIABLE_SCORE = 0.8  # hand models give 0.8-1.0 to hands they see clearly


@dataclass
class Naming:
    """A rule's answer about a visit: the code, how far the deciding quantity passes its threshold
    (>= 1) and the measured evidence."""
    code: str
    ratio: float
    evidence: dict


@dataclass
class Visit:
    """A hand away from its home: frames [start, end) from leaving to being back, its main stay
    [stay_a, stay_b), whether it was seen moving there (``arrived``) and away again (``left``)."""
    side: str
    start: int
    end: int
    stay_a: int
    stay_b: int
    arrived: bool
    left: bool
    stayed: bool = True  # False: the hand stayed nowhere (its main stay is then the whole time away)


@dataclass
class Hand:
    """One hand's track (torso lengths; NaN where not seen)."""
    side: str
    sign: float  # +1 for the left hand: x * sign points outward, toward the hand's own side
    points: np.ndarray  # [T, 6, 2] torso frame: wrist, thumb, index, middle, ring, pinky tips
    centre: np.ndarray  # [T, 2] torso frame
    wrist: np.ndarray  # [T, 2] torso frame
    elbow: np.ndarray  # [T, 2] torso frame
    shoulder: np.ndarray  # [T, 2] torso frame
    model_seen: np.ndarray  # [T] how many of the six hand-model points are seen
    seat: np.ndarray  # [T, 2] the centre in the seat's frame
    place: np.ndarray  # [T, 2] seat frame, averaged over PLACE_S
    arm: np.ndarray  # [T, 2] elbow - shoulder (picture axes), averaged over PLACE_S
    speed: np.ndarray  # [T] torso lengths a second (hand or elbow, the faster)
    stays: np.ndarray  # [T] bool
    home: np.ndarray | None = None  # [2] seat frame
    arm_home: np.ndarray | None = None  # [2]
    away: np.ndarray | None = None  # [T] bool
    visits: list | None = None

    def out(self, xy: np.ndarray) -> np.ndarray:
        """The outward lateral coordinate of torso-frame points [..., 2]."""
        return xy[..., 0] * self.sign

    @property
    def seen(self) -> np.ndarray:
        return np.isfinite(self.centre).all(-1)

    def extent(self) -> np.ndarray:
        """[T] the largest wrist-to-fingertip distance seen (torso lengths; NaN without the hand model)."""
        d = np.linalg.norm(self.points[:, TIPS] - self.points[:, :1], axis=-1)
        with np.errstate(all="ignore"):
            e = np.nanmax(np.where(np.isfinite(d), d, -np.inf), axis=1)
        return np.where(np.isfinite(e), e, np.nan)

    def upper_arm(self) -> np.ndarray:
        """[T] the upper arm's apparent length (shoulder to elbow, torso lengths)."""
        return np.linalg.norm(self.elbow - self.shoulder, axis=-1)


def hands_of(body: Body) -> dict[str, Hand]:
    """Both hands of a track piece, with their homes and visits."""
    return {side: _hand(body, side) for side in SIDES}


def seat_origin(body: Body) -> np.ndarray:
    """[T, 2] pixels: the hip centre where the hips are seen in most frames (gaps of a second filled),
    else the neck."""
    hips = body.seen("left_hip") & body.seen("right_hip")
    if hips.mean() >= 0.5:
        origin = np.where(hips[:, None], (body.point("left_hip") + body.point("right_hip")) / 2, np.nan)
        return fill_gaps(origin, body.times, 1.0)
    return body.origin


def _hand(body: Body, side: str) -> Hand:
    t = body.times
    px = body.points(hand_joints(side))  # [T, 6, 2]
    seen = np.isfinite(px).all(-1)
    arm_wrist_px = body.point(f"{side}_wrist")
    with np.errstate(invalid="ignore"):
        mean_px = np.nansum(np.where(seen[..., None], px, 0.0), axis=1) / seen.sum(1)[:, None]
    centre_px = np.where(seen.any(1)[:, None], mean_px, arm_wrist_px)
    wrist_px = np.where(seen[:, :1], px[:, 0], arm_wrist_px)
    seat = (centre_px - seat_origin(body)) / body.scale
    place = smooth_valid(seat, t, PLACE_S)
    elbow_px, shoulder_px = body.point(f"{side}_elbow"), body.point(f"{side}_shoulder")
    arm = smooth_valid((elbow_px - shoulder_px) / body.scale, t, PLACE_S)
    speed = np.fmax(_speed(seat, t), _speed((elbow_px - shoulder_px) / body.scale, t))
    hand = Hand(side, 1.0 if side == "left" else -1.0, body.local(px), body.local(centre_px), body.local(wrist_px),
                body.local(elbow_px), body.local(shoulder_px), seen.sum(1), seat, place, arm, speed,
                settled(place, t, STAY_WINDOW_S, STAY_MOVE))
    hand.home, hand.arm_home = _home(hand, t)
    hand.away = _away(hand, _trunk_moved(body))
    hand.visits = _visits(hand, t)
    return hand


def _speed(xy: np.ndarray, times: np.ndarray) -> np.ndarray:
    if len(times) < 2:
        return np.zeros(len(times))
    fine = smooth_valid(xy, times, SPEED_SMOOTH_S)
    return np.linalg.norm(np.gradient(fine, times, axis=0), axis=-1)


def _home(hand: Hand, times: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Where the hand rests: the place of its first stay of HOME_MIN_S or more low on the body (not one it
    came into the picture to reach: hands resting below a waist-up picture are not seen at rest), with the
    stays near it (within HOME_RADIUS: their median), and the arm's pose over that stay's first
    HOME_MIN_S (a hand reaching to the knee can stay in the picture while its elbow swings); without a low stay, the
    place where the hand holds still from the track's start for HELD_FROM_START_S (clasped or folded
    hands)."""
    placed = hand.stays & np.isfinite(hand.place).all(1)
    with np.errstate(invalid="ignore"):
        low = placed & (hand.centre[:, 1] >= REST_Y)
    first = [(a, b) for a, b in runs(low, times, 0.1, HOME_MIN_S)
             if a == 0 or hand.seen[min(a - 1, reach(times, a, HOME_MIN_S, -1)):a].all()]
    if not first:
        first = runs(placed, times, 0.1, HELD_FROM_START_S)
        if not first or first[0][0] > 0:
            return None, None
    a, b = first[0]
    anchor = np.median(hand.place[a:b][np.isfinite(hand.place[a:b]).all(1)], axis=0)
    idx = np.flatnonzero(placed)
    near = idx[np.linalg.norm(hand.place[idx] - anchor, axis=1) <= HOME_RADIUS]
    k = min(b, max(a + 1, reach(times, a, HOME_MIN_S, +1)))
    arms = hand.arm[a:k]  # the arm's pose as that stay begins: the hand may stay while the elbow moves
    arms = arms[np.isfinite(arms).all(1)]
    return np.median(hand.place[near], axis=0), (np.median(arms, axis=0) if len(arms) else None)


def _away(hand: Hand, trunk_moved: np.ndarray) -> np.ndarray:
    """[T] frames where the hand is away from home: its place, or its elbow while the hand moved at least
    HAND_SHIFT and the trunk stays (a leaning or straightening trunk swings the elbows of hands resting
    on the lap or a table, which do not move)."""
    if hand.home is None:
        return hand.seen.copy()
    with np.errstate(invalid="ignore"):
        shift = np.linalg.norm(hand.place - hand.home, axis=1)
        away = shift > HOME_RADIUS
        if hand.arm_home is not None:
            away |= (np.linalg.norm(hand.arm - hand.arm_home, axis=1) > ELBOW_AWAY) & (shift > HAND_SHIFT) & ~trunk_moved
    return away & np.isfinite(hand.place).all(1)


def _trunk_moved(body: Body) -> np.ndarray:
    """[T] frames where the neck is over TRUNK_MOVED from its usual place in the seat's frame."""
    neck = smooth_valid((body.origin - seat_origin(body)) / body.scale, body.times, PLACE_S)
    ok = np.isfinite(neck).all(1)
    if not ok.any():
        return np.zeros(len(body.times), bool)
    with np.errstate(invalid="ignore"):
        return np.linalg.norm(neck - np.median(neck[ok], axis=0), axis=1) > TRUNK_MOVED


def _visits(hand: Hand, times: np.ndarray) -> list[Visit]:
    out = []
    for a, b in runs(hand.away, times, GAP_S, MIN_VISIT_S):
        start, arrived = _reach(hand.speed, times, a, -1)
        end, left = _reach(hand.speed, times, b - 1, +1)
        inside = np.zeros(len(times), bool)
        inside[a:b] = hand.stays[a:b]
        stays = runs(inside, times, 0.1, 0.0)
        sa, sb = max(stays, key=lambda r: times[r[1] - 1] - times[r[0]]) if stays else (a, b)
        out.append(Visit(hand.side, start, end + 1, sa, sb, arrived, left, bool(stays)))
    return out


def _reach(speed: np.ndarray, times: np.ndarray, i: int, direction: int) -> tuple[int, bool]:
    """From frame i, back (direction -1) or on (+1) through the frames where the hand (or elbow) moves:
    faster than REACH_FRACTION of its peak speed within MAX_REACH_S, and than MOVING_FLOOR; and whether
    it moved there at all (the peak passed MOVING). The movement may begin up to PLACE_S / 2 from i, past
    still frames: i is an edge of the hand's place averaged over PLACE_S, which can lie that far from
    the movement (a centred average reaches its threshold before the hand moves)."""
    n = len(times)
    lo, hi = (reach(times, i, MAX_REACH_S, -1), i + 1) if direction < 0 else (i, reach(times, i, MAX_REACH_S, +1) + 1)
    window = speed[lo:hi]
    peak = float(np.nanmax(window)) if np.isfinite(window).any() else 0.0
    if peak <= MOVING:
        return i, False
    floor = max(REACH_FRACTION * peak, MOVING_FLOOR)
    moving = np.isfinite(speed) & (speed > floor)
    k = i  # still frames up to PLACE_S / 2 from i first (see the docstring)
    while not moving[k] and 0 <= k + direction < n and abs(times[k + direction] - times[i]) <= PLACE_S / 2:
        k += direction
    k = k if moving[k] else i
    while 0 <= k + direction < n and abs(times[k + direction] - times[i]) <= MAX_REACH_S and moving[k + direction]:
        k += direction
    return k, True


def median(x: np.ndarray, a: int, b: int) -> np.ndarray | float:
    """The median over frames [a, b) of a per-frame quantity [T] or [T, D], ignoring NaN."""
    seg = np.asarray(x[a:b], np.float64)
    ok = np.isfinite(seg) if seg.ndim == 1 else np.isfinite(seg).all(-1)
    if not ok.any():
        return float("nan") if seg.ndim == 1 else np.full(seg.shape[1:], np.nan)
    return np.median(seg[ok], axis=0) if seg.ndim > 1 else float(np.median(seg[ok]))


def merge_hands(found: list[ActionInstance]) -> list[ActionInstance]:
    """Instances of one code by the two hands at once are one instance."""
    return merge_sides(found, "hand")
