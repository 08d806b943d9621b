"""Hands at the head: F1-F10 (head-hand) and E2 (neck), from where a hand's points are on the head
and how they move there.

**The head's frame.** Every hand point is carried into the head's own frame (millimetres; x toward the
person's left, y down, origin midway between the pupils; ``headpose``) by intersecting its camera ray
with the plane of the face (``FACE_PLANE_MM`` in front of the eyes). The head pose of a frame without
one (a hand over the face hides the points the fit needs) is the nearest one within ``HOLD_POSE_S``:
heads move little while a hand rests on them.

**At the head** is a hand point inside the head's outline (an ellipse ``HEAD_ELLIPSE`` around the
face and skull) or on the neck below the chin (above the shoulder line where the shoulders are seen),
unless the hand looks too large for its place: a hand at
the head's depth cannot look longer than ``HAND_MM`` times ``IN_FRONT_RATIO`` (foreshortening only
shortens it), so a longer one is that much nearer the camera, in front of the face, not on it
(0.74 of the head's distance or less: 16 cm in front of a face 60 cm from a webcam).

**Where on the head** is the zone (``ZONES``, checked in order) of the touching point: the index or
middle fingertip, whichever is nearer to the middle of the face (another point where neither is seen),
in the frames where the hand has settled (it moved less than ``SETTLED_MM`` in ``SETTLED_S``: not on its
way past other zones). A contact in which the hand never settles is a hand passing by, not a touch. Per contact (a hand at the head for at least
``MIN_CONTACT_S``; dropouts of up to ``GAP_S`` bridged) the zone it spends most time in names the action:
eye -> F6 rubbing eyes; nose -> F1 touching nose; nose bridge -> F5 pushing glasses when short
(``GLASSES_MAX_S``), else F1; mouth -> F9 covering mouth when the palm is over the mouth, else F2;
forehead -> F7; ear -> F8; cheek, chin, jaw -> F2 scratching/touching face; hair (above the ears and
the forehead) -> F3, or F4 hindbrain when the fingertips are hidden and the elbow is raised above the
shoulder (a hand behind the head); neck -> E2. Both hands on the face together, or one palm spanning
eyes to mouth, -> F10 covering face.

**Scratching and rubbing**: the deepest point's path on the head is cut into strokes of at least
``STROKE_MM`` (a zigzag with that hysteresis); ``MIN_STROKES`` strokes at ``MIN_STROKE_HZ`` or more are
a repeated movement (evidence ``strokes``, ``stroke_mm``, ``rate_hz``).

**When**: an instance starts when the hand starts moving toward the head (its distance to the face's
middle shrinking faster than ``MOVING_MM_S``, at most ``MAX_REACH_S`` before it arrives) and ends when it
has moved away after the contact (likewise). A hand already at the head when it is first seen (it
person appeared with it there) is an action all the same; its evidence says ``already_at_head``; one
that came into the picture on its way there says ``came_into_view`` (close-ups: the hand enters from
the bottom edge).
"""
from __future__ import annotations

import numpy as np

from definitions.layout import hand_joints, ma52_layout

from .headpose import HeadPose
from .signals import runs, settled, strokes
from .types import ActionInstance, strength_score

_L = ma52_layout()
HANDS = {s: np.array(_L.indices(*hand_joints(s))) for s in ("left", "right")}
_ELBOW = {s: _L.index(f"{s}_elbow") for s in ("left", "right")}
_SHOULDER = {s: _L.index(f"{s}_shoulder") for s in ("left", "right")}
MIN_SCORE = 0.3
FACE_PLANE_MM = -15.0
HOLD_POSE_S = 1.0
HEAD_ELLIPSE = ((0.0, 10.0), (105.0, 140.0))  # centre, semi-axes (mm): skull top to below the chin
NECK_BOX = (80.0, 125.0, 210.0)  # |x| <=, y from, y to (mm): chin to the base of the neck
HAND_MM = 190.0  # wrist to middle fingertip of an adult hand
IN_FRONT_RATIO = 1.35
FACE_CENTRE = np.array([0.0, 40.0])
MIN_CONTACT_S = 0.2
GAP_S = 0.25
GLASSES_MAX_S = 1.5
STROKE_MM = 4.0
MIN_STROKES = 3
MIN_STROKE_HZ = 1.5
MOVING_MM_S = 60.0
SETTLED_MM = 30.0  # a hand on its way moves 0.3-1 m/s (100-300 mm in 0.3 s); scratching stays within 10-20 mm
SETTLED_S = 0.3
MAX_REACH_S = 1.2

