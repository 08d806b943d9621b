"""Hands at the head: F1-F10 (head-hand) and E2 (neck), from where a hand's points are on the head
and how they move there.

**Onto the head.** Every hand point seen (confidence above ``MIN_SCORE`` inside the picture) is carried
into the head's own frame (millimetres; x toward the person's left, y down, origin midway between the
pupils; ``headpose``): its camera ray meets an ellipsoid standing for the head (``HEAD_CENTRE``,
``HEAD_AXES``: adult head breadth, length and height) where it enters, on the side facing the camera;
a ray passing beside the head gives its closest approach, with its distance in units of the ellipsoid
(the radius). The neck is a plane ``NECK_PLANE_MM`` behind the face, in ``NECK_BOX`` and above the
shoulder line where the shoulders are seen. A frame without a head pose (a palm over the face hides
the points the fit needs) takes the nearest one within ``HOLD_POSE_S``.

**Where.** The zones (``ZONES``: nose bridge, eye, nose, mouth, forehead, ear, face, hair) are ranges
of azimuth and height on the ellipsoid, for points up to ``AT_HEAD_RADIUS`` outside it (``HAIR_RADIUS``
above the ears: fingers in the hair). The index fingertip names the place (in self-touch it leads:
pointing at the nose, pushing glasses, pinching an ear); where it is on no zone, the thumb; else the
zone most fingertips are in. A hand behind the head shows as its wrist beside the head at ear height or
above (``BEHIND_RADIUS``, ``BEHIND_WRIST_Y``) with the fingertips hidden and the elbow raised (or out of
a close-up's picture): the back of the head.

A hand is not at the head when it looks longer than ``HAND_MM`` times ``IN_FRONT_RATIO`` at the head's
depth (foreshortening only shortens a hand, so a longer one is at least 26 % nearer the camera: 16 cm
in front of a face 60 cm from a webcam).

**Which action.** A contact is a run of frames at the head of at least ``MIN_CONTACT_S`` (dropouts up
to ``GAP_S`` bridged) in which the hand settles at least once (it moves under ``SETTLED_MM`` in
``SETTLED_S``: a hand passing by is no touch). The place where the settled hand spends most time names
it: eye -> F6 rubbing eyes; nose -> F1; nose bridge -> F5 pushing glasses when the contact is under
``GLASSES_MAX_S``, else F1; forehead -> F7; ear -> F8; face (cheek, chin, jaw, lips) -> F2; hair -> F3;
back of the head -> F4; neck -> E2. A hand covers with its palm (its centre, ``PALM_FRACTION`` of the
way from the wrist to the middle fingertip): the palm over the eyes -> F10 covering face; over the mouth
(``COVER_Y``) while the fingertips are not at the eyes -> F9 covering mouth; both palms on the face ->
F10. One hand's contacts at the same place less than ``REJOIN_S`` apart are one instance.

**Scratching and rubbing**: the touching point's path on the head is cut into strokes of at least
``STROKE_MM`` (a zigzag with that hysteresis); ``MIN_STROKES`` strokes at ``MIN_STROKE_HZ`` or more are a
repeated movement (evidence ``strokes``, ``stroke_mm``, ``rate_hz``, ``repeated``).

**When**: an instance starts when the hand's middle starts toward the face (its distance to the face's
middle, averaged over ``REACH_SMOOTH_S``, shrinking faster than ``MOVING_MM_S``, at most ``MAX_REACH_S``
before the contact) and ends when it has moved away again. A hand already at the head when it is first
seen (the person appeared with it there) is an action all the same (``already_at_head``); one that came
into the picture on its way (close-ups: it enters from the bottom edge) says ``came_into_view``, and
its instance starts where it came into view.
"""
from __future__ import annotations

import numpy as np

from common.frames import frame_interval
from definitions.layout import hand_joints, ma52_layout

from .headpose import HeadPose
from .signals import reach, runs, settled, smooth, strokes
from .types import ActionInstance, strength_score

