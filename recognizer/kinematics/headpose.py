"""Head pose per frame: yaw, pitch and roll in degrees from the layout's head points.

A perspective-n-point fit (OpenCV ``solvePnP``, Levenberg-Marquardt from the previous frame's pose)
of a generic adult head (``HEAD_MODEL``, millimetres) to the 10 head points that move with the skull:
``head_top`` is left out (MediaPipe derives it from the eyes and mouth, AlphaPose's is loose) and so
is ``lower_lip_bottom``, which the jaw carries 10-20 mm down while a person talks (with it, speech
read as nodding: 4 deg pitch dips at every open mouth on a real talking clip). The
camera is a pinhole with focal length ``FOCAL_PER_SIDE`` times the picture's longer side (a 53 deg
horizontal field of view for landscape video; webcams are 55-78 deg) and its centre in the middle.
For the angles of a head that fills a few percent of the picture the focal length hardly matters;
for close-ups it moves the angles by a few degrees at most (docs/KINEMATICS.md).

Conventions (the person's own sides; a person facing the camera has their left on the image's right):

* yaw > 0: the person turns to their own left (nose toward the image's right);
* pitch > 0: the head goes down (chin toward the chest);
* roll > 0: the head tilts toward the person's own left shoulder (the left eye goes down).

Yaw and pitch are measured against the line of sight (the ray from the camera to the head), not the
camera's axis: a head that moves across the picture without turning keeps its angles. Roll is given
relative to the shoulder line when both shoulders are reliably seen (a leaning torso
does not tilt the head), and relative to the camera otherwise; yaw and pitch are not relative to the
torso (a 2D skeleton cannot tell the torso's own yaw and pitch), which is what the gesture rules
need, since they look at changes over a second or two, not at absolute angles.

A frame gets a pose only from at least ``MIN_POINTS`` points seen with confidence above
``MIN_SCORE`` inside the picture, among them both eyes (pupils or outer corners) and one point of the
nose or mouth; its confidence falls with the fit's reprojection error measured in inter-ocular
distances (``REPROJ_SCALE``) and with fewer points, and a fit under ``MIN_CONFIDENCE`` gives no pose
(on faces 20-40 px wide, fits that far off swung by 40-110 deg between frames).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from definitions.layout import ma52_layout

_L = ma52_layout()

# A generic adult head, millimetres, in the head's own frame: x toward the person's left, y down,
# z toward the back of the head; origin midway between the pupils. Values from adult anthropometric
# means (Farkas 1994; interpupillary 63 mm, biocular (outer canthi) 90 mm, nose tip 30 mm in front of
# the corneal plane and 35 mm below the pupils, subnasale 48 mm below, lips 60 / 80 mm below,
# tragion 72 mm to each side, 22 mm below the pupils and 90 mm behind them). The jaw's points are
# not part of it (see above).
HEAD_MODEL: dict[str, tuple[float, float, float]] = {
    "nose": (0.0, 35.0, -30.0),
    "left_eye": (31.5, 0.0, 0.0),
    "right_eye": (-31.5, 0.0, 0.0),
    "left_ear": (72.0, 22.0, 90.0),
    "right_ear": (-72.0, 22.0, 90.0),
    "nose_bridge": (0.0, 10.0, -16.0),
    "nose_bottom": (0.0, 48.0, -14.0),
    "right_eye_outer_corner": (-45.0, 1.0, 12.0),
    "left_eye_outer_corner": (45.0, 1.0, 12.0),
    "upper_lip_top": (0.0, 60.0, -12.0),
}
HEAD_POINTS = tuple(HEAD_MODEL)
HEAD_INDEX = np.array(_L.indices(*HEAD_POINTS))
_MODEL = np.array([HEAD_MODEL[n] for n in HEAD_POINTS], np.float64)
INTEROCULAR_MM = 63.0
FOCAL_PER_SIDE = 1.0
MIN_SCORE = 0.5
MIN_POINTS = 5
REPROJ_SCALE = 0.15  # inter-ocular distances of RMS reprojection error at which confidence falls to 1/e
MIN_INTEROCULAR_PX = 12.0  # smaller faces: a 1 px landmark error is 8 % of the eyes' spacing (5-10 deg)
CONTINUITY_RATIO = 0.7  # a fit from a frontal start replaces the one continuing the last frame's only
# when it explains the points with 30 % less error (near profile, the two can be mirror solutions)
MAX_HEAD_SPEED_DEG_S = 1000.0  # voluntary head rotations peak at 300-700 deg/s; a faster change is a flip
MIN_CONFIDENCE = 0.25  # below it (RMS error over 0.2 inter-ocular distances) the fit is no head pose
_EYES = [HEAD_POINTS.index(n) for n in ("left_eye", "right_eye")]
_CORNERS = [HEAD_POINTS.index(n) for n in ("left_eye_outer_corner", "right_eye_outer_corner")]
_LOWER = [HEAD_POINTS.index(n) for n in ("nose", "nose_bottom", "upper_lip_top")]
_SHOULDERS = _L.indices("left_shoulder", "right_shoulder")


@dataclass
class HeadPose:
    """Per frame: ``angles`` [T, 3] yaw, pitch, roll (degrees; NaN without a pose), ``confidence`` [T]
    (0-1), ``roll_reference`` [T] (True where roll is relative to the shoulder line), ``mm_per_px`` [T]
    (the head's scale: millimetres at the head per pixel), ``rotation`` [T, 3, 3] (camera from head)
    and ``translation`` [T, 3] (mm, camera frame)."""

    angles: np.ndarray
    confidence: np.ndarray
    roll_reference: np.ndarray
    mm_per_px: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    focal: float
    center: tuple[float, float]

    @property
    def valid(self) -> np.ndarray:
        return np.isfinite(self.angles).all(1)


def camera(size: tuple[int, int]) -> tuple[float, tuple[float, float]]:
    """(focal length in pixels, principal point) for a picture of ``size`` (width, height)."""
    w, h = size
    return FOCAL_PER_SIDE * float(max(w, h)), (w / 2.0, h / 2.0)


def euler(rotation: np.ndarray) -> np.ndarray:
    """[..., 3] yaw, pitch, roll (degrees, the module's conventions) of camera-from-head rotations
    R = Ry(yaw) Rx(pitch) Rz(roll) (camera axes: x right, y down, z into the picture)."""
    r = np.asarray(rotation, np.float64)
    # R[:, 2] is the head's back direction in camera coordinates; the face looks along -R[:, 2]
    pitch = -np.degrees(np.arcsin(np.clip(r[..., 1, 2], -1, 1)))
    yaw = np.degrees(np.arctan2(-r[..., 0, 2], r[..., 2, 2]))
    roll = np.degrees(np.arctan2(r[..., 1, 0], r[..., 1, 1]))
    return np.stack([yaw, pitch, roll], -1)


def rotation_from_euler(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The camera-from-head rotation of given angles (degrees): the inverse of ``euler``."""
    a, b, c = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return ry @ rx @ rz


def line_of_sight(translation: np.ndarray) -> np.ndarray:
    """The rotation taking the camera's axis onto the ray toward the head (the smallest one): angles are
    measured against it, so that a head moving across the picture without turning keeps its angles
    (with the camera's axis, a head 25 px off-centre in a 512 px picture read 3 deg of yaw)."""
    z = np.array([0.0, 0.0, 1.0])
    ray = np.asarray(translation, np.float64) / np.linalg.norm(translation)
    axis = np.cross(z, ray)
    s, c = np.linalg.norm(axis), float(z @ ray)
    if s < 1e-12:
        return np.eye(3)
    k = axis / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * kx @ kx


def project(points_mm: np.ndarray, rotation: np.ndarray, translation: np.ndarray, focal: float,
            center: tuple[float, float]) -> np.ndarray:
    """Pinhole projection [N, 2] of head-frame points [N, 3]."""
    cam = points_mm @ np.asarray(rotation).T + np.asarray(translation)
    return focal * cam[:, :2] / cam[:, 2:3] + np.asarray(center)


def reliable_points(keypoints: np.ndarray, scores: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[T, 10] which head points can be used (confidence above ``MIN_SCORE``, inside the picture)."""
    kp, sc = keypoints[:, HEAD_INDEX], scores[:, HEAD_INDEX]
    w, h = size
    with np.errstate(invalid="ignore"):
        inside = (kp[..., 0] >= 0) & (kp[..., 1] >= 0) & (kp[..., 0] < w) & (kp[..., 1] < h)
    return np.isfinite(kp).all(-1) & (sc > MIN_SCORE) & inside


def usable(mask: np.ndarray) -> np.ndarray:
    """[T] whether a frame's reliable head points [T, 10] can give a pose."""
    eyes = mask[:, _EYES].all(1) | mask[:, _CORNERS].all(1)
    return (mask.sum(1) >= MIN_POINTS) & eyes & mask[:, _LOWER].any(1)


def _initial(pts: np.ndarray, used: np.ndarray, focal: float, center) -> tuple[np.ndarray, np.ndarray]:
    """A frontal pose at the distance the eyes' spacing gives."""
    if used[_EYES].all():
        left, right = pts[_EYES[0]], pts[_EYES[1]]
        mm = INTEROCULAR_MM
    else:
        left, right = pts[_CORNERS[0]], pts[_CORNERS[1]]
        mm = 90.0
    px = max(float(np.linalg.norm(left - right)), 1.0)
    z = focal * mm / px
    mid = (left + right) / 2
    t = np.array([(mid[0] - center[0]) * z / focal, (mid[1] - center[1]) * z / focal, z])
    return np.zeros(3), t


def _fit(pts, used, focal, center, guess):
    import cv2  # here, so that importing the pipeline (the command line's --help) stays quick
    model, image = _MODEL[used], pts[used].astype(np.float64)
    cam = np.array([[focal, 0, center[0]], [0, focal, center[1]], [0, 0, 1]], np.float64)
    rvec, tvec = (g.reshape(3, 1).astype(np.float64).copy() for g in guess)
    ok, rvec, tvec = cv2.solvePnP(model, image, cam, None, rvec, tvec, useExtrinsicGuess=True,
                                  flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok or tvec[2, 0] <= 0:
        return None
    rot = cv2.Rodrigues(rvec)[0]
    err = project(model, rot, tvec[:, 0], focal, center) - image
    return rvec[:, 0], tvec[:, 0], rot, float(np.sqrt((err ** 2).sum(1).mean()))


def head_pose(keypoints: np.ndarray, scores: np.ndarray, times: np.ndarray, size: tuple[int, int],
              max_gap_s: float = 0.5) -> HeadPose:
    """Head pose of every frame of a track (keypoints [T, 44, 2], scores [T, 44]). The fit starts
    from the previous frame's pose when that is at most ``max_gap_s`` old; a fit from a frontal start
    replaces it only when clearly better (``CONTINUITY_RATIO``), and a frame whose pose turned faster
    than ``MAX_HEAD_SPEED_DEG_S`` from the last one gets none."""
    n = len(keypoints)
    focal, center = camera(size)
    angles = np.full((n, 3), np.nan)
    conf = np.zeros(n)
    rotation = np.full((n, 3, 3), np.nan)
    translation = np.full((n, 3), np.nan)
    mm_per_px = np.full(n, np.nan)
    mask = reliable_points(keypoints, scores, size)
    can = usable(mask)
    pts_all = keypoints[:, HEAD_INDEX].astype(np.float64)
    prev, prev_t = None, -np.inf
    for t in np.flatnonzero(can):
        pts, used = pts_all[t], mask[t]
        iod = _interocular_px(pts, used)
        if iod < MIN_INTEROCULAR_PX:
            continue
        recent = prev is not None and times[t] - prev_t <= max_gap_s
        fit = _fit(pts, used, focal, center, prev) if recent else None
        if fit is None or fit[3] > 0.5 * REPROJ_SCALE * iod:
            fresh = _fit(pts, used, focal, center, _initial(pts, used, focal, center))
            if fresh is not None and (fit is None or fresh[3] < CONTINUITY_RATIO * fit[3]):
                fit = fresh
        if fit is None:
            continue
        rvec, tvec, rot, err = fit
        confidence = np.exp(-err / (REPROJ_SCALE * iod)) * min(1.0, used.sum() / 8)
        if confidence < MIN_CONFIDENCE:
            continue
        if recent and _turned_deg(prev[0], rvec) > MAX_HEAD_SPEED_DEG_S * (times[t] - prev_t):
            continue  # no head turns that fast: the fit flipped to another solution
        prev, prev_t = (rvec, tvec), times[t]
        rotation[t], translation[t] = rot, tvec
        angles[t] = euler(line_of_sight(tvec).T @ rot)
        conf[t] = confidence
        mm_per_px[t] = tvec[2] / focal
    reference = _shoulders_seen(keypoints, scores, size)
    angles[:, 2] = np.where(reference & can, angles[:, 2] - _shoulder_roll(keypoints), angles[:, 2])
    return HeadPose(angles, conf, reference & can, mm_per_px, rotation, translation, focal, center)


def _turned_deg(rvec_a: np.ndarray, rvec_b: np.ndarray) -> float:
    """The angle (degrees) of the rotation between two head orientations (Rodrigues vectors)."""
    import cv2

    ra, rb = cv2.Rodrigues(np.asarray(rvec_a, np.float64))[0], cv2.Rodrigues(np.asarray(rvec_b, np.float64))[0]
    return float(np.degrees(np.arccos(np.clip((np.trace(ra.T @ rb) - 1) / 2, -1, 1))))


def _interocular_px(pts: np.ndarray, used: np.ndarray) -> float:
    if used[_EYES].all():
        return max(float(np.linalg.norm(pts[_EYES[0]] - pts[_EYES[1]])), 1.0)
    return max(float(np.linalg.norm(pts[_CORNERS[0]] - pts[_CORNERS[1]])) * 0.7, 1.0)


def _shoulders_seen(keypoints, scores, size) -> np.ndarray:
    kp, sc = keypoints[:, _SHOULDERS], scores[:, _SHOULDERS]
    w, h = size
    with np.errstate(invalid="ignore"):
        inside = (kp[..., 0] >= 0) & (kp[..., 1] >= 0) & (kp[..., 0] < w) & (kp[..., 1] < h)
    return (np.isfinite(kp).all(-1) & (sc > MIN_SCORE) & inside).all(1)


def _shoulder_roll(keypoints: np.ndarray) -> np.ndarray:
    """The shoulder line's angle (degrees, > 0 when the person's left shoulder is lower)."""
    d = keypoints[:, _SHOULDERS[0]].astype(np.float64) - keypoints[:, _SHOULDERS[1]]
    return np.degrees(np.arctan2(d[:, 1], d[:, 0]))