# zone: (|x| from, |x| to, y from, y to) in mm, head frame; checked in this order
ZONES: list[tuple[str, tuple[float, float, float, float]]] = [
    ("nose bridge", (0, 14, -14, 14)),
    ("eye", (12, 58, -22, 16)),
    ("nose", (0, 22, 14, 52)),
    ("mouth", (0, 34, 52, 92)),
    ("forehead", (0, 62, -90, -22)),
    ("ear", (58, 110, -22, 62)),
    ("face", (0, 80, -22, 135)),
    ("hair", (0, 125, -170, -22)),
    ("neck", (0, NECK_BOX[0], NECK_BOX[1], NECK_BOX[2])),
]
ZONE_NAMES = [z for z, _ in ZONES]
ZONE_CODE = {"eye": "F6", "nose": "F1", "nose bridge": "F5", "mouth": "F2", "forehead": "F7", "ear": "F8",
             "face": "F2", "hair": "F3", "neck": "E2"}


def hold_pose(pose: HeadPose, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation [T, 3, 3] and translation [T, 3] of every frame: its own head pose, else the nearest
    one within HOLD_POSE_S (NaN beyond)."""
    rot, trans = pose.rotation.copy(), pose.translation.copy()
    have = np.flatnonzero(pose.valid)
    if len(have) == 0:
        return rot, trans
    for t in np.flatnonzero(~pose.valid):
        k = int(np.searchsorted(have, t))
        near = [have[j] for j in (k - 1, k) if 0 <= j < len(have)]
        best = min(near, key=lambda j: abs(times[j] - times[t]))
        if abs(times[best] - times[t]) <= HOLD_POSE_S:
            rot[t], trans[t] = pose.rotation[best], pose.translation[best]
    return rot, trans


def to_head_frame(points: np.ndarray, rot: np.ndarray, trans: np.ndarray, focal: float, center) -> np.ndarray:
    """[T, N, 2] head-frame x, y (mm) where the camera rays of image points [T, N, 2] meet the face's
    plane (NaN where there is no head pose or the plane is seen edge-on)."""
    rays = np.concatenate([(points - np.asarray(center)) / focal, np.ones(points.shape[:-1] + (1,))], -1)
    rt = np.swapaxes(rot, -1, -2)  # head from camera
    origin = -np.einsum("tij,tj->ti", rt, trans)  # the camera in head coordinates [T, 3]
    d = np.einsum("tij,tnj->tni", rt, rays)  # [T, N, 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (FACE_PLANE_MM - origin[:, None, 2]) / d[..., 2]
        hit = origin[:, None, :2] + s[..., None] * d[..., :2]
    ok = np.isfinite(s) & (s > 0) & (np.abs(d[..., 2]) > 0.25 * np.linalg.norm(d, axis=-1))
    return np.where(ok[..., None], hit, np.nan)


def zone_of(xy: np.ndarray) -> np.ndarray:
    """Zone index (into ZONES) of head-frame points [..., 2]; -1 outside every zone."""
    out = np.full(xy.shape[:-1], -1)
    ax, y = np.abs(xy[..., 0]), xy[..., 1]
    for k, (_, (x0, x1, y0, y1)) in reversed(list(enumerate(ZONES))):
        with np.errstate(invalid="ignore"):
            inside = (ax >= x0) & (ax <= x1) & (y >= y0) & (y <= y1)
        out = np.where(inside, k, out)
    return out


def at_head(xy: np.ndarray) -> np.ndarray:
    """Whether head-frame points [..., 2] lie inside the head's outline or on the neck."""
    (cx, cy), (ax, ay) = HEAD_ELLIPSE
    with np.errstate(invalid="ignore"):
        head = ((xy[..., 0] - cx) / ax) ** 2 + ((xy[..., 1] - cy) / ay) ** 2 <= 1.0
        neck = (np.abs(xy[..., 0]) <= NECK_BOX[0]) & (xy[..., 1] >= NECK_BOX[1]) & (xy[..., 1] <= NECK_BOX[2])
    return head | neck


def hand_head_actions(keypoints: np.ndarray, scores: np.ndarray, times: np.ndarray, size: tuple[int, int],
                      pose: HeadPose) -> list[ActionInstance]:
    """The hand-at-head instances of a track (see the module's text). Hand points count where seen
    with confidence above MIN_SCORE inside the picture of ``size`` (width, height): pose models
    guess the hands outside it."""
    rot, trans = hold_pose(pose, times)
    reliability = float(np.clip(np.mean(pose.confidence[pose.valid]) / 0.5, 0.5, 1.0)) if pose.valid.any() else 0.5
    per_hand = {}
    for side, joints in HANDS.items():
        pts = keypoints[:, joints].astype(np.float64)
        with np.errstate(invalid="ignore"):
            inside = (pts[..., 0] >= 0) & (pts[..., 1] >= 0) & (pts[..., 0] < size[0]) & (pts[..., 1] < size[1])
        seen = (scores[:, joints] > MIN_SCORE) & np.isfinite(pts).all(-1) & inside
        xy = to_head_frame(pts, rot, trans, pose.focal, pose.center)
        xy[_below_shoulders(pts, keypoints, scores) & (xy[..., 1] > NECK_BOX[1])] = np.nan
        per_hand[side] = _hand_state(side, xy, seen, keypoints, scores)
    found = []
    for side, state in per_hand.items():
        state["settled"] = _settled(state["point"], times)
        for a, b in _contacts(state["at"], times):
            if state["settled"][a:b].any():
                found.append(_instance(side, state, per_hand, a, b, times, reliability))
    return _merge_two_hands(sorted(found, key=lambda i: i.start_s))


def _below_shoulders(points: np.ndarray, keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """[T, N] image points below the line between the shoulders (where both are seen): a hand there
    is on the chest or lower, never at the neck."""
    ls, rs = keypoints[:, _SHOULDER["left"]], keypoints[:, _SHOULDER["right"]]
    both = (scores[:, _SHOULDER["left"]] > MIN_SCORE) & (scores[:, _SHOULDER["right"]] > MIN_SCORE)
    d = ls - rs
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.clip(((points[..., 0] - rs[:, None, 0]) / d[:, None, 0]), 0, 1)
        line_y = rs[:, None, 1] + frac * d[:, None, 1]
        return both[:, None] & (points[..., 1] > line_y)


def _hand_state(side: str, xy: np.ndarray, seen: np.ndarray, keypoints: np.ndarray, scores: np.ndarray) -> dict:
    """Per frame: whether the hand is at the head, its deepest point (head frame), that point's zone,
    the palm centre, the hand's apparent length (mm at the head's depth) and how many fingertips are
    seen."""
    xy = np.where(seen[..., None], xy, np.nan)
    depth = np.linalg.norm(xy - FACE_CENTRE, axis=-1)  # [T, 6]
    spans = np.linalg.norm(xy[:, 1:] - xy[:, :1], axis=-1)
    length = np.max(np.where(np.isfinite(spans), spans, -np.inf), axis=1)
    length = np.where(np.isfinite(length), length, np.nan)
    tips_seen = seen[:, 1:].sum(1)
    has = np.isfinite(depth).any(1)
    deepest = np.full((len(xy), 2), np.nan)
    finger = np.where(np.isfinite(depth[:, 2:4]), depth[:, 2:4], np.inf)  # index, middle fingertips
    idx = np.where(np.isfinite(finger).any(1), 2 + np.argmin(finger, axis=1),
                   np.argmin(np.where(np.isfinite(depth), depth, np.inf), axis=1))
    deepest[has] = xy[has, idx[has]]
    near = at_head(xy).any(1) & has
    in_front = np.nan_to_num(length) > HAND_MM * IN_FRONT_RATIO
    palm = xy[:, 0] + 0.45 * (xy[:, 3] - xy[:, 0])  # wrist toward the middle fingertip
    elbow_up = (scores[:, _ELBOW[side]] > MIN_SCORE) & (scores[:, _SHOULDER[side]] > MIN_SCORE) & \
        (keypoints[:, _ELBOW[side], 1] < keypoints[:, _SHOULDER[side], 1])
    return {"at": near & ~in_front, "point": deepest, "zone": zone_of(deepest), "palm": palm, "xy": xy,
            "length": length, "tips": tips_seen, "seen": seen.any(1), "elbow_up": elbow_up,
            "dist": np.where(has, np.nanmin(np.where(np.isfinite(depth), depth, np.inf), axis=1), np.nan)}


def _settled(point: np.ndarray, times: np.ndarray) -> np.ndarray:
    """[T] frames where the touching point moved less than SETTLED_MM over the SETTLED_S around them."""
    return settled(point, times, SETTLED_S, SETTLED_MM)


def _contacts(at: np.ndarray, times: np.ndarray) -> list[tuple[int, int]]:
    """Frame runs [a, b) at the head, gaps up to GAP_S bridged, lasting at least MIN_CONTACT_S."""
    return runs(at, times, GAP_S, MIN_CONTACT_S)


def _instance(side: str, state: dict, per_hand: dict, a: int, b: int, times: np.ndarray,
              reliability: float) -> ActionInstance:
    zones = state["zone"][a:b][state["settled"][a:b]]
    zones = zones[zones >= 0]
    counts = np.bincount(zones, minlength=len(ZONES)) if len(zones) else np.zeros(len(ZONES), int)
    zone = ZONE_NAMES[int(np.argmax(counts))] if counts.any() else "face"
    share = float(counts.max() / max(1, counts.sum())) if counts.any() else 0.0
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1 / 30
    contact_s = float(times[b - 1] - times[a] + step)
    strokes = _strokes(state["point"][a:b], times[a:b])
    other = "right" if side == "left" else "left"
    both = _fraction(per_hand[other]["at"][a:b] & _on_face(per_hand[other]["zone"][a:b]))
    code, detail = _name(zone, state, a, b, contact_s, both)
    start, end, arrived = _reach(state, times, a, b)
    ev = {"hand": side, "target": zone, "zone_share": round(share, 2), "contact_s": round(contact_s, 2),
          "distance_mm": _round(np.nanmedian(state["dist"][a:b]) if np.isfinite(state["dist"][a:b]).any() else None),
          "hand_length_mm": _round(np.nanmedian(state["length"][a:b]) if np.isfinite(state["length"][a:b]).any() else None),
          **strokes, **detail, **arrived}
    ratio = contact_s / MIN_CONTACT_S
    return ActionInstance(code, start, end, strength_score(ratio, reliability) * (0.5 + 0.5 * share), ev)


def _round(v) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), 1)