_L = ma52_layout()
HANDS = {s: np.array(_L.indices(*hand_joints(s))) for s in ("left", "right")}
_ELBOW = {s: _L.index(f"{s}_elbow") for s in ("left", "right")}
_SHOULDER = {s: _L.index(f"{s}_shoulder") for s in ("left", "right")}
MIN_SCORE = 0.3
FACE_PLANE_MM = -15.0
HOLD_POSE_S = 4.0
NECK_BOX = (80.0, 130.0, 210.0, 35.0, 95.0)  # |x| <=, y from, y to (mm): below the chin (120-130) to the
# base of the neck; beside the jaw (|x| >= 35) from 95 mm (the jaw's angle lies 90-100 mm below the eyes)
NECK_PLANE_MM = 40.0  # the neck's front, behind the face's plane
HAND_MM = 190.0  # wrist to middle fingertip of an adult hand
IN_FRONT_RATIO = 1.35
FACE_CENTRE = np.array([0.0, 40.0])
MIN_CONTACT_S = 0.2
GAP_S = 0.25
GLASSES_MAX_S = 1.5
REJOIN_S = 0.6  # a hand lost by the pose model for a moment at the same place
STROKE_MM = 4.0
MIN_STROKES = 3
MIN_STROKE_HZ = 1.5
MOVING_MM_S = 30.0  # a hand at rest drifts slower; a reach (0.3-1 m/s at its peak) passes this at its start
REACH_SMOOTH_S = 0.15
SETTLED_MM = 30.0  # a hand on its way moves 0.3-1 m/s (100-300 mm in 0.3 s); scratching stays within 10-20 mm
SETTLED_S = 0.3
MAX_REACH_S = 1.2

# The head as an ellipsoid (mm, head frame): centre, semi-axes. Adult head breadth 155 mm, length
# (glabella to the back) 195 mm, vertex 130 mm above the tragion, chin 120 mm below the pupils.
HEAD_CENTRE = np.array([0.0, 6.0, 87.0])
HEAD_AXES = np.array([78.0, 117.0, 97.0])
AT_HEAD_RADIUS = 1.15  # fingertips on the ear or the face's edge stand up to 15 % outside the ellipsoid
HAIR_RADIUS = 1.35  # above the ears, fingers in the hair stand up to 35 % (~25 mm) outside the skull
# zone: (|azimuth| from, to (deg; 0 = the middle of the face, 90 = the ears), y from, y to (mm)),
# on the head's surface; checked in this order
ZONES: list[tuple[str, tuple[float, float, float, float]]] = [
    ("nose bridge", (0, 9, -14, 14)),
    ("eye", (7, 40, -22, 16)),
    ("nose", (0, 14, 14, 52)),
    ("mouth", (0, 24, 52, 92)),
    ("forehead", (0, 50, -95, -22)),
    ("ear", (50, 115, -22, 62)),
    ("face", (0, 75, -22, 135)),
    ("hair", (0, 180, -200, -22)),
    ("hair", (115, 180, -22, 60)),
]
ZONE_NAMES = list(dict.fromkeys(z for z, _ in ZONES)) + ["neck", "back of head"]
PALM_FRACTION = 0.45  # the palm's centre lies this far from the wrist toward the middle fingertip
COVER_AZIMUTH = 40.0  # the palm over the front of the face (the eye corners are at ~35 deg)
COVER_Y = (-40.0, 10.0, 45.0, 95.0)  # palm centre over the eyes (covering the face) from -40 to 10 mm; over
# the mouth from 45 to 95 (below the nose, to below the lips); between them it hides neither
BEHIND_WRIST_Y = 60.0  # mm: a hand behind the head has its wrist no lower than the ears' lobes
BEHIND_RADIUS = 2.5  # a wrist beside the head (within ~12 cm of its outline) whose fingertips are hidden
ZONE_CODE = {"eye": "F6", "nose": "F1", "nose bridge": "F5", "mouth": "F2", "forehead": "F7", "ear": "F8",
             "face": "F2", "hair": "F3", "neck": "E2", "back of head": "F4"}


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


def to_head_frame(points: np.ndarray, rot: np.ndarray, trans: np.ndarray, focal: float, center,
                  plane_mm: float = FACE_PLANE_MM) -> np.ndarray:
    """[T, N, 2] head-frame x, y (mm) where the camera rays of image points [T, N, 2] meet the plane
    z = ``plane_mm`` (the face's by default; NaN where there is no head pose or the plane is seen
    edge-on)."""
    rays = np.concatenate([(points - np.asarray(center)) / focal, np.ones(points.shape[:-1] + (1,))], -1)
    rt = np.swapaxes(rot, -1, -2)  # head from camera
    origin = -np.einsum("tij,tj->ti", rt, trans)  # the camera in head coordinates [T, 3]
    d = np.einsum("tij,tnj->tni", rt, rays)  # [T, N, 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (plane_mm - origin[:, None, 2]) / d[..., 2]
        hit = origin[:, None, :2] + s[..., None] * d[..., :2]
    ok = np.isfinite(s) & (s > 0) & (np.abs(d[..., 2]) > 0.25 * np.linalg.norm(d, axis=-1))
    return np.where(ok[..., None], hit, np.nan)