def _fraction(mask: np.ndarray) -> float:
    return float(mask.mean()) if len(mask) else 0.0


def _on_face(zone: np.ndarray) -> np.ndarray:
    face = [ZONE_NAMES.index(z) for z in ("nose bridge", "eye", "nose", "mouth", "forehead", "face")]
    return np.isin(zone, face)


def _name(zone: str, state: dict, a: int, b: int, contact_s: float, both: float) -> tuple[str, dict]:
    """The action code of a contact and what decided it."""
    palm = state["palm"][a:b]
    with np.errstate(invalid="ignore"):
        palm_on_mouth = (np.abs(palm[:, 0]) <= 40) & (palm[:, 1] >= 35) & (palm[:, 1] <= 110)
        ys = state["xy"][a:b, :, 1]
        span = np.max(np.where(np.isfinite(ys), ys, -np.inf), 1) - np.min(np.where(np.isfinite(ys), ys, np.inf), 1)
        palm_on_face = (np.abs(palm[:, 0]) <= 50) & (palm[:, 1] >= -25) & (palm[:, 1] <= 80) & (span >= 110)
    if both >= 0.5 and zone not in ("hair", "neck", "ear"):
        return "F10", {"covering": "both hands on the face", "both_hands_share": round(both, 2)}
    if _fraction(palm_on_face) >= 0.5:
        return "F10", {"covering": "palm over the face", "palm_share": round(_fraction(palm_on_face), 2)}
    if zone in ("mouth", "face") and _fraction(palm_on_mouth) >= 0.5:
        return "F9", {"covering": "palm over the mouth", "palm_share": round(_fraction(palm_on_mouth), 2)}
    if zone == "nose bridge":
        return ("F5", {"glasses": "short touch at the nose bridge"}) if contact_s <= GLASSES_MAX_S else \
            ("F1", {"glasses": "held at the nose bridge: touching the nose"})
    if zone in ("hair", "ear") and np.median(state["tips"][a:b]) < 2 and _fraction(state["elbow_up"][a:b]) >= 0.5:
        return "F4", {"behind_head": "fingertips hidden, elbow above the shoulder"}
    return ZONE_CODE[zone], {}


def _strokes(point: np.ndarray, times: np.ndarray) -> dict:
    """Repeated small strokes of the deepest point on the head (scratching, rubbing)."""
    found = strokes(point, times, STROKE_MM)
    if found["strokes"] == 0:
        return {"strokes": 0}
    repeated = found["strokes"] >= MIN_STROKES and found["rate_hz"] >= MIN_STROKE_HZ
    return {"strokes": found["strokes"], "stroke_mm": round(found["spread"], 1), "rate_hz": round(found["rate_hz"], 2),
            "repeated": bool(repeated)}


def _reach(state: dict, times: np.ndarray, a: int, b: int) -> tuple[float, float, dict]:
    """When the hand started toward the head and when it had moved away again."""
    dist = state["dist"]
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1 / 30
    speed = np.gradient(dist, times) if len(times) > 1 else np.zeros_like(dist)
    i = a
    while i > 0 and times[a] - times[i - 1] <= MAX_REACH_S and np.isfinite(speed[i - 1]) and speed[i - 1] < -MOVING_MM_S:
        i -= 1
    j = b
    while j < len(times) and times[j] - times[b - 1] <= MAX_REACH_S and np.isfinite(speed[j]) and speed[j] > MOVING_MM_S:
        j += 1
    before = state["seen"][max(0, a - int(round(MAX_REACH_S / step))):a]
    moved_in = i < a
    came_into_view = not moved_in and a > 0 and not before.all()
    info = {"arrived": bool(moved_in), "came_into_view": bool(came_into_view),
            "already_at_head": bool(not moved_in and not came_into_view)}
    if came_into_view:  # it entered the picture on its way: from its first frame seen
        seen_from = np.flatnonzero(~before)
        i = max(0, a - len(before) + int(seen_from[-1]) + 1)
    end = float(times[j]) if j < len(times) else float(times[-1]) + step
    return float(times[i]), end, info


def _merge_two_hands(found: list[ActionInstance]) -> list[ActionInstance]:
    """Two hands covering the face together are one F10 instance."""
    out: list[ActionInstance] = []
    for inst in found:
        prev = out[-1] if out else None
        if prev is not None and inst.code == prev.code == "F10" and inst.start_s < prev.end_s:
            prev.start_s, prev.end_s = min(prev.start_s, inst.start_s), max(prev.end_s, inst.end_s)
            prev.evidence["hand"] = "both"
            prev.score = max(prev.score, inst.score)
            continue
        out.append(inst)
    return out