def on_head(points: np.ndarray, rot: np.ndarray, trans: np.ndarray, focal: float, center) -> tuple[np.ndarray, np.ndarray]:
    """Where the camera rays of image points [T, N, 2] meet the head: ([T, N, 3] head-frame points,
    [T, N] radius). The radius is the ray's closest approach to the head ellipsoid's centre in units of
    the ellipsoid (<= 1: the ray hits the head, and the point is where it enters, on the side facing
    the camera; > 1: it passes beside the head, and the point is its closest approach)."""
    rays = np.concatenate([(points - np.asarray(center)) / focal, np.ones(points.shape[:-1] + (1,))], -1)
    rt = np.swapaxes(rot, -1, -2)
    origin = -np.einsum("tij,tj->ti", rt, trans)[:, None, :]  # the camera in head coordinates
    d = np.einsum("tij,tnj->tni", rt, rays)
    o_n, d_n = (origin - HEAD_CENTRE) / HEAD_AXES, d / HEAD_AXES
    with np.errstate(invalid="ignore", divide="ignore"):
        dd = (d_n * d_n).sum(-1)
        s_min = -(o_n * d_n).sum(-1) / dd
        radius = np.linalg.norm(o_n + s_min[..., None] * d_n, axis=-1)
        s_hit = np.where(radius <= 1, s_min - np.sqrt(np.clip(1 - radius ** 2, 0, None) / dd), s_min)
        return origin + s_hit[..., None] * d, radius


def zone_of(surface: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Zone index (into ZONE_NAMES) of points on or beside the head ([..., 3] and their radius, from
    ``on_head``); -1 for points away from it."""
    out = np.full(surface.shape[:-1], -1)
    with np.errstate(invalid="ignore"):
        azimuth = np.abs(np.degrees(np.arctan2(surface[..., 0] - HEAD_CENTRE[0], HEAD_CENTRE[2] - surface[..., 2])))
        y = surface[..., 1]
        near = (radius <= AT_HEAD_RADIUS) | ((radius <= HAIR_RADIUS) & (y < -22))
        for name, (a0, a1, y0, y1) in reversed(ZONES):
            k = ZONE_NAMES.index(name)
            inside = (azimuth >= a0) & (azimuth <= a1) & (y >= y0) & (y <= y1)
            out = np.where(inside & near, k, out)
    return out


def on_neck(xy: np.ndarray) -> np.ndarray:
    """Whether points on the neck's plane (``to_head_frame`` at NECK_PLANE_MM) lie on the neck."""
    with np.errstate(invalid="ignore"):
        ax, y = np.abs(xy[..., 0]), xy[..., 1]
        below = (y >= NECK_BOX[1]) | ((ax >= NECK_BOX[3]) & (y >= NECK_BOX[4]))
        return (ax <= NECK_BOX[0]) & below & (y <= NECK_BOX[2])


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
        neck = on_neck(to_head_frame(pts, rot, trans, pose.focal, pose.center, NECK_PLANE_MM))
        neck &= ~_below_shoulders(pts, keypoints, scores)
        surface, radius = on_head(pts, rot, trans, pose.focal, pose.center)
        per_hand[side] = _hand_state(side, xy, surface, radius, neck, seen, keypoints, scores)
        palm_img = pts[:, 0] + PALM_FRACTION * (pts[:, 3] - pts[:, 0])  # wrist toward the middle fingertip
        palm, palm_radius = on_head(palm_img[:, None], rot, trans, pose.focal, pose.center)
        per_hand[side]["covering"] = _covering(palm[:, 0], palm_radius[:, 0], seen[:, 0] & seen[:, 3])
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


def _hand_state(side: str, xy: np.ndarray, surface: np.ndarray, radius: np.ndarray, neck: np.ndarray,
                seen: np.ndarray, keypoints: np.ndarray, scores: np.ndarray) -> dict:
    """Per frame: whether the hand is at the head, its touching point (on the head, mm) and that
    point's zone, the palm centre and the hand's apparent length (on the face's plane), and how many
    fingertips are seen."""
    xy = np.where(seen[..., None], xy, np.nan)
    radius = np.where(seen, radius, np.nan)
    zones = zone_of(surface, radius)  # [T, 6]
    zones = np.where(seen & (zones < 0) & neck, ZONE_NAMES.index("neck"), np.where(seen, zones, -1))
    touching, zone = _touching(zones)
    rows = np.arange(len(xy))
    point = np.where((touching >= 0)[:, None], surface[rows, np.maximum(touching, 0)], np.nan)
    spans = np.linalg.norm(xy[:, 1:] - xy[:, :1], axis=-1)
    length = np.max(np.where(np.isfinite(spans), spans, -np.inf), axis=1)
    length = np.where(np.isfinite(length), length, np.nan)
    in_front = np.nan_to_num(length) > HAND_MM * IN_FRONT_RATIO
    elbow_seen = (scores[:, _ELBOW[side]] > MIN_SCORE) & (scores[:, _SHOULDER[side]] > MIN_SCORE)
    elbow_up = elbow_seen & (keypoints[:, _ELBOW[side], 1] < keypoints[:, _SHOULDER[side], 1])
    tips = seen[:, 1:].sum(1)
    with np.errstate(invalid="ignore"):
        # the wrist beside the head at ear height or above, the fingertips hidden, the elbow raised
        # (or out of a close-up's picture)
        behind = seen[:, 0] & (tips <= 1) & (elbow_up | ~elbow_seen) & (radius[:, 0] <= BEHIND_RADIUS) \
            & (surface[:, 0, 1] <= BEHIND_WRIST_Y)
    zone = np.where((zone < 0) & behind, ZONE_NAMES.index("back of head"), zone)
    point = np.where((behind & (touching < 0))[:, None], surface[:, 0], point)
    depth = np.linalg.norm(xy - FACE_CENTRE, axis=-1)
    dist = np.min(np.where(np.isfinite(depth), depth, np.inf), axis=1)
    return {"at": (zone >= 0) & ~in_front, "point": point, "zone": zone, "xy": xy,
            "length": length, "tips": tips, "seen": seen.any(1), "elbow_up": elbow_up,
            "dist": np.where(np.isfinite(dist), dist, np.nan)}


def _covering(palm: np.ndarray, radius: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Per frame: 0 where the palm's centre is not over the face, 1 over the mouth, 2 over the eyes and
    nose (a hand covers with its palm; a hand touching with its fingertips keeps the palm away: an
    index finger on the nose has its palm at the chin or lower, fingers on the forehead have it at
    the nose)."""
    with np.errstate(invalid="ignore"):
        azimuth = np.abs(np.degrees(np.arctan2(palm[:, 0] - HEAD_CENTRE[0], HEAD_CENTRE[2] - palm[:, 2])))
        front = seen & (radius <= 1.0) & (azimuth <= COVER_AZIMUTH)
        y = palm[:, 1]
        mouth = front & (y >= COVER_Y[2]) & (y <= COVER_Y[3])
        eyes = front & (y >= COVER_Y[0]) & (y <= COVER_Y[1])
        return np.where(mouth, 1, np.where(eyes, 2, 0))


def _touching(zones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame of the hand points' zones [T, 6] (wrist, thumb, index, middle, ring, pinky tips): the
    point that touches and its zone. The index fingertip leads in self-touch (pointing at the nose,
    pushing glasses, pinching an ear with the thumb); where it is on no zone, the thumb's; else the zone
    most fingertips are in (and last the wrist's)."""
    n = len(zones)
    point, zone = np.full(n, -1), np.full(n, -1)
    for j in (1, 2):  # the thumb, overwritten by the index where it is on the head
        hit = zones[:, j] >= 0
        point, zone = np.where(hit, j, point), np.where(hit, zones[:, j], zone)
    tips = zones[:, 1:]
    for t in np.flatnonzero(zone < 0):
        found = tips[t][tips[t] >= 0]
        if len(found):
            zone[t] = int(np.bincount(found).argmax())
            point[t] = 1 + int(np.flatnonzero(tips[t] == zone[t])[0])
        elif zones[t, 0] >= 0:
            zone[t], point[t] = zones[t, 0], 0
    return point, zone


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
    counts = np.bincount(zones, minlength=len(ZONE_NAMES)) if len(zones) else np.zeros(len(ZONE_NAMES), int)
    zone = ZONE_NAMES[int(np.argmax(counts))] if counts.any() else "face"
    share = float(counts.max() / max(1, counts.sum())) if counts.any() else 0.0
    step = frame_interval(times)
    contact_s = float(times[b - 1] - times[a] + step)
    strokes = _strokes(state["point"][a:b], times[a:b])
    other = "right" if side == "left" else "left"
    both = _fraction(per_hand[other]["at"][a:b] & (per_hand[other]["covering"][a:b] > 0)
                     & (state["covering"][a:b] > 0))
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


def _name(zone: str, state: dict, a: int, b: int, contact_s: float, both: float) -> tuple[str, dict]:
    """The action code of a contact and what decided it."""
    cover = state["covering"][a:b]
    if both >= 0.5 and zone not in ("hair", "neck", "ear", "eye", "back of head"):
        return "F10", {"covering": "both hands on the face", "both_hands_share": round(both, 2)}
    if _fraction(cover == 2) >= 0.5 and zone in ("forehead", "hair", "face", "eye", "nose"):
        return "F10", {"covering": "palm over the eyes", "palm_share": round(_fraction(cover == 2), 2)}
    if _fraction(cover == 1) >= 0.5 and zone in ("mouth", "face", "nose", "ear"):  # fingertips not at the eyes
        return "F9", {"covering": "palm over the mouth", "palm_share": round(_fraction(cover == 1), 2)}
    if zone == "nose bridge":
        return ("F5", {"glasses": "short touch at the nose bridge"}) if contact_s <= GLASSES_MAX_S else \
            ("F1", {"glasses": "held at the nose bridge: touching the nose"})
    if zone == "back of head" or (zone in ("hair", "ear") and np.median(state["tips"][a:b]) < 2
                                  and _fraction(state["elbow_up"][a:b]) >= 0.5):
        return "F4", {"behind_head": "fingertips hidden, the wrist beside the head, elbow raised or out of the picture"}
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
    """When the hand started toward the head and when it had moved away again: the hand's middle (the
    mean of its points seen, on the face's plane), its distance to the face's middle averaged over
    REACH_SMOOTH_S, changing faster than MOVING_MM_S."""
    step = frame_interval(times)
    with np.errstate(invalid="ignore"):
        seen = np.isfinite(state["xy"]).all(-1)
        middle = np.where(seen[..., None], state["xy"], 0.0).sum(1) / np.where(seen.any(1), seen.sum(1), np.nan)[:, None]
        dist = np.linalg.norm(middle - FACE_CENTRE, axis=-1)
        known = np.isfinite(dist)
        if known.sum() >= 2:
            filled = np.interp(times, times[known], dist[known])
            dist = np.where(known, smooth(filled, times, REACH_SMOOTH_S), np.nan)
        speed = np.gradient(dist, times) if len(times) > 1 else np.zeros_like(dist)
    i = a
    while i > 0 and times[a] - times[i - 1] <= MAX_REACH_S and np.isfinite(speed[i - 1]) and speed[i - 1] < -MOVING_MM_S:
        i -= 1
    j = b
    while j < len(times) and times[j] - times[b - 1] <= MAX_REACH_S and np.isfinite(speed[j]) and speed[j] > MOVING_MM_S:
        j += 1
    before = state["seen"][reach(times, a, MAX_REACH_S, -1):a]
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
    """Two hands covering the face together are one F10 instance; one hand's contacts at the same place
    less than ``REJOIN_S`` apart (the hand lost for a moment) are one instance."""
    out: list[ActionInstance] = []
    for inst in found:
        same = [p for p in out if p.code == inst.code and inst.start_s <= p.end_s + REJOIN_S
                and (p.evidence["hand"] == inst.evidence["hand"] or inst.code == "F10")]
        if same:
            prev = same[-1]
            if inst.code == "F10" and prev.evidence["hand"] != inst.evidence["hand"]:
                prev.evidence["hand"] = "both"
            prev.start_s, prev.end_s = min(prev.start_s, inst.start_s), max(prev.end_s, inst.end_s)
            prev.score = max(prev.score, inst.score)
            continue
        out.append(inst)
    return out
