"""A labelled, generated suite of MA-52 micro-actions: the truth for the weight-free recognizer.

An articulated 3D person (mm) does actions with known MA-52 codes, angles and timing; a pinhole camera
with varied field of view, distance, yaw and pitch projects the layout's 44 joints
(``definitions.layout.ma52_layout``) to 2D; pose-model-like jitter, drift, scores and dropouts are added
and, by default, the track goes through the pipeline's stabiliser (``pose.stabilize``) as the recognizer
sees it. The geometry is this module's own anthropometric model (it does not read any recognizer code),
so a recognizer is tested against physics, not against a copy of itself.

Conventions (all angles in degrees)
-----------------------------------
* World/body frame: x to the camera's right (the person's own left when they face the camera), y down,
  z away from the camera; a person facing the camera looks along -z.
* Head angles: positive pitch = head down (chin toward the chest); positive yaw = the person turns to
  their own left (nose to the image's right when facing the camera); positive roll = the head tilts
  toward the person's own left shoulder. The rotation is R = Ry(-yaw) Rx(pitch) Rz(roll) (yaw about the
  body's vertical, then pitch, then roll), about a neck pivot 40 mm below the tragion.
  ``Scenario.head_angles`` is relative to the camera (the camera pitch and the person's yaw included:
  a head seen from a camera above it reads as pitched down); ``Scenario.head_angles_torso`` is the head
  relative to the torso (what the action moved).
* Torso angles use the same convention about the hip centre (positive pitch = leaning forward).

The person (sources for the numbers)
------------------------------------
Stature 1700 mm scaled per subject by 0.9-1.1 (the whole body, head included); each head point is then
moved by a few mm (N(0, 1.5 mm) per coordinate, clipped to 4 mm), so no recognizer can rely on one exact
head shape.

* Segment lengths as fractions of stature H, the Drillis & Contini proportions (Contini, "Body Segment
  Parameters, Part II", Artificial Limbs 16(1), 1972; the same figure is in Winter, "Biomechanics and
  Motor Control of Human Movement"): upper arm 0.186 H (316 mm), forearm 0.146 H (248), hand 0.108 H
  (184: wrist crease to the middle fingertip, matching the surveyed mean hand lengths of ~193 mm for men
  and ~173 mm for women), thigh 0.245 H, shank 0.246 H, foot 0.152 H, ankle height 0.039 H, shoulder
  height 0.818 H, hip joint 0.530 H. Shoulder keypoints 0.215 H apart (joint centres, inside the
  0.259 H bideltoid width), hip keypoints 0.125 H apart; neck = 10 mm above mid-shoulders.
* Fingers (Chatzioglou et al., Anat Cell Biol 57(2), 2024: middle 70.7, index 63.9, ring 65.5, little
  53.3, thumb 49.5 mm) set the fingertips' spread along the hand; hand breadth ~85 mm (British adults,
  50th percentile, in the CityU online anthropometry tables).
* Head, in a frame at the mid-tragion point (x person's left, y down, z back), Frankfurt horizontal:
  pupils +-31.5 mm (interpupillary distance 63 mm: Dodgson, SPIE 5291, 2004: adult mean ~63 mm, range
  50-75), exocanthion +-48 (biocular width ex-ex 96: 98.2 men / 94.4 women in a published facial norm
  table, J Korean Assoc Maxillofac Plast Reconstr Surg 2019, table 9), tragion +-70 (bitragion ~140;
  131 mm in a 3D photogrammetry case, Prog Orthod 14:32, 2013, whose tragion-midpoint distances also set
  the depths: nasion 88.5, pronasale 103.8, upper lip 94.4, pogonion 107.3 mm); nasal height n-sn 51,
  philtrum 15, lower-lip height 23 (same norm table); vertex 130 mm above the tragion (auricular height).
  nose_bridge (dlib 28, FaceMesh 197) sits on the nasal ridge 8 mm below the pupils (lower-eyelid level).

Actions, parameters and where the figures come from
---------------------------------------------------
Onset = when the movement starts; offset = when it has ended (the head is back at rest, the hand is
back at its rest). All durations below are seconds; every parameter is drawn uniformly from its range
per instance and stored in ``Instance.params``.

* Head (B). Nods are repeated down-up cycles whose magnitude declines cycle by cycle and whose last
  cycle is smaller still (Mori, Den & Jokinen, "Structure of nods in conversation", PLOS ONE 20(5):
  e0323448, 2025: anticipatory rising, declination, final lowering); listeners' fast nodding lies at
  2.6-6.5 Hz and ordinary conversational head motion at 0.2-1.1 Hz (Hale, Ward et al., J Nonverbal
  Behav 44, 2020, motion capture of 31 dyads); symmetrical cyclic movements signal yes/no, linear wide
  ones anticipate turn claims (Hadar et al., J Nonverbal Behav 9(4), 1985; Human Movement Science 2,
  1983: head movement accompanies speech almost continuously). Ranges used (peak-to-peak): B1 nodding
  1-4 cycles of 5-20 deg at 1.5-4 Hz (peak angular speed limited to 200 deg/s, so fast nods are
  smaller), each cycle 0.85x the previous, the last 0.7x; B2 shaking 2-5 half-cycles of 10-35 deg at
  1.5-3.5 Hz (speed <= 300 deg/s); B3 turning yaw 20-70 deg in 0.3-0.7 s, held 0.3-2 s, back in
  0.3-0.7 s (or slowly, 1-2 s); B4 tilting roll 10-25 deg, held 0.5-2 s; B5 bowing pitch 15-35 deg,
  held 0.5-2.5 s; B6 head up pitch -12..-30 deg, held 0.5-2 s. All well inside the cervical range of
  motion (rotation ~80, flexion ~50, extension ~70-80, lateral flexion ~45 deg; clinical norms).
  Negative ``talking``: three sinusoids per axis at 0.2-1.1 Hz (Hale et al.'s low band), 0.3-0.8 deg
  each, so < 2.5 deg at most.
* Hands at the head (F, E2). Spontaneous face touches: ~23 an hour, of the mucosal ones 36 % mouth,
  31 % nose, 27 % eyes (Kwok et al., Am J Infect Control 43(2), 2015); both hands used equally often
  with the same movement times and contact durations, contact durations differing by face area
  (Mueller, Martin & Grunwald, PLOS ONE 14(3):e0213677, 2019) -- so the hand is left or right with
  equal chance; median 39.5 mucosal contacts and 177 s total contact per person in 2 h (Oh et al.,
  Epidemiol Health 43, 2021: a few seconds per contact on average). Used: the hand leaves its rest and
  reaches the face in 0.3-0.8 s on a minimum-jerk path that bulges ~95 mm forward/outward, stays
  0.3-4 s (per action below), returns in 0.3-0.8 s. Scratching = fingertip strokes of 5-15 mm at 3-6 Hz
  (the wrist moves 30 % of it), rubbing eyes = circles of 3-8 mm radius at 2-4 Hz, hair = strokes of
  15-35 mm at 1-2.5 Hz, pushing glasses = the index on the nasal ridge pushed up 8-15 mm in 0.15-0.3 s,
  < 1 s at the face. These rates are engineering choices (no published figure was found for them).
* Body, arms, legs (A, C, D, E, G): see ``docs/SYNTHETIC_SUITE.md``; shrugs lift the shoulders 20-50 mm,
  leg shaking bounces the heel 10-30 mm at 3-6 Hz, gestures move the hands 50-120 mm at 1-2.5 Hz.

Noise model (``NoiseModel``), per point group, as 1-sigma per frame and coordinate at the subject (mm),
turned into pixels by the point's own depth (f / Z), with a 0.3 px floor: face-mesh points
(nose_bridge, nose_bottom, eye corners, lips) 0.4 mm (0.6 % of the 63 mm inter-ocular distance); nose
and pupils 0.6 mm (1 %); ears and head_top 0.95 mm (1.5 %); hand-model wrist 2 mm, fingertips 3.5 mm;
neck/shoulders 3 mm, elbows/wrists/knees/ankles 4 mm, hips/feet 5 mm. Plus a slow drift per point
(Ornstein-Uhlenbeck, 1.5 s time constant, 0.7x the jitter), 1.5x jitter for points outside the picture,
and dropouts: a hand missing for 0.07-0.3 s (NaN, score 0) ~3 times a minute, the whole person missing
for 0.04-0.15 s ~0.5 times a minute. Scores: inside the picture 0.8-1.0, outside < 0.3, hand-model
points of a hand with fewer than 3 of its 6 points in the picture 0, points hidden behind the head or body 0.1-0.3,
face points covered by a palm halved, head points turned away from the camera (the far ear beyond
~40 deg of yaw) 0.36-0.6.

Framings: ``seated`` (whole body, head top at 4-10 % and feet at 90-97 % of the height), ``upper``
(waist up: the bottom edge cuts the torso 75-92 % of the way from neck to hips, so hips, legs and hands
resting on the lap are below the frame), ``head_shoulders`` (head top to chin 30-45 % of the height,
the head's top at 8-25 %, which puts the shoulder keypoints at ~65-90 % and the elbows below the
frame), ``head_only`` (head 55-70 % of the height, both shoulder keypoints 0-8 % below the bottom
edge, the head's top at most 32 % down: where perspective needs more, the head grows, up to 85 %). The camera stays at least 1.5 m (seated), 0.9 m (upper), 0.45 m (head_shoulders), 0.35 m
(head_only) from the face: where the drawn field of view (50-75 deg) would need it nearer (tall
pictures), the field of view is narrowed instead (``Scenario.camera`` has the one used).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from scipy.signal import lfilter
from scipy.spatial.transform import Rotation

from definitions.layout import HAND_POINTS, ma52_layout

LAYOUT = ma52_layout()
J = {name: i for i, name in enumerate(LAYOUT.names)}
SIDES = ("left", "right")

HEAD_CODES = ("B1", "B2", "B3", "B4", "B5", "B6")
HEAD_HAND_CODES = ("F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "E2")
BODY_CODES = ("A1", "A2", "A3", "A4", "A5", "C1", "C3", "C4", "C5", "C6", "C7", "C9", "C10", "C11", "C12",
              "C13", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "E1", "E3", "E4", "E5", "E6",
              "G1", "G2", "G3", "G4")
FAMILIES = {"head": HEAD_CODES, "head_hand": HEAD_HAND_CODES, "body": BODY_CODES}
LOWER_BODY_CODES = tuple(c for c in BODY_CODES if c[0] in "DG")  # need the legs in the picture
FRAMINGS = ("seated", "upper", "head_shoulders", "head_only")
SIZES = ((1280, 720), (960, 540), (1080, 1296))
BACKGROUNDS = ("still", "talking")

# ---------------------------------------------------------------------------------------------------
# The person (mm, stature 1700; scaled per subject)
# ---------------------------------------------------------------------------------------------------
STATURE_MM = 1700.0
SEGMENTS = {  # fractions of stature (see the module's text)
    "upper_arm": 0.186, "forearm": 0.146, "hand": 0.108, "thigh": 0.245, "shank": 0.246,
    "shoulder_width": 0.215, "hip_width": 0.125, "torso": 0.294, "neck_to_tragion": 0.099,
}
HEAD_PIVOT = np.array([0.0, 40.0, 5.0])  # the neck pivot of head rotations, in the head frame
HEAD_MEAN = {  # the layout's 12 head points, head frame (origin mid-tragion; x left, y down, z back)
    "nose": (0.0, 22.0, -103.0),                   # pronasale
    "left_eye": (31.5, -10.0, -80.0), "right_eye": (-31.5, -10.0, -80.0),  # pupil centres
    "left_ear": (70.0, 0.0, 0.0), "right_ear": (-70.0, 0.0, 0.0),          # tragion
    "head_top": (0.0, -130.0, 5.0),                # vertex
    "nose_bridge": (0.0, -2.0, -92.0),             # dlib 28: nasal ridge at the lower-eyelid level
    "nose_bottom": (0.0, 31.0, -87.0),             # subnasale (dlib 33)
    "right_eye_outer_corner": (-48.0, -9.0, -63.0), "left_eye_outer_corner": (48.0, -9.0, -63.0),
    "upper_lip_top": (0.0, 46.0, -88.0),           # labrale superius (dlib 51)
    "lower_lip_bottom": (0.0, 70.0, -84.0),        # lower vermilion border (dlib 57)
}
MENTON = np.array([0.0, 118.0, -72.0])  # chin bottom (framing only)
HEAD_NAMES = tuple(HEAD_MEAN)
# outward surface normals of the head points (head frame): a point turned away from the camera
# (normal . direction-to-camera < -0.5, i.e. turned more than 120 deg away) is self-occluded and gets a
# lower score: the far ear from ~40 deg of yaw. head_top (the outline's apex) is never turned away.
HEAD_NORMALS = {
    "nose": (0, 0.3, -1), "left_eye": (0.3, 0, -1), "right_eye": (-0.3, 0, -1), "left_ear": (1, 0, -0.1),
    "right_ear": (-1, 0, -0.1), "head_top": (0, 0, 0), "nose_bridge": (0, 0, -1), "nose_bottom": (0, 0.7, -0.7),
    "right_eye_outer_corner": (-0.8, 0, -0.6), "left_eye_outer_corner": (0.8, 0, -0.6),
    "upper_lip_top": (0, 0.1, -1), "lower_lip_bottom": (0, 0.3, -1),
}
SELF_OCCLUDED_COS = -0.5

# Hand shapes: the six layout hand points (wrist, thumb, index, middle, ring, pinky tips) in the hand's
# frame (mm along the fingers, toward the palm side, toward the thumb side) of a 184 mm right hand.
HAND_SHAPES = {
    "flat": ((0, 0, 0), (105, 12, 60), (176, 0, 24), (184, 0, 3), (176, 0, -16), (152, 0, -35)),
    "relaxed": ((0, 0, 0), (98, 28, 46), (152, 32, 22), (158, 36, 3), (150, 34, -15), (132, 30, -31)),
    "point": ((0, 0, 0), (88, 36, 28), (176, 4, 24), (98, 42, 6), (94, 40, -12), (86, 36, -28)),
    "fist": ((0, 0, 0), (92, 40, 26), (96, 46, 20), (98, 48, 3), (94, 46, -13), (86, 40, -28)),
    "claw": ((0, 0, 0), (100, 24, 48), (160, 26, 22), (166, 28, 3), (158, 27, -15), (138, 24, -31)),
    "pinch": ((0, 0, 0), (132, 26, 18), (138, 28, 20), (148, 36, 3), (140, 38, -14), (124, 34, -29)),
}
PALM_CENTRE = (75.0, 15.0, 0.0)  # the palm's surface centre in the hand frame
FOOT = {"heel": (-50.0, 58.0, 0.0), "big_toe": (200.0, 55.0, -20.0), "small_toe": (160.0, 58.0, 35.0),
        "ball": (150.0, 64.0, 0.0)}  # relative to the ankle: (forward, down, lateral) mm


@dataclass(frozen=True)
class Subject:
    """One person: the body scale and its own head (points in mm, head frame)."""
    scale: float
    head: Mapping[str, np.ndarray]
    toe_out_deg: float
    rest_lean_deg: float  # seated torso lean (negative: leaning back into the chair)

    def length(self, segment: str) -> float:
        return SEGMENTS[segment] * STATURE_MM * self.scale

    def mm(self, v) -> np.ndarray:
        return np.asarray(v, float) * self.scale


def sample_subject(rng: np.random.Generator) -> Subject:
    scale = float(rng.uniform(0.9, 1.1))
    head = {n: np.asarray(p, float) * scale + np.clip(rng.normal(0, 1.5, 3), -4, 4) for n, p in HEAD_MEAN.items()}
    return Subject(scale, head, float(rng.uniform(5, 15)), float(rng.uniform(-8, 3)))


# ---------------------------------------------------------------------------------------------------
# Rotations (vectorised; angles in radians unless named _deg)
# ---------------------------------------------------------------------------------------------------
def _rx(a) -> np.ndarray:
    a = np.asarray(a, float)
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _ry(a) -> np.ndarray:
    a = np.asarray(a, float)
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rz(a) -> np.ndarray:
    a = np.asarray(a, float)
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def head_rotation(yaw_deg, pitch_deg, roll_deg) -> np.ndarray:
    """R = Ry(-yaw) Rx(pitch) Rz(roll) [..., 3, 3] (the module's sign conventions)."""
    return _ry(-np.radians(yaw_deg)) @ _rx(np.radians(pitch_deg)) @ _rz(np.radians(roll_deg))


def rotation_angles(R: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) degrees [..., 3] of rotations made by ``head_rotation``."""
    yaw = -np.arctan2(R[..., 0, 2], R[..., 2, 2])
    pitch = np.arcsin(np.clip(-R[..., 1, 2], -1, 1))
    roll = np.arctan2(R[..., 1, 0], R[..., 1, 1])
    return np.degrees(np.stack([yaw, pitch, roll], -1))


def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _axes(along, palm) -> np.ndarray:
    """A hand's rotation [3, 3]: columns along the fingers, the palm normal (palm side), along x palm."""
    a = _unit(along)
    n = _unit(np.asarray(palm, float) - np.dot(palm, a) * a)
    return np.stack([a, n, np.cross(a, n)], -1)


def _rotate_about(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotations [T, 3, 3] by ``angle`` [T] (radians) about unit axes [T, 3] or [3]."""
    rv = np.broadcast_to(_unit(axis), (len(angle), 3)) * np.asarray(angle)[:, None]
    return Rotation.from_rotvec(rv).as_matrix()


def _mirror(v) -> np.ndarray:
    """A right-side vector for the left side (x to -x)."""
    out = np.array(v, float)
    out[..., 0] *= -1
    return out


# ---------------------------------------------------------------------------------------------------
# Time profiles
# ---------------------------------------------------------------------------------------------------
def _minjerk(u) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u ** 3 * (10 - 15 * u + 6 * u * u)


def _plateau(t: np.ndarray, start: float, rise: float, hold: float, fall: float) -> np.ndarray:
    """0 before ``start``, minimum-jerk to 1 over ``rise``, 1 for ``hold``, back to 0 over ``fall``."""
    up = (t >= start).astype(float) if rise <= 0 else _minjerk((t - start) / rise)
    down = _minjerk((t - (start + rise + hold)) / fall) if fall > 0 else (t >= start + rise + hold).astype(float)
    return up - down


def _window(t: np.ndarray, a: float, b: float, ramp: float = 0.08) -> np.ndarray:
    """Raised-cosine envelope: 0 outside [a, b], 1 inside, ``ramp`` seconds of ramp inside each end."""
    ramp = max(min(ramp, (b - a) / 2), 1e-6)
    u = np.clip(np.minimum(t - a, b - t) / ramp, 0, 1)
    return np.where((t >= a) & (t <= b), 0.5 - 0.5 * np.cos(np.pi * u), 0.0)


# ---------------------------------------------------------------------------------------------------
# Actions: labels, parameters
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Action:
    """An action to place in a scenario: its MA-52 code, optionally its start (seconds) and parameter
    overrides (see each code's draw function: e.g. ``{"hand": "both"}``, ``{"amplitude_deg": 30}``,
    ``{"already": True}`` for a hand that is at the face when the clip starts)."""
    code: str
    start_s: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Instance:
    """A truth label: ``code`` from ``start_s`` (the movement starts) to ``end_s`` (it has ended), its
    drawn parameters (hand actions also ``contact_s``: when the hand reaches its goal and leaves it), and
    for hand actions ``visible_s``: an observation, not a label -- how long during the contact the acting
    hand was in the picture (its wrist, or 3 of its 6 hand points, scored >= 0.5; 0: it cannot be seen,
    e.g. a hand at the neck below a head-only close-up)."""
    code: str
    start_s: float
    end_s: float
    params: Mapping[str, Any]
    visible_s: float | None = None


@dataclass
class _HandEvent:
    side: str
    goal: "_Goal"
    start: float
    rise: float
    hold: float
    fall: float
    micro: dict
    shape: str

    @property
    def end(self) -> float:
        return self.start + self.rise + self.hold + self.fall


@dataclass
class _Motion:
    """Per-frame channels that the actions write (the renderer turns them into joints)."""
    t: np.ndarray
    head: np.ndarray    # [T, 3] yaw, pitch, roll of the head relative to the torso (deg)
    torso: np.ndarray   # [T, 3] yaw, pitch, roll of the torso about the hip centre (deg)
    pelvis: np.ndarray  # [T, 3] translation of the hips (mm, body frame)
    shrug: np.ndarray   # [T, 2] shoulder elevation, left and right (mm)
    breath: np.ndarray  # [T] breathing: shoulders and neck up (mm), the head stays
    ankle: dict         # side -> [T, 3] ankle offset (mm, body frame)
    foot_pitch: dict    # side -> [T] heel-up rotation of the foot (deg; negative: toes up)
    knee_out: dict      # side -> [T] knee swung outward about the hip-ankle line (deg)
    hands: dict         # side -> list of _HandEvent

    @classmethod
    def still(cls, t: np.ndarray) -> "_Motion":
        n = len(t)
        return cls(t, np.zeros((n, 3)), np.zeros((n, 3)), np.zeros((n, 3)), np.zeros((n, 2)), np.zeros(n),
                   {s: np.zeros((n, 3)) for s in SIDES}, {s: np.zeros(n) for s in SIDES},
                   {s: np.zeros(n) for s in SIDES}, {s: [] for s in SIDES})


def _u(rng, lo_hi) -> float:
    return float(rng.uniform(*lo_hi))


def _choice(rng, options):
    return options[int(rng.integers(len(options)))]


# ----- head (B) ------------------------------------------------------------------------------------
def _draw_b1(rng, p):
    freq = _u(rng, (1.5, 4.0))
    amp_max = min(20.0, 200.0 / (math.pi * freq))  # peak speed pi*f*A <= 200 deg/s
    cycles = int(rng.integers(1, 5))
    return {"cycles": cycles, "freq_hz": freq, "amplitude_deg": _u(rng, (5.0, amp_max)),
            "duration_s": cycles / freq}


def _render_b1(m: _Motion, t0: float, p: dict) -> None:
    f, n, a = p["freq_hz"], p["cycles"], p["amplitude_deg"]
    tau = m.t - t0
    k = np.clip(np.floor(tau * f), 0, n - 1)
    gain = 0.85 ** k * np.where(k == n - 1, 0.7 if n > 1 else 1.0, 1.0)  # declination, final lowering
    inside = (tau >= 0) & (tau <= n / f)
    m.head[:, 1] += np.where(inside, a * gain * (0.5 - 0.5 * np.cos(2 * np.pi * f * tau)), 0.0)


def _draw_b2(rng, p):
    freq = _u(rng, (1.5, 3.5))
    amp_max = min(35.0, 300.0 / (math.pi * freq))
    half = int(rng.integers(2, 6))
    return {"half_cycles": half, "freq_hz": freq, "amplitude_deg": _u(rng, (10.0, amp_max)),
            "first_side": _choice(rng, ("left", "right")), "duration_s": half / (2 * freq)}


def _render_b2(m: _Motion, t0: float, p: dict) -> None:
    f, h, a = p["freq_hz"], p["half_cycles"], p["amplitude_deg"]
    tau = m.t - t0
    sign = 1.0 if p["first_side"] == "left" else -1.0
    taper = 1.0 - 0.3 * np.clip(tau * 2 * f / h, 0, 1)
    inside = (tau >= 0) & (tau <= h / (2 * f))
    m.head[:, 0] += np.where(inside, sign * a / 2 * taper * np.sin(2 * np.pi * f * tau), 0.0)


def _draw_hold(rng, amp, hold, move=(0.3, 0.7), back=(0.3, 0.7), slow_back=0.0, signed=True):
    rise = _u(rng, move)
    fall = _u(rng, (1.0, 2.0)) if rng.random() < slow_back else _u(rng, back)
    sign = _choice(rng, (1.0, -1.0)) if signed else 1.0
    h = _u(rng, hold)
    return {"angle_deg": sign * _u(rng, amp), "rise_s": rise, "hold_s": h, "fall_s": fall,
            "duration_s": rise + h + fall}


def _head_hold(axis: int) -> Callable:
    def render(m: _Motion, t0: float, p: dict) -> None:
        m.head[:, axis] += p["angle_deg"] * _plateau(m.t, t0, p["rise_s"], p["hold_s"], p["fall_s"])
    return render


# ----- torso (A) -----------------------------------------------------------------------------------
def _draw_a1(rng, p):
    freq, half = _u(rng, (1.0, 2.5)), int(rng.integers(2, 7))
    return {"freq_hz": freq, "half_cycles": half, "amplitude_deg": _u(rng, (3.0, 8.0)),
            "twist_deg": _u(rng, (0.0, 5.0)), "duration_s": half / (2 * freq)}


def _render_a1(m: _Motion, t0: float, p: dict) -> None:
    """Side-to-side rocking about the hips (roll), with some twist (yaw) in phase."""
    tau = m.t - t0
    inside = (tau >= 0) & (tau <= p["duration_s"])
    wave = np.where(inside, np.sin(2 * np.pi * p["freq_hz"] * tau), 0.0)
    m.torso[:, 2] += p["amplitude_deg"] * wave
    m.torso[:, 0] += p["twist_deg"] * wave


def _render_a2(m: _Motion, t0: float, p: dict) -> None:
    prof = _plateau(m.t, t0, p["rise_s"], p["hold_s"], p["fall_s"])
    m.torso[:, 0] += p["angle_deg"] * prof
    m.head[:, 0] += 0.3 * p["angle_deg"] * prof  # the head leads a little further


def _draw_a3(rng, p):
    rise = _u(rng, (0.6, 1.5))
    return {"slouch_deg": _u(rng, (12.0, 25.0)), "head_down_deg": _u(rng, (3.0, 8.0)), "rise_s": rise,
            "duration_s": rise}


def _render_a3(m: _Motion, t0: float, p: dict) -> None:
    """Slouched (leaning forward, head a little down) from the clip's start until ``t0``, then upright."""
    stay = 1.0 - _minjerk((m.t - t0) / p["rise_s"])
    m.torso[:, 1] += p["slouch_deg"] * stay
    m.head[:, 1] += p["head_down_deg"] * stay


def _draw_a4(rng, p):
    out = _draw_hold(rng, (20.0, 50.0), (0.1, 0.6), move=(0.2, 0.4), back=(0.2, 0.4), signed=False)
    out["lift_mm"] = out.pop("angle_deg")
    out["sides"] = "both" if rng.random() < 0.8 else _choice(rng, SIDES)
    return out


def _render_a4(m: _Motion, t0: float, p: dict) -> None:
    prof = p["lift_mm"] * _plateau(m.t, t0, p["rise_s"], p["hold_s"], p["fall_s"])
    for k, side in enumerate(SIDES):
        if p["sides"] in ("both", side):
            m.shrug[:, k] += prof


def _draw_a5(rng, p):
    lean, rise, hold, down = _u(rng, (0.4, 0.7)), _u(rng, (0.5, 0.8)), _u(rng, (0.2, 1.0)), _u(rng, (0.6, 1.0))
    return {"lean_deg": _u(rng, (25.0, 40.0)), "lift_mm": _u(rng, (60.0, 150.0)), "forward_mm": _u(rng, (60.0, 120.0)),
            "lean_s": lean, "rise_s": rise, "hold_s": hold, "down_s": down,
            "duration_s": lean + rise + hold + down + 0.5}


def _render_a5(m: _Motion, t0: float, p: dict) -> None:
    """Lean forward, hips leave the seat (up and forward), stay, sit back down, straighten."""
    lean_s, rise, hold, down = p["lean_s"], p["rise_s"], p["hold_s"], p["down_s"]
    lift = _plateau(m.t, t0 + lean_s * 0.6, rise, hold, down)
    lean = _plateau(m.t, t0, lean_s + 0.4 * rise, max(0.6 * rise + hold - 0.4 * rise, 0.0), down + 0.5)
    m.torso[:, 1] += p["lean_deg"] * lean * (1 - 0.5 * lift)  # straighter once up
    m.pelvis[:, 1] -= p["lift_mm"] * lift
    m.pelvis[:, 2] -= p["forward_mm"] * lift


# ----- legs (D) ------------------------------------------------------------------------------------
def _draw_leg_hold(rng, p, hold=(0.5, 2.5), move=(0.4, 0.9)):
    rise, fall, h = _u(rng, move), _u(rng, move), _u(rng, hold)
    return {"side": _choice(rng, ("left", "right", "both")), "rise_s": rise, "hold_s": h, "fall_s": fall,
            "duration_s": rise + h + fall}


def _leg_sides(p) -> tuple[str, ...]:
    return SIDES if p["side"] == "both" else (p["side"],)


def _leg_render(ankle_mm=(0.0, 0.0, 0.0), pitch_key=None, knee_key=None, lateral_key=None) -> Callable:
    """A held leg posture: ankle offset (right-leg mm, mirrored for the left), foot pitch, knee swing."""
    def render(m: _Motion, t0: float, p: dict) -> None:
        prof = _plateau(m.t, t0, p["rise_s"], p["hold_s"], p["fall_s"])
        for side in _leg_sides(p):
            off = np.array(ankle_mm, float)
            if lateral_key:
                off[0] -= p[lateral_key]  # outward for the right leg (-x)
            off = _mirror(off) if side == "left" else off
            m.ankle[side] += prof[:, None] * off
            if pitch_key:
                m.foot_pitch[side] += p[pitch_key] * prof
            if knee_key:
                m.knee_out[side] += p[knee_key] * prof
    return render


def _draw_d1(rng, p):
    out = _draw_leg_hold(rng, p, move=(0.3, 0.6))
    out["heel_lift_mm"] = _u(rng, (30.0, 60.0))
    out["pitch_deg"] = math.degrees(math.asin(out["heel_lift_mm"] / 200.0))
    return out


def _draw_d2(rng, p):
    out = _draw_leg_hold(rng, p)
    out.update(back_mm=_u(rng, (100.0, 200.0)), pitch_deg=_u(rng, (15.0, 30.0)))
    return out


def _render_d2(m, t0, p):
    _leg_render((0.0, 0.0, p["back_mm"]), pitch_key="pitch_deg")(m, t0, p)


def _draw_d4(rng, p):
    out = _draw_leg_hold(rng, p)
    out.update(forward_mm=_u(rng, (150.0, 300.0)), pitch_deg=-_u(rng, (10.0, 25.0)))
    return out


def _render_d4(m, t0, p):
    _leg_render((0.0, 0.0, -p["forward_mm"]), pitch_key="pitch_deg")(m, t0, p)


def _draw_d5(rng, p):  # closing legs: knees and feet toward each other (from a slightly open rest)
    out = _draw_leg_hold(rng, p)
    out.update(side="both", knee_deg=-_u(rng, (8.0, 15.0)), lateral_mm=-_u(rng, (30.0, 60.0)))
    return out


def _draw_d6(rng, p):
    out = _draw_leg_hold(rng, p)
    out.update(side="both", knee_deg=_u(rng, (15.0, 30.0)), lateral_mm=_u(rng, (50.0, 120.0)))
    return out


def _draw_d7(rng, p):
    out = _draw_leg_hold(rng, p, move=(0.5, 1.0))
    out.update(back_mm=_u(rng, (200.0, 280.0)), up_mm=_u(rng, (80.0, 150.0)), pitch_deg=30.0)
    return out


def _render_d7(m, t0, p):
    _leg_render((0.0, -p["up_mm"], p["back_mm"]), pitch_key="pitch_deg")(m, t0, p)


def _draw_d3(rng, p):
    freq = _u(rng, (3.0, 6.0))
    dur = _u(rng, (1.0, 3.0))
    return {"side": _choice(rng, ("left", "right", "both")), "freq_hz": freq, "heel_lift_mm": _u(rng, (10.0, 30.0)),
            "duration_s": round(dur * freq) / freq}


def _render_d3(m: _Motion, t0: float, p: dict) -> None:
    """Heel bouncing (toes on the floor): whole up-down cycles, so the foot is flat at both ends."""
    tau = m.t - t0
    inside = (tau >= 0) & (tau <= p["duration_s"])
    lift = np.where(inside, 0.5 - 0.5 * np.cos(2 * np.pi * p["freq_hz"] * tau), 0.0)
    pitch = math.degrees(math.asin(p["heel_lift_mm"] / 200.0))
    for side in _leg_sides(p):
        m.foot_pitch[side] += pitch * lift


def _draw_d8(rng, p):
    rise, fall, h = _u(rng, (0.8, 1.4)), _u(rng, (0.8, 1.4)), _u(rng, (1.0, 3.0))
    return {"side": _choice(rng, SIDES), "rise_s": rise, "hold_s": h, "fall_s": fall, "duration_s": rise + h + fall}


def _render_d8(m: _Motion, t0: float, p: dict, rest_ankles: dict) -> None:
    """The ``side`` leg crosses over the other knee: its ankle lifts and goes across in front of the
    other shin; the knee swings inward."""
    prof = _plateau(m.t, t0, p["rise_s"], p["hold_s"], p["fall_s"])
    side = p["side"]
    other = "left" if side == "right" else "right"
    outward = 1.0 if other == "left" else -1.0  # the other leg's outside
    target = rest_ankles[other] + np.array([outward * 55.0, -170.0, -60.0])
    m.ankle[side] += prof[:, None] * (target - rest_ankles[side])
    m.foot_pitch[side] += 25.0 * prof
    m.knee_out[side] -= 28.0 * prof


# ---------------------------------------------------------------------------------------------------
# Hand goals (hands at the head, on the body, in front of it)
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Goal:
    """Where a hand goes (right-hand version; the left hand is mirrored). ``frame``: head, torso,
    pelvis (moves with the hips), rest (the hand's own rest pose), or a named place resolved from the
    neutral body (knee, thigh, ankle, other_forearm, reach_up/reach_forward/reach_side, wave)."""
    frame: str
    target: Any  # (x, y, z) mm of the mean body in that frame, or a head point's name
    normal: tuple  # outward surface normal at the target: the hand stands off along it
    contact: str  # hand point put on the target: index_tip, fingers, palm, thumb_index, index_middle, wrist
    shapes: tuple  # hand shapes to choose from (per micro: still shapes first)
    along: tuple  # finger direction (in the frame)
    palm: tuple  # palm-side normal (in the frame)
    pole: tuple  # where the elbow points (body frame)
    arc: tuple = (-30.0, 0.0, -90.0)  # bulge of the path (body frame, mm, at mid-path)
    standoff: float = 8.0
    micros: tuple = ("still",)
    micro_axis: tuple = (0.0, 1.0, 0.0)
    hidden: tuple = ()  # hand points hidden (behind the head or body)
    covers: tuple = ()  # head points the hand covers
    hands: tuple = ("right", "left")
    hold: tuple = (0.5, 2.5)
    approach: tuple = (0.3, 0.8)
    jitter_mm: float = 6.0  # random shift of the target
    left_shift: tuple = (0.0, 0.0, 0.0)  # extra offset of the left hand (stacked forearms)


_UP_FACE_POLE = (-0.5, 1.0, -0.15)
_TIPS = ("thumb_tip", "index_tip", "middle_tip", "ring_tip", "pinky_tip")
_FACE_CORE = ("nose", "left_eye", "right_eye", "nose_bridge", "nose_bottom", "right_eye_outer_corner",
              "left_eye_outer_corner", "upper_lip_top")
GOALS: dict[str, dict[str, _Goal]] = {
    "F1": {"nose": _Goal("head", "nose", (0, 0.2, -1), "index_tip", ("point",), (0.3, -1, 0.3), (1, 0, 0.4),
                         _UP_FACE_POLE, standoff=7.0, hold=(0.3, 2.0), jitter_mm=3.0)},
    "F2": {"cheek": _Goal("head", (-50, 30, -68), (-0.6, 0, -0.8), "fingers", ("relaxed", "claw"),
                          (0.15, -1, 0.1), (0.6, 0, 0.8), (-0.6, 1.0, 0.0), standoff=10.0,
                          micros=("still", "scratch"), hold=(0.5, 3.0)),
           "chin": _Goal("head", (0, 100, -85), (0, 0.3, -1), "fingers", ("relaxed", "claw"), (0.5, -1, 0.2),
                         (0.2, 0, 1), (-0.4, 1.0, -0.2), standoff=9.0, micros=("still", "scratch"),
                         micro_axis=(1, 0, 0), hold=(0.5, 3.0))},
    "F3": {"side": _Goal("head", (-80, -70, 10), (-1, -0.2, 0), "fingers", ("claw",), (0.2, -0.6, 0.8), (1, 0, 0),
                         (-1.0, -0.2, -0.3), arc=(-120, -80, -60), micros=("stroke",), micro_axis=(0.2, -0.6, 0.8),
                         hands=("right", "left", "both"), hold=(1.0, 3.0)),
           "top": _Goal("head", (-25, -130, 15), (0, -1, 0), "fingers", ("claw",), (0.3, 0, 1), (0, 1, 0),
                        (-1.0, -0.5, -0.3), arc=(-100, -100, -60), micros=("stroke",), micro_axis=(0, 0, 1),
                        hold=(1.0, 3.0))},
    "F4": {"back": _Goal("head", (-15, -35, 102), (0, 0, 1), "fingers", ("relaxed",), (1, -0.3, 0), (0, 0, -1),
                         (-1.0, -0.5, -0.4), arc=(-150, -120, 0), micros=("still", "scratch"),
                         hidden=_TIPS, hands=("right", "left", "both"), hold=(1.0, 3.5))},
    "F5": {"glasses": _Goal("head", "nose_bridge", (0, 0, -1), "index_tip", ("point",), (0.2, -1, 0.35),
                            (1, 0, 0.3), _UP_FACE_POLE, standoff=6.0, micros=("push",), micro_axis=(0, -1, 0.25),
                            hold=(0.25, 0.6), approach=(0.3, 0.6), jitter_mm=2.0)},
    "F6": {"eye": _Goal("head", "right_eye", (-0.2, 0, -1), "index_middle", ("relaxed",), (0.35, -1, 0.35),
                        (0.3, 0, 1), _UP_FACE_POLE, standoff=6.0, micros=("rub",), micro_axis=(0, 0, -1),
                        hands=("right", "left", "both"), hold=(0.8, 3.0), jitter_mm=3.0)},
    "F7": {"forehead": _Goal("head", (-12, -55, -88), (0, -0.2, -1), "fingers", ("relaxed", "claw"),
                             (0.4, -1, 0.3), (0.3, 0, 1), _UP_FACE_POLE, micros=("still", "scratch"),
                             micro_axis=(1, 0, 0), hold=(0.5, 2.5))},
    "F8": {"ear": _Goal("head", (-76, 10, 2), (-1, 0, 0), "thumb_index", ("pinch",), (0, -0.75, 0.65), (1, 0, 0),
                        (-0.8, 1.0, 0.1), arc=(-80, 0, -40), micros=("still", "rub"), micro_axis=(-1, 0, 0),
                        hold=(0.5, 2.5), jitter_mm=4.0)},
    "F9": {"mouth": _Goal("head", (0, 58, -90), (0, 0, -1), "palm", ("relaxed",), (0.9, -0.45, 0.1), (0, 0, 1),
                          (-0.4, 1.0, -0.3), standoff=18.0, covers=("upper_lip_top", "lower_lip_bottom", "nose_bottom"),
                          hold=(0.8, 3.0), jitter_mm=4.0)},
    "F10": {"face": _Goal("head", (0, 5, -95), (0, 0, -1), "palm", ("flat",), (0.15, -1, 0.1), (0, 0, 1),
                          (-0.3, 1.0, -0.3), standoff=26.0, covers=_FACE_CORE, hold=(1.0, 4.0), jitter_mm=4.0),
            "both": _Goal("head", (-30, 0, -90), (0, 0, -1), "palm", ("flat",), (0.05, -1, 0.1), (0.1, 0, 1),
                          (-0.4, 1.0, -0.3), standoff=24.0, covers=_FACE_CORE, hands=("both",), hold=(1.0, 4.0),
                          jitter_mm=3.0)},
    "E2": {"neck": _Goal("torso", (-42, -560, -22), (-0.7, 0, -0.7), "fingers", ("relaxed", "claw"), (0.3, -1, 0.1),
                         (0.7, 0, 0.7), (-0.7, 1.0, 0.0), micros=("still", "scratch"), hold=(0.5, 2.5),
                         jitter_mm=5.0)},
    "E1": {"chest": _Goal("torso", (-60, -380, -108), (0, 0, -1), "fingers", ("relaxed", "claw"), (0.5, -1, 0),
                          (0, 0, 1), (-0.7, 1.0, 0.3), micros=("still", "scratch"), hold=(0.5, 2.5), jitter_mm=20.0)},
    "E3": {"back": _Goal("torso", (-70, -170, 125), (0, 0, 1), "fingers", ("relaxed",), (0.7, -0.7, 0), (0, 0, -1),
                         (-0.6, 0.0, 1.0), arc=(-120, 0, 60), micros=("still", "scratch"),
                         hidden=("wrist",) + _TIPS, hold=(0.6, 2.5), jitter_mm=20.0)},
    "E4": {"akimbo": _Goal("torso", (-170, -95, -10), (-1, 0, 0), "palm", ("flat",), (0, 0.45, -1), (1, 0, 0),
                           (-1.0, 0.0, 0.3), arc=(-80, 0, -40), standoff=14.0, hands=("both", "both", "right", "left"),
                           hold=(1.0, 4.0), jitter_mm=10.0)},
    "E5": {"cross": _Goal("torso", (185, -330, -45), (0, 0, -1), "fingers", ("relaxed",), (1, 0, 0.5), (0, 0, 1),
                          (-0.6, 0.5, -0.8), arc=(0, 0, -60), standoff=10.0, hidden=_TIPS[1:], hands=("both",),
                          hold=(1.5, 5.0), jitter_mm=8.0, left_shift=(0.0, 35.0, -15.0))},
    "E6": {"shoulder": _Goal("torso", (175, -505, 0), (0, -1, 0), "fingers", ("relaxed", "claw"), (0.2, 0.2, 1),
                             (0, 1, 0), (-0.3, 1.0, -0.8), micros=("still", "scratch"), micro_axis=(1, 0, 0),
                             hold=(0.5, 2.5))},
    "C1": {"gesture": _Goal("torso", (-150, -320, -300), (0, 0, 0), "wrist", ("relaxed", "flat"), (0.3, -0.3, -1),
                            (0.7, -0.7, 0), (-0.7, 1.0, 0.2), arc=(-20, 0, -40), standoff=0.0, micros=("gesture",),
                            hands=("right", "left", "both"), hold=(1.5, 4.0), jitter_mm=40.0)},
    "C3": {"steeple": _Goal("torso", (-8, -350, -270), (-1, 0, 0), "fingers", ("flat",), (0.5, -0.8, -0.2),
                            (0.8, 0.3, 0.5), (-0.8, 1.0, 0.2), standoff=0.0, micros=("tap",), micro_axis=(1, 0, 0),
                            hands=("both",), hold=(1.0, 3.0), jitter_mm=15.0)},
    "C4": {"up": _Goal("reach_up", (0, 0, 0), (0, 0, 0), "wrist", ("flat",), (0, -0.92, -0.38), (0, 0, -1),
                       (-1.0, 0.0, 0.0), arc=(-60, 0, -60), standoff=0.0, hands=("both", "both", "right"),
                       hold=(0.5, 2.0), approach=(0.5, 1.0), jitter_mm=0.0),
           "forward": _Goal("reach_forward", (0, 0, 0), (0, 0, 0), "wrist", ("flat",), (0, -0.2, -1), (0, 1, 0),
                            (-1.0, 0.5, 0.0), arc=(-40, 0, -40), standoff=0.0, hands=("both", "right", "left"),
                            hold=(0.5, 2.0), approach=(0.5, 1.0), jitter_mm=0.0),
           "side": _Goal("reach_side", (0, 0, 0), (0, 0, 0), "wrist", ("flat",), (-0.7, -0.7, -0.1), (0, 0, -1),
                         (0.0, 1.0, 0.5), arc=(-60, 0, -40), standoff=0.0, hands=("both",), hold=(0.5, 2.0),
                         approach=(0.5, 1.0), jitter_mm=0.0)},
    "C5": {"wave": _Goal("wave", (0, 0, 0), (0, 0, 0), "wrist", ("flat",), (0.1, -1, 0), (0, 0, -1),
                         (-1.0, 0.6, 0.2), arc=(-80, 0, -60), standoff=0.0, micros=("wave",), hold=(1.0, 3.0),
                         jitter_mm=15.0)},
    "C7": {"spread": _Goal("torso", (-340, -290, -250), (0, 0, 0), "wrist", ("flat",), (-0.55, 0, -0.85), (0, -1, 0),
                           (-0.6, 1.0, 0.3), arc=(0, 0, -60), standoff=0.0, hands=("both",), hold=(0.4, 1.5),
                           approach=(0.4, 0.8), jitter_mm=40.0)},
    "C9": {"together": _Goal("torso", (-10, -320, -260), (-1, 0, 0), "palm", ("flat",), (0.05, -0.8, -0.6), (1, 0, 0),
                             (-0.8, 1.0, 0.2), standoff=10.0, hands=("both",), hold=(0.6, 3.0), jitter_mm=25.0)},
    "C10": {"retract": _Goal("torso", (-205, -110, 45), (0, 0, 0), "wrist", ("relaxed",), (0, 1, -0.2), (1, 0, 0),
                             (-0.3, 0.4, 1.0), arc=(-60, 0, 0), standoff=0.0, hands=("both", "right", "left"),
                             hold=(0.5, 2.0), jitter_mm=15.0)},
    "C11": {"self": _Goal("torso", (-15, -370, -110), (0, 0, -1), "index_tip", ("point",), (0.25, 0, 1), (0, 1, 0),
                          (-0.8, 1.0, 0.2), standoff=6.0, micros=("still", "tap_hand"), micro_axis=(0, 0, -1),
                          hold=(0.4, 1.2), jitter_mm=15.0)},
    "C12": {"fist": _Goal("rest", (0, -10, 0), (0, 0, 0), "wrist", ("fist",), (0, 0, 0), (0, 0, 0), (0, 0, 0),
                          arc=(0, 0, 0), standoff=0.0, hands=("right", "left", "both"), hold=(0.5, 2.5),
                          approach=(0.2, 0.4), jitter_mm=0.0)},
    "C13": {"rub": _Goal("torso", (-12, -230, -250), (-1, 0, 0), "palm", ("flat",), (0.05, -0.3, -1), (1, 0, 0),
                         (-0.8, 1.0, 0.2), standoff=12.0, micros=("rub_hands",), micro_axis=(0.05, -0.3, -1),
                         hands=("both",), hold=(1.0, 3.0), jitter_mm=20.0)},
    "C6": {"arm": _Goal("other_forearm", (0, -30, 0), (0, -1, 0), "fingers", ("claw",), (1, 0.3, 0), (0, 1, 0),
                        (-0.8, 1.0, 0.2), arc=(0, 0, -60), standoff=0.0, micros=("scratch",), hold=(1.0, 3.0),
                        jitter_mm=10.0)},
    "G1": {"knee": _Goal("knee", (0, -55, 0), (0, -1, 0), "palm", ("flat", "relaxed"), (0, 0.35, -1), (0, 1, 0),
                         (-0.8, 0.6, 0.6), arc=(-30, -40, -40), standoff=14.0, hands=("right", "left", "both"),
                         hold=(0.5, 2.5), jitter_mm=10.0)},
    "G2": {"thigh": _Goal("thigh", (0, -70, 0), (0, -1, 0), "palm", ("flat",), (0, 0.2, -1), (0, 1, 0),
                          (-0.8, 0.6, 0.6), arc=(-30, -40, -40), standoff=14.0, micros=("pat",), micro_axis=(0, -1, 0),
                          hands=("right", "left", "both"), hold=(1.0, 2.5), jitter_mm=15.0)},
    "G3": {"leg": _Goal("knee", (0, -50, 60), (0, -1, 0), "fingers", ("claw",), (0, 0.3, -1), (0, 1, 0),
                        (-0.8, 0.6, 0.6), arc=(-30, -40, -40), standoff=0.0, micros=("scratch",),
                        micro_axis=(0, 0, 1), hold=(1.0, 3.0), jitter_mm=15.0)},
    "G4": {"foot": _Goal("ankle", (-45, -20, 0), (-1, 0, 0), "fingers", ("claw",), (0.2, 1, -0.3), (1, 0, 0),
                         (-0.8, 0.3, 0.3), arc=(-60, -60, -80), standoff=0.0, micros=("scratch",),
                         hold=(1.0, 2.5), approach=(0.8, 1.2), jitter_mm=10.0)},
}


def _draw_goal(code: str) -> Callable:
    def draw(rng, p):
        variants = GOALS[code]
        name = p.get("variant") or _choice(rng, tuple(variants))
        g = variants[name]
        hand = p.get("hand") or _choice(rng, g.hands)
        micro = p.get("micro") or _choice(rng, g.micros)
        shape = g.shapes[min(g.micros.index(micro), len(g.shapes) - 1)] if micro in g.micros else g.shapes[0]
        rise, fall = _u(rng, g.approach), _u(rng, g.approach)
        already = bool(p.get("already", False))
        out = {"variant": name, "hand": hand, "micro": micro, "shape": shape, "rise_s": 0.0 if already else rise,
               "hold_s": _u(rng, g.hold), "fall_s": fall, "already": already, "lag_s": _u(rng, (0.0, 0.15)),
               "shift_mm": [float(v) for v in rng.normal(0, g.jitter_mm / 2, 3).clip(-g.jitter_mm, g.jitter_mm)],
               **_draw_micro(rng, micro)}
        if code == "G4":
            out["lean_deg"] = _u(rng, (50.0, 65.0))
        if hand != "both":
            del out["lag_s"]
        return out
    return draw


def _draw_micro(rng, kind: str) -> dict:
    if kind == "scratch":
        return {"micro_hz": _u(rng, (3.0, 6.0)), "micro_mm": _u(rng, (5.0, 15.0))}
    if kind == "rub":
        return {"micro_hz": _u(rng, (2.0, 4.0)), "micro_mm": _u(rng, (3.0, 8.0))}
    if kind == "stroke":
        return {"micro_hz": _u(rng, (1.0, 2.5)), "micro_mm": _u(rng, (15.0, 35.0))}
    if kind == "push":
        return {"micro_s": _u(rng, (0.15, 0.3)), "micro_mm": _u(rng, (8.0, 15.0))}
    if kind == "wave":
        return {"micro_hz": _u(rng, (1.5, 3.0)), "micro_mm": _u(rng, (35.0, 75.0)), "swing_deg": _u(rng, (15.0, 30.0))}
    if kind == "gesture":
        return {"micro_hz": _u(rng, (1.0, 2.5)), "micro_mm": _u(rng, (50.0, 120.0)), "phase": _u(rng, (0, 2 * math.pi))}
    if kind == "tap":
        return {"micro_hz": _u(rng, (1.5, 3.0)), "micro_mm": _u(rng, (4.0, 8.0))}
    if kind == "tap_hand":
        return {"micro_hz": _u(rng, (2.0, 3.0)), "micro_mm": _u(rng, (10.0, 20.0))}
    if kind == "rub_hands":
        return {"micro_hz": _u(rng, (2.0, 4.0)), "micro_mm": _u(rng, (20.0, 40.0))}
    if kind == "pat":
        return {"micro_hz": _u(rng, (2.0, 4.0)), "micro_mm": _u(rng, (30.0, 60.0))}
    return {}


def _render_goal(code: str) -> Callable:
    def render(m: _Motion, t0: float, p: dict) -> None:
        g = GOALS[code][p["variant"]]
        sides = SIDES if p["hand"] == "both" else (p["hand"],)
        for k, side in enumerate(sides):
            start = 0.0 if p["already"] else t0 + (p["lag_s"] if (p["hand"] == "both" and k == 1) else 0.0)
            m.hands[side].append(_HandEvent(side, g, start, p["rise_s"], p["hold_s"], p["fall_s"], p, p["shape"]))
        if code == "G4":
            m.torso[:, 1] += p["lean_deg"] * _plateau(m.t, t0, p["rise_s"], p["hold_s"], p["fall_s"])
    return render


# ----- the catalogue ------------------------------------------------------------------------------
def _negated(p: dict) -> dict:
    return {**p, "angle_deg": -p["angle_deg"]}


@dataclass(frozen=True)
class _Spec:
    draw: Callable[[np.random.Generator, Mapping], dict]
    render: Callable[[_Motion, float, dict], None]


SPECS: dict[str, _Spec] = {
    "B1": _Spec(_draw_b1, _render_b1),
    "B2": _Spec(_draw_b2, _render_b2),
    "B3": _Spec(lambda r, p: _draw_hold(r, (20.0, 70.0), (0.3, 2.0), slow_back=0.3), _head_hold(0)),
    "B4": _Spec(lambda r, p: _draw_hold(r, (10.0, 25.0), (0.5, 2.0)), _head_hold(2)),
    "B5": _Spec(lambda r, p: _draw_hold(r, (15.0, 35.0), (0.5, 2.5), move=(0.4, 0.8), signed=False), _head_hold(1)),
    "B6": _Spec(lambda r, p: _negated(_draw_hold(r, (12.0, 30.0), (0.5, 2.0), move=(0.4, 0.8), signed=False)),
                _head_hold(1)),
    "A1": _Spec(_draw_a1, _render_a1),
    "A2": _Spec(lambda r, p: _draw_hold(r, (20.0, 45.0), (0.5, 2.0), move=(0.5, 1.0), back=(0.5, 1.0)), _render_a2),
    "A3": _Spec(_draw_a3, _render_a3),
    "A4": _Spec(_draw_a4, _render_a4),
    "A5": _Spec(_draw_a5, _render_a5),
    "D1": _Spec(_draw_d1, _leg_render(pitch_key="pitch_deg")),
    "D2": _Spec(_draw_d2, _render_d2),
    "D3": _Spec(_draw_d3, _render_d3),
    "D4": _Spec(_draw_d4, _render_d4),
    "D5": _Spec(_draw_d5, _leg_render(knee_key="knee_deg", lateral_key="lateral_mm")),
    "D6": _Spec(_draw_d6, _leg_render(knee_key="knee_deg", lateral_key="lateral_mm")),
    "D7": _Spec(_draw_d7, _render_d7),
    "D8": _Spec(_draw_d8, None),  # rendered with the rest ankles (see _apply_actions)
}
for _code in GOALS:
    SPECS[_code] = _Spec(_draw_goal(_code), _render_goal(_code))
assert set(SPECS) == set(HEAD_CODES + HEAD_HAND_CODES + BODY_CODES)


# ---------------------------------------------------------------------------------------------------
# The body: neutral geometry and forward kinematics
# ---------------------------------------------------------------------------------------------------
REST_POSES = {  # right hand; pelvis frame (moves with the hips): wrist (mm), fingers, palm normal, elbow pole
    "lap": ((-145.0, -65.0, -190.0), (-0.05, 0.12, -1.0), (0.0, 1.0, 0.0), (-0.6, 0.3, 0.8)),
    "table": ((-60.0, -175.0, -300.0), (0.7, 0.05, -0.7), (0.0, 1.0, 0.0), (-0.8, 0.4, 0.3)),
}
KNEE_POLE = np.array([0.0, -0.2, -1.0])


def _two_link(root: np.ndarray, target: np.ndarray, l1: float, l2: float, pole: np.ndarray):
    """Middle joint [T, 3] of a two-segment limb from ``root`` to ``target`` bending toward ``pole``
    (a direction), and the target moved within reach [T, 3]."""
    d = target - root
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    u = d / np.maximum(dist, 1e-9)
    reach = np.clip(dist, abs(l1 - l2) + 1.0, l1 + l2 - 1.0)
    x = (l1 * l1 - l2 * l2 + reach * reach) / (2 * reach)
    r = np.sqrt(np.maximum(l1 * l1 - x * x, 0.0))
    v = pole - np.sum(pole * u, -1, keepdims=True) * u
    v = _unit(np.where(np.linalg.norm(v, axis=-1, keepdims=True) < 1e-6, np.array([0.0, 1.0, 0.0]), v))
    return root + x * u + r * v, root + reach * u


@dataclass
class _Frames:
    """Per-frame rigid transforms (R [T, 3, 3], t [T, 3]) of the body's parts into the body frame."""
    pelvis: tuple
    torso: tuple
    head: tuple
    head_rel: np.ndarray  # [T, 3, 3] the head relative to the torso

    @staticmethod
    def apply(frame: tuple, x: np.ndarray) -> np.ndarray:
        """Points [..., 3] (fixed, or [T, ..., 3] per frame) from the part's frame to the body frame."""
        R, t = frame
        x = np.asarray(x, float)
        if x.ndim == 1:
            return np.einsum("tij,j->ti", R, x) + t
        if x.ndim == 2 and x.shape[0] == len(t):
            return np.einsum("tij,tj->ti", R, x) + t
        return np.einsum("tij,...j->t...i", R, x) + t.reshape((len(t),) + (1,) * (x.ndim - 1) + (3,))


class _Body:
    """A subject's neutral geometry (seated) and the forward kinematics of a motion."""

    def __init__(self, subject: Subject, rest: str = "lap"):
        if rest not in REST_POSES:
            raise ValueError(f"unknown rest {rest!r} (choose from {', '.join(REST_POSES)})")
        self.s = subject
        self.rest = rest
        sc = subject.mm
        torso, sw, hw = subject.length("torso"), subject.length("shoulder_width"), subject.length("hip_width")
        self.neck = np.array([0.0, -torso, 0.0])
        self.shoulder = {"left": np.array([sw / 2, -torso + 10 * subject.scale, 0.0]),
                         "right": np.array([-sw / 2, -torso + 10 * subject.scale, 0.0])}
        self.tragion = np.array([0.0, -torso - subject.length("neck_to_tragion"), 0.0])
        self.hip = {"left": np.array([hw / 2, 0.0, 0.0]), "right": np.array([-hw / 2, 0.0, 0.0])}
        self.ankle_rest = {side: sc(_side((-(hw / 2 / subject.scale + 20.0), 455.0, -400.0), side)) for side in SIDES}
        to = math.radians(subject.toe_out_deg)
        self.foot_fwd = {"right": np.array([-math.sin(to), 0, -math.cos(to)]),
                         "left": np.array([math.sin(to), 0, -math.cos(to)])}  # toes turned out
        self.foot_lat = {"right": np.array([-math.cos(to), 0, math.sin(to)]),
                         "left": np.array([math.cos(to), 0, math.sin(to)])}  # the foot's outer side
        self.pivot = sc(HEAD_PIVOT)

    # ----- the parts' frames -----
    def frames(self, m: _Motion) -> _Frames:
        """The parts' frames. The seated lean (``rest_lean_deg``) tilts the torso but not the head's
        orientation: at rest the head is upright whatever the chair, as people hold it."""
        n = len(m.t)
        eye = np.broadcast_to(np.eye(3), (n, 3, 3))
        r_torso = head_rotation(m.torso[:, 0], m.torso[:, 1] + self.s.rest_lean_deg, m.torso[:, 2])
        r_upright = head_rotation(m.torso[:, 0], m.torso[:, 1], m.torso[:, 2])
        r_head = head_rotation(m.head[:, 0], m.head[:, 1], m.head[:, 2])
        origin = self.tragion + np.array([0.0, -0.2, 0.0]) * m.shrug.mean(1, keepdims=True)  # [T, 3]
        neck_top = m.pelvis + np.einsum("tij,tj->ti", r_torso, origin + self.pivot)
        head_r = r_upright @ r_head
        head_t = neck_top - np.einsum("tij,j->ti", head_r, self.pivot)
        return _Frames((eye, m.pelvis), (r_torso, m.pelvis), (head_r, head_t), r_head)

    def rest_pose(self, side: str):
        """The hand's rest: wrist (pelvis frame), rotation, elbow pole (body frame)."""
        wrist, along, palm, pole = REST_POSES[self.rest]
        return (self.s.mm(_side(wrist, side)), _axes(_side(along, side), _side(palm, side)), _unit(_side(pole, side)))

    # ----- points -----
    def torso_points(self, m: _Motion, fr: _Frames) -> dict:
        out = {"neck": fr.apply(fr.torso, self.neck[None] + np.outer(-0.8 * (m.shrug.mean(1) + m.breath), [0, 1, 0]))}
        for k, side in enumerate(SIDES):
            lifted = self.shoulder[side][None] + np.outer(-(m.shrug[:, k] + m.breath), [0, 1, 0])
            out[f"{side}_shoulder"] = fr.apply(fr.torso, lifted)
            out[f"{side}_hip"] = fr.apply(fr.pelvis, self.hip[side])
        out["hip_center"] = fr.apply(fr.pelvis, np.zeros(3))
        return out

    def head_points(self, fr: _Frames) -> dict:
        return {name: fr.apply(fr.head, self.s.head[name]) for name in HEAD_NAMES}

    def legs(self, m: _Motion, fr: _Frames) -> dict:
        out = {}
        for side in SIDES:
            hip = fr.apply(fr.pelvis, self.hip[side])
            ankle, foot = self._foot(side, self.ankle_rest[side] + m.ankle[side], m.foot_pitch[side])
            outward = np.array([1.0 if side == "left" else -1.0, 0.0, 0.0])
            pole = KNEE_POLE + np.tan(np.radians(m.knee_out[side]))[:, None] * outward
            knee, reached = _two_link(hip, ankle, self.s.length("thigh"), self.s.length("shank"), pole)
            shift = reached - ankle
            out.update({f"{side}_knee": knee, f"{side}_ankle": reached})
            out.update({f"{side}_{k}": v + shift for k, v in foot.items()})
        return out

    def _foot(self, side: str, ankle: np.ndarray, pitch_deg: np.ndarray):
        """The ankle and foot points [T, 3] with the foot pitched about the ball (heel up) or the heel."""
        d, lat, down = self.foot_fwd[side], self.foot_lat[side], np.array([0.0, 1.0, 0.0])
        local = {k: self.s.mm(v) for k, v in FOOT.items()}
        th = np.radians(pitch_deg)[:, None]
        pivot = np.where(th >= 0, local["ball"][None, :2], local["heel"][None, :2])  # (forward, down)
        pts = {"ankle": np.zeros(3), **{k: local[k] for k in ("heel", "big_toe", "small_toe")}}
        out = {}
        for k, v in pts.items():
            f, h = v[0] - pivot[:, 0:1], v[1] - pivot[:, 1:2]
            f2 = f * np.cos(th) - h * np.sin(th) + pivot[:, 0:1]
            h2 = f * np.sin(th) + h * np.cos(th) + pivot[:, 1:2]
            out[k] = ankle + f2 * d + h2 * down + v[2] * lat
        return out.pop("ankle"), out


def _side(v, side: str) -> np.ndarray:
    return _mirror(v) if side == "left" else np.asarray(v, float)


def _side_name(name: str, side: str) -> str:
    return name.replace("right_", "left_") if side == "left" else name


# ----- hands --------------------------------------------------------------------------------------
def _shape(name: str, side: str, scale: float) -> np.ndarray:
    """A hand shape [6, 3] in hand coordinates (along, palm side, along x palm) scaled to the subject."""
    pts = np.asarray(HAND_SHAPES[name], float) * scale
    if side == "left":
        pts[:, 2] *= -1  # the thumb is on the other side of along x palm
    return pts


def _contact(name: str, shape: np.ndarray, scale: float) -> np.ndarray:
    """The hand point (hand coordinates) that goes onto the target."""
    pick = {"wrist": [0], "index_tip": [2], "fingers": [2, 3, 4], "thumb_index": [1, 2], "index_middle": [2, 3]}
    if name == "palm":
        return np.asarray(PALM_CENTRE) * scale
    return shape[pick[name]].mean(0)


def _micro(ev: _HandEvent, t: np.ndarray, axis: np.ndarray, normal: np.ndarray, scale: float):
    """Small motions during the hold, in the goal's frame: (hand offset [T, 3], extra fingertip
    offset [T, 3], swing angle about the palm normal [T] radians)."""
    p, kind = ev.micro, ev.micro["micro"]
    n = len(t)
    zero3, hold0, hold1 = np.zeros((n, 3)), ev.start + ev.rise, ev.start + ev.rise + ev.hold
    env, tau = _window(t, hold0, hold1, 0.1), t - hold0
    f, amp = p.get("micro_hz", 0.0), p.get("micro_mm", 0.0) * scale
    wave = np.sin(2 * np.pi * f * tau) * env
    bump = (0.5 - 0.5 * np.cos(2 * np.pi * f * tau)) * env
    if kind == "scratch":
        return 0.3 * amp / 2 * np.outer(wave, axis), 0.7 * amp / 2 * np.outer(wave, axis), np.zeros(n)
    if kind == "rub":
        u = _unit(np.cross(normal, [0.0, 0.0, 1.0] if abs(normal[2]) < 0.9 else [1.0, 0.0, 0.0]))
        v = np.cross(normal, u)
        circle = amp * (np.outer(np.cos(2 * np.pi * f * tau) - 1, u) + np.outer(np.sin(2 * np.pi * f * tau), v))
        return 0.5 * circle * env[:, None], 0.5 * circle * env[:, None], np.zeros(n)
    if kind == "stroke":
        return 0.7 * amp / 2 * np.outer(wave, axis), 0.3 * amp / 2 * np.outer(wave, axis), np.zeros(n)
    if kind == "push":
        push = amp * _minjerk((tau - 0.05) / p["micro_s"]) * (t >= hold0)
        return np.outer(push, axis), zero3, np.zeros(n)
    if kind == "wave":
        return amp * np.outer(wave, [1.0, 0.0, 0.0]), zero3, np.radians(p["swing_deg"]) * wave
    if kind == "gesture":
        ph = p["phase"]
        path = np.stack([np.sin(2 * np.pi * f * tau + ph), 0.6 * np.sin(2 * np.pi * 1.5 * f * tau + 2 * ph),
                         0.3 * np.sin(2 * np.pi * 0.7 * f * tau + 1.0)], -1)
        return amp * path * env[:, None], zero3, 0.25 * wave
    if kind == "tap":
        return zero3, -amp * np.outer(bump, axis), np.zeros(n)
    if kind in ("tap_hand", "pat"):
        return amp * np.outer(bump, axis), zero3, np.zeros(n)
    if kind == "rub_hands":
        sign = -1.0 if ev.side == "left" else 1.0
        return sign * amp * np.outer(wave, axis), zero3, np.zeros(n)
    return zero3, zero3, np.zeros(n)


class _HandGoalPose:
    """The pose a hand event asks for, per frame, in the body frame."""

    def __init__(self, body: _Body, fr: _Frames, places: dict, ev: _HandEvent, t: np.ndarray):
        g, side, s = ev.goal, ev.side, body.s
        frame, target = self._place(body, fr, places, g, side)
        target = target + np.asarray(ev.micro.get("shift_mm", (0, 0, 0))) * s.scale
        if side == "left":
            target = target + s.mm(g.left_shift)
        normal = _side(g.normal, side)
        if np.linalg.norm(normal) > 0:
            target = target + g.standoff * s.scale * _unit(normal)
        if g.frame == "rest":
            _, rot, _ = body.rest_pose(side)
        else:
            rot = _axes(_side(g.along, side), _side(g.palm, side))
        self.shape = _shape(ev.shape, side, s.scale)
        wrist = target - rot @ _contact(g.contact, self.shape, s.scale)
        axis = _unit(_side(g.micro_axis, side))
        hand_off, tip_off, swing = _micro(ev, t, axis, rot[:, 1], s.scale)
        R_f, t_f = frame
        self.wrist = np.einsum("tij,tj->ti", R_f, wrist + hand_off) + t_f
        self.rot = R_f @ (_rotate_about(rot[:, 1], swing) @ rot)
        self.tips = np.einsum("tij,tj->ti", R_f, tip_off)
        self.pole = np.broadcast_to(_unit(_side(g.pole, side)), (len(t), 3)) if np.any(g.pole) else None

    @staticmethod
    def _place(body: _Body, fr: _Frames, places: dict, g: _Goal, side: str):
        """The goal's frame and its target point in that frame."""
        s = body.s
        if g.frame == "head":
            point = s.head[_side_name(g.target, side)] if isinstance(g.target, str) else s.mm(_side(g.target, side))
            return fr.head, point
        if g.frame == "torso":
            return fr.torso, s.mm(_side(g.target, side))
        if g.frame == "rest":
            return fr.pelvis, body.rest_pose(side)[0] + s.mm(_side(g.target, side))
        if g.frame.startswith("reach_"):
            reach = 0.93 * (s.length("upper_arm") + s.length("forearm"))
            return fr.torso, body.shoulder[side] + reach * _unit(_side(g.along, side))
        if g.frame == "wave":
            return fr.torso, body.shoulder[side] + s.mm(_side((-90.0, -170.0, -140.0), side))
        n = len(fr.pelvis[1])
        still = (np.broadcast_to(np.eye(3), (n, 3, 3)), np.zeros((n, 3)))
        return still, places[g.frame][side] + s.mm(_side(g.target, side))


def _hand_track(body: _Body, fr: _Frames, places: dict, m: _Motion, side: str):
    """Wrist [T, 3], the six hand points [T, 6, 3], the elbow pole [T, 3] (body frame), and the masks
    of hidden hand points [T, 6] and covered head points [T, 12] of one hand through all its events."""
    t, n = m.t, len(m.t)
    wrist0, rot0, pole0 = body.rest_pose(side)
    wrist = fr.apply(fr.pelvis, wrist0)
    rot = np.broadcast_to(rot0, (n, 3, 3)).copy()
    shape = np.broadcast_to(_shape("relaxed", side, body.s.scale), (n, 6, 3)).copy()
    pole = np.broadcast_to(pole0, (n, 3)).copy()
    tips = np.zeros((n, 3))
    hidden, covered = np.zeros((n, 6), bool), np.zeros((n, len(HEAD_NAMES)), bool)
    for ev in sorted(m.hands[side], key=lambda e: e.start):
        s = _plateau(t, ev.start, ev.rise, ev.hold, ev.fall)
        goal = _HandGoalPose(body, fr, places, ev, t)
        arc = body.s.mm(_side(ev.goal.arc, side)) * np.sin(np.pi * s)[:, None]
        wrist = (1 - s)[:, None] * wrist + s[:, None] * goal.wrist + arc
        rot = _slerp(rot, goal.rot, s)
        shape = (1 - s)[:, None, None] * shape + s[:, None, None] * goal.shape
        if goal.pole is not None:
            pole = (1 - s)[:, None] * pole + s[:, None] * goal.pole
        tips = tips + s[:, None] * goal.tips
        hidden[np.ix_(s >= 0.7, [HAND_POINTS.index(h) for h in ev.goal.hidden])] = True
        covered[np.ix_(s >= 0.85, [HEAD_NAMES.index(_side_name(c, side)) for c in ev.goal.covers])] = True
    points = wrist[:, None, :] + np.einsum("tij,tkj->tki", rot, shape)
    points[:, 1:] += tips[:, None, :]
    return wrist, points, _unit(pole), hidden, covered


def _slerp(r0: np.ndarray, r1: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Per-frame rotations from r0 [T, 3, 3] toward r1 by s [T] (0: r0, 1: r1)."""
    rel = Rotation.from_matrix(np.einsum("tji,tjk->tik", r0, r1)).as_rotvec()
    return r0 @ Rotation.from_rotvec(rel * s[:, None]).as_matrix()


@dataclass
class _Pose3D:
    points: np.ndarray  # [T, 44, 3] body frame (mm)
    head_frame: tuple  # (R [T, 3, 3], t [T, 3]) of the head in the body frame
    head_rel: np.ndarray  # [T, 3, 3] head relative to the torso
    hidden: np.ndarray  # [T, 44] hidden behind the head or body
    covered: np.ndarray  # [T, 44] covered by a hand


PLACES = ("knee", "thigh", "ankle", "other_forearm")


def _neutral_places(body: _Body) -> dict:
    """Places on the neutral body (body frame) that hand goals refer to."""
    m = _Motion.still(np.zeros(1))
    fr = body.frames(m)
    legs = body.legs(m, fr)
    places = {name: {} for name in PLACES}
    for side in SIDES:
        other = "left" if side == "right" else "right"
        hip = fr.apply(fr.pelvis, body.hip[side])[0]
        knee = legs[f"{side}_knee"][0]
        places["knee"][side] = knee
        places["thigh"][side] = hip + 0.55 * (knee - hip)
        places["ankle"][side] = legs[f"{side}_ankle"][0]
        wrist, _, pole, _, _ = _hand_track(body, fr, {}, m, other)
        elbow, _ = _two_link(body.torso_points(m, fr)[f"{other}_shoulder"], wrist, body.s.length("upper_arm"),
                             body.s.length("forearm"), pole)
        places["other_forearm"][side] = ((elbow + wrist) / 2)[0]
    return places


def render_pose(body: _Body, m: _Motion) -> _Pose3D:
    """The 44 layout joints [T, 44, 3] (body frame, mm) of a motion."""
    fr = body.frames(m)
    pts = np.zeros((len(m.t), LAYOUT.num_joints, 3))
    hidden = np.zeros((len(m.t), LAYOUT.num_joints), bool)
    covered = np.zeros_like(hidden)
    named = {**body.torso_points(m, fr), **body.head_points(fr), **body.legs(m, fr)}
    events = [ev for side in SIDES for ev in m.hands[side]]
    places = _neutral_places(body) if any(ev.goal.frame in PLACES for ev in events) else {}
    for side in SIDES:
        wrist, hand, pole, hid, cov = _hand_track(body, fr, places, m, side)
        elbow, reached = _two_link(named[f"{side}_shoulder"], wrist, body.s.length("upper_arm"),
                                   body.s.length("forearm"), pole)
        hand = hand + (reached - wrist)[:, None, :]
        named[f"{side}_elbow"], named[f"{side}_wrist"] = elbow, reached
        for k, p in enumerate(HAND_POINTS):
            named[f"{side}_hand_{p}"] = hand[:, k]
            hidden[:, J[f"{side}_hand_{p}"]] = hid[:, k]
        covered[:, [J[h] for h in HEAD_NAMES]] |= cov
    for name, v in named.items():
        pts[:, J[name]] = v
    return _Pose3D(pts, fr.head, fr.head_rel, hidden, covered)


# ---------------------------------------------------------------------------------------------------
# Camera and framing
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Camera:
    """A pinhole camera (principal point at the image centre). ``pitch_deg`` > 0: it looks down at the
    person; ``body_yaw_deg``: the person's yaw relative to the camera (> 0: turned to their own left);
    ``translation``: the body frame's origin (hip centre) in camera coordinates (mm)."""
    width: int
    height: int
    focal_px: float
    pitch_deg: float
    body_yaw_deg: float
    translation: tuple = (0.0, 0.0, 2000.0)

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2 * math.atan(self.width / 2 / self.focal_px))

    @cached_property
    def rotation(self) -> np.ndarray:
        """Body frame -> camera axes (3, 3)."""
        return _rx(math.radians(self.pitch_deg)) @ _ry(-math.radians(self.body_yaw_deg))

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        return points @ self.rotation.T + np.asarray(self.translation)

    def project(self, cam_points: np.ndarray) -> np.ndarray:
        """Pixels [..., 2]; points far outside the picture (legs under a webcam) are kept within one
        picture size of its edges, as a pose model's guesses are."""
        z = np.maximum(cam_points[..., 2:3], 50.0)
        size = np.array([self.width, self.height], float)
        return np.clip(size / 2 + self.focal_px * cam_points[..., :2] / z, -size, 2 * size)

    def inside(self, uv: np.ndarray) -> np.ndarray:
        return (uv[..., 0] >= 0) & (uv[..., 0] < self.width) & (uv[..., 1] >= 0) & (uv[..., 1] < self.height)

    def describe(self) -> dict:
        return {"size": (self.width, self.height), "hfov_deg": round(self.hfov_deg, 3), "focal_px": self.focal_px,
                "pitch_deg": self.pitch_deg, "body_yaw_deg": self.body_yaw_deg,
                "translation_mm": tuple(float(v) for v in self.translation)}


def focal_from_hfov(width: int, hfov_deg: float) -> float:
    return width / 2 / math.tan(math.radians(hfov_deg) / 2)


# The camera is at least this far from the face (mm): tripods and webcams, not lenses in the face. Where
# the drawn field of view would need a nearer camera for the framing, it is narrowed instead.
MIN_DISTANCE_MM = {"seated": 1500.0, "upper": 900.0, "head_shoulders": 450.0, "head_only": 350.0}


def _place(cam: Camera, neutral: dict, framing: str, rng: np.random.Generator) -> Camera:
    """The camera with the translation that gives ``framing`` for the neutral pose (points in the body
    frame: head_top, menton, shoulders, neck, hip_center, nose, feet), at least ``MIN_DISTANCE_MM``
    from the face (narrowing the field of view where needed)."""
    if framing not in FRAMINGS:
        raise ValueError(f"unknown framing {framing!r} (choose from {', '.join(FRAMINGS)})")
    W, H = cam.width, cam.height
    u = W * _u(rng, (0.42, 0.58))
    if framing == "seated":
        rows = (H * _u(rng, (0.04, 0.10)), H * _u(rng, (0.90, 0.97)))
    elif framing == "upper":
        rows = (H * _u(rng, (0.05, 0.14)), _u(rng, (0.75, 0.92)))
    else:
        rows = ((_u(rng, (0.30, 0.45)), _u(rng, (0.70, 0.90)), (0.08, 0.25)) if framing == "head_shoulders"
                else (_u(rng, (0.55, 0.70)), _u(rng, (1.00, 1.08)), (-0.10, 0.32)))
    for _ in range(6):
        T = _framing_translation(cam, neutral, framing, rows, u)
        z = (cam.rotation @ neutral["nose"])[2] + T[2]
        if z >= MIN_DISTANCE_MM[framing] - 1.0:
            break
        cam = Camera(W, H, cam.focal_px * MIN_DISTANCE_MM[framing] / z, cam.pitch_deg, cam.body_yaw_deg)
    placed = Camera(W, H, cam.focal_px, cam.pitch_deg, cam.body_yaw_deg, tuple(float(v) for v in T))
    region = ("head_top", "nose", "menton", "left_shoulder", "right_shoulder")
    depth = min(placed.to_camera(neutral[k])[2] for k in region)
    if depth < 150.0:
        raise ValueError(f"framing {framing!r} put the person {depth:.0f} mm from the camera")
    return placed


def _framing_translation(cam: Camera, neutral: dict, framing: str, rows: tuple, u: float) -> np.ndarray:
    rot = {k: cam.rotation @ v for k, v in neutral.items()}
    H = cam.height
    if framing == "seated":
        feet = max((rot[k] for k in ("left_heel", "right_heel", "left_big_toe", "right_big_toe")), key=lambda p: p[1])
        return _solve(cam, rot["head_top"], rows[0], feet, rows[1], rot["hip_center"], u)
    if framing == "upper":
        cut = rot["neck"] + rows[1] * (rot["hip_center"] - rot["neck"])
        return _solve(cam, rot["head_top"], rows[0], cut, float(H), rot["neck"], u)
    h, want, top = rows
    grow = 0.85 if framing == "head_only" else h  # a bigger head rather than a head low in the picture
    return _close_up(cam, neutral, (h, grow), want * H, (top[0] * H, top[1] * H), u, higher=framing == "head_only")


def _solve(cam: Camera, top, v_top, bottom, v_bottom, anchor, u_anchor) -> np.ndarray:
    """Translation putting the (camera-rotated) points ``top`` and ``bottom`` at image rows v_top and
    v_bottom and ``anchor`` at column u_anchor."""
    f, W, H = cam.focal_px, cam.width, cam.height
    A = np.array([[f, -(v_top - H / 2)], [f, -(v_bottom - H / 2)]])
    b = np.array([(v_top - H / 2) * top[2] - f * top[1], (v_bottom - H / 2) * bottom[2] - f * bottom[1]])
    ty, tz = np.linalg.solve(A, b)
    return np.array([(u_anchor - W / 2) * (anchor[2] + tz) / f - anchor[0], ty, tz])


def _close_up(cam: Camera, neutral: dict, h: tuple, v_shoulders: float, v_top_range: tuple, u: float,
              higher: bool) -> np.ndarray:
    """Translation for a close-up: head top to chin ``h[0]`` of the height, the shoulders (their mean, or
    the higher one) at row ``v_shoulders`` as far as the head's top row stays in ``v_top_range``; where
    it cannot, the head grows (up to ``h[1]``) until the shoulders are there."""
    rot = {k: cam.rotation @ v for k, v in neutral.items()}
    H = cam.height

    def place(v_top, share):
        T = _solve(cam, rot["head_top"], v_top, rot["menton"], v_top + share * H, rot["nose"], u)
        rows = [H / 2 + cam.focal_px * (rot[k][1] + T[1]) / (rot[k][2] + T[2])
                for k in ("left_shoulder", "right_shoulder")]
        return T, (min(rows) if higher else sum(rows) / 2)

    share = h[0]
    while True:
        lo, hi = v_top_range
        for _ in range(30):  # the shoulders' row grows with the head's: bisection
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if place(mid, share)[1] < v_shoulders else (lo, mid)
        T, row = place((lo + hi) / 2, share)
        if row >= v_shoulders - 1.0 or share >= h[1]:
            return T
        share = min(share + 0.02, h[1])


def _neutral_points(body: _Body) -> dict:
    pose = render_pose(body, _Motion.still(np.zeros(1)))
    out = {name: pose.points[0, i] for i, name in enumerate(LAYOUT.names)}
    out["menton"] = _Frames.apply(pose.head_frame, body.s.mm(MENTON))[0]
    return out


# ---------------------------------------------------------------------------------------------------
# Pose-model noise, scores, dropouts
# ---------------------------------------------------------------------------------------------------
def _jitter_mm() -> np.ndarray:
    """1-sigma jitter per joint (mm at the subject), see the module's text."""
    groups = {
        0.4: ("nose_bridge", "nose_bottom", "right_eye_outer_corner", "left_eye_outer_corner", "upper_lip_top",
              "lower_lip_bottom"),
        0.6: ("nose", "left_eye", "right_eye"),
        0.95: ("left_ear", "right_ear", "head_top"),
        2.0: ("left_hand_wrist", "right_hand_wrist"),
        3.5: tuple(f"{s}_hand_{p}" for s in SIDES for p in _TIPS),
        3.0: ("neck", "left_shoulder", "right_shoulder"),
        4.0: ("left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_knee", "right_knee", "left_ankle",
              "right_ankle"),
        5.0: ("left_hip", "right_hip", "hip_center", "left_big_toe", "right_big_toe", "left_small_toe",
              "right_small_toe", "left_heel", "right_heel"),
    }
    out = np.full(LAYOUT.num_joints, np.nan)
    for mm, names in groups.items():
        out[[J[n] for n in names]] = mm
    assert np.isfinite(out).all()
    return out


JITTER_MM = _jitter_mm()


@dataclass(frozen=True)
class NoiseModel:
    """Pose-model-like noise (see the module's text). ``jitter`` and ``drift`` scale the per-group
    levels in ``JITTER_MM``; rates are per minute of video."""
    jitter: float = 1.0
    drift: float = 0.7
    drift_tau_s: float = 1.5
    floor_px: float = 0.3
    outside_factor: float = 1.5
    hand_dropouts_per_min: float = 3.0
    hand_dropout_s: tuple = (0.07, 0.3)
    person_dropouts_per_min: float = 0.5
    person_dropout_s: tuple = (0.04, 0.15)


NOISELESS = NoiseModel(jitter=0.0, drift=0.0, floor_px=0.0, hand_dropouts_per_min=0.0, person_dropouts_per_min=0.0)
HAND_JOINTS = {side: [J[f"{side}_hand_{p}"] for p in HAND_POINTS] for side in SIDES}


def _noisy(uv: np.ndarray, depth: np.ndarray, inside: np.ndarray, covered: np.ndarray, cam: Camera,
           times: np.ndarray, noise: NoiseModel, rng: np.random.Generator) -> np.ndarray:
    """uv [T, 44, 2] with per-frame jitter and slow drift (pixels from mm by each point's depth)."""
    sigma = np.hypot(noise.jitter * JITTER_MM[None] * cam.focal_px / depth, noise.floor_px)
    sigma = sigma * np.where(inside, 1.0, noise.outside_factor) * np.where(covered, 2.0, 1.0)
    white = rng.standard_normal(uv.shape)
    if noise.drift > 0 and len(times) > 1:
        dt = float(np.median(np.diff(times)))
        a = math.exp(-dt / noise.drift_tau_s)
        c = math.sqrt(1 - a * a)
        xi = rng.standard_normal(uv.shape)
        xi[0] /= c  # start from the stationary distribution
        drift = lfilter([c], [1.0, -a], xi, axis=0)
    else:
        drift = np.zeros_like(uv)
    return uv + sigma[..., None] * (white + noise.drift * drift)


def _events(rng: np.random.Generator, per_min: float, dur: tuple, seconds: float) -> list[tuple[float, float]]:
    n = int(rng.poisson(per_min * seconds / 60.0))
    starts = rng.uniform(0, seconds, n)
    return [(float(s), float(s + rng.uniform(*dur))) for s in starts]


def _dropouts(times: np.ndarray, noise: NoiseModel, rng: np.random.Generator) -> tuple[np.ndarray, list]:
    """[T, 44] missing joints, and the events (what, start_s, end_s)."""
    gone = np.zeros((len(times), LAYOUT.num_joints), bool)
    seconds = float(times[-1] + (times[1] - times[0] if len(times) > 1 else 0.0)) if len(times) else 0.0
    log = []
    for side in SIDES:
        for a, b in _events(rng, noise.hand_dropouts_per_min, noise.hand_dropout_s, seconds):
            gone[np.ix_((times >= a) & (times < b), HAND_JOINTS[side])] = True
            log.append((f"{side} hand", a, b))
    for a, b in _events(rng, noise.person_dropouts_per_min, noise.person_dropout_s, seconds):
        gone[(times >= a) & (times < b)] = True
        log.append(("person", a, b))
    return gone, log


def _self_occluded(cam: Camera, head_frame: tuple, cam_points: np.ndarray) -> np.ndarray:
    """[T, 12] head points turned away from the camera (the far ear when the head is turned)."""
    normals = np.array([_unit(HEAD_NORMALS[n]) if any(HEAD_NORMALS[n]) else (0.0, 0.0, 0.0) for n in HEAD_NAMES])
    n_cam = np.einsum("ij,tjk,nk->tni", cam.rotation, head_frame[0], normals)
    pts = cam_points[:, [J[n] for n in HEAD_NAMES]]
    to_cam = -pts / np.linalg.norm(pts, axis=-1, keepdims=True)
    return np.sum(n_cam * to_cam, -1) < SELF_OCCLUDED_COS


def _scores(inside, hidden, covered, self_occ, rng) -> np.ndarray:
    """Confidences [T, 44]: 0.8-1.0 inside the picture, < 0.3 outside, 0 for a hand with fewer than 3
    of its 6 points inside, 0.1-0.3 hidden, face points under a palm halved, head points turned away
    0.36-0.6."""
    T, V = inside.shape
    base = rng.uniform(0.86, 0.97, V)
    sc = np.clip(base + rng.normal(0, 0.015, (T, V)), 0.8, 1.0)
    out = np.clip(rng.uniform(0.05, 0.25, V) + rng.normal(0, 0.02, (T, V)), 0.01, 0.29)
    sc = np.where(inside, sc, out)
    sc = np.where(self_occ & inside, rng.uniform(0.36, 0.6, (T, V)), sc)
    sc = np.where(hidden, rng.uniform(0.1, 0.3, (T, V)), sc)
    sc = np.where(covered, sc * 0.5, sc)
    for side in SIDES:  # a hand model finds a hand with at least half of it in the picture
        gone = inside[:, HAND_JOINTS[side]].sum(1) < 3
        sc[np.ix_(gone, HAND_JOINTS[side])] = 0.0
    return sc.astype(np.float32)


# ---------------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------------
@dataclass
class Scenario:
    """A generated clip: what the recognizer sees (``keypoints``, ``scores``, ``times``, ``size``) and
    the truth (``instances``, ``head_angles`` relative to the camera, ``head_angles_torso``)."""
    keypoints: np.ndarray  # [T, 44, 2] float32 pixels (stabilised unless made with stabilise=False)
    scores: np.ndarray  # [T, 44] float32
    times: np.ndarray  # [T] float64 seconds
    size: tuple  # (width, height)
    fps: float
    framing: str
    instances: list  # [Instance]
    head_angles: np.ndarray  # [T, 3] true yaw, pitch, roll (deg) of the head relative to the camera
    head_angles_torso: np.ndarray  # [T, 3] the head relative to the (upright) torso: what the actions moved
    seed: int
    camera: dict
    raw_keypoints: np.ndarray  # [T, 44, 2] with noise and dropouts, before the stabiliser
    raw_scores: np.ndarray
    true_keypoints: np.ndarray  # [T, 44, 2] the exact projection
    rest: str = "lap"
    background: str = "still"
    dropouts: list = field(default_factory=list)  # (what, start_s, end_s)
    name: str = ""
    subject: Subject | None = None

    @property
    def seconds(self) -> float:
        return len(self.times) / self.fps

    @property
    def codes(self) -> tuple:
        return tuple(i.code for i in self.instances)

    @property
    def iod_px(self) -> float:
        """Median true inter-pupil distance in the picture (pixels)."""
        d = self.true_keypoints[:, J["left_eye"]] - self.true_keypoints[:, J["right_eye"]]
        return float(np.median(np.linalg.norm(d, axis=-1)))


def _duration(code: str, p: Mapping) -> float:
    """An action's length (s) from its parameters (after overrides)."""
    if code == "B1":
        return p["cycles"] / p["freq_hz"]
    if code in ("B2", "A1"):
        return p["half_cycles"] / (2 * p["freq_hz"])
    if code == "A3":
        return p["rise_s"]
    if code == "A5":
        return p["lean_s"] + p["rise_s"] + p["hold_s"] + p["down_s"] + 0.5
    if code == "D3":
        return p["duration_s"]
    lag = p.get("lag_s", 0.0) if p.get("hand") == "both" else 0.0
    return p["rise_s"] + p["hold_s"] + p["fall_s"] + lag


def _plan(actions: Sequence, rng_t: np.random.Generator, rng_p: np.random.Generator, gap_s: tuple,
          lead_in_s: tuple) -> list[tuple[str, float, dict]]:
    """(code, start_s, params) of each action: placed one after the other with still gaps, unless an
    action gives its own start (or is a hand ``already`` at the face: start 0)."""
    plan, clock = [], _u(rng_t, lead_in_s)
    for a in actions:
        a = Action(a) if isinstance(a, str) else a
        if a.code not in SPECS:
            raise ValueError(f"unknown action code {a.code!r}")
        overrides = dict(a.params)
        if overrides.get("already") and a.code not in GOALS:
            raise ValueError(f"{a.code}: only hand actions can be 'already' in place at the start")
        params = SPECS[a.code].draw(rng_p, overrides)
        params.update(overrides)
        params["duration_s"] = _duration(a.code, params)
        start = 0.0 if params.get("already") else (a.start_s if a.start_s is not None else clock)
        plan.append((a.code, float(start), params))
        clock = start + params["duration_s"] + _u(rng_t, gap_s)
    return plan


def _background(m: _Motion, kind: str, rng: np.random.Generator) -> None:
    """Breathing (always: shoulders +-1 mm at 0.2-0.3 Hz) and, for ``talking``, slow head motion:
    three sinusoids per axis at 0.2-1.1 Hz of 0.3-0.8 deg each (< 2.5 deg)."""
    t = m.t
    m.breath += 1.0 * np.sin(2 * np.pi * _u(rng, (0.2, 0.3)) * t + _u(rng, (0, 6.3)))
    if kind == "talking":
        for axis in range(3):
            for _ in range(3):
                m.head[:, axis] += _u(rng, (0.3, 0.8)) * np.sin(2 * np.pi * _u(rng, (0.2, 1.1)) * t + _u(rng, (0, 6.3)))
    elif kind != "still":
        raise ValueError(f"unknown background {kind!r} (choose from {', '.join(BACKGROUNDS)})")


def _apply(m: _Motion, body: _Body, plan: list) -> None:
    for code, start, params in plan:
        if code == "D8":
            _render_d8(m, start, params, body.ankle_rest)
        else:
            SPECS[code].render(m, start, params)


def _camera(rng: np.random.Generator, size, hfov_deg, body_yaw_deg, pitch_deg) -> Camera:
    w, h = size if size is not None else SIZES[int(rng.integers(len(SIZES)))]
    hfov = hfov_deg if hfov_deg is not None else _u(rng, (50.0, 75.0))
    yaw = body_yaw_deg if body_yaw_deg is not None else _u(rng, (-25.0, 25.0))
    pitch = pitch_deg if pitch_deg is not None else _u(rng, (-3.0, 10.0))
    return Camera(int(w), int(h), focal_from_hfov(int(w), hfov), float(pitch), float(yaw))


def make_scenario(actions: Sequence, seconds: float | None = None, *, fps: float = 30.0, framing: str = "seated",
                  seed: int = 0, noise: NoiseModel | None = NoiseModel(), stabilise: bool = True,
                  size: tuple | None = None, hfov_deg: float | None = None, body_yaw_deg: float | None = None,
                  camera_pitch_deg: float | None = None, rest: str = "lap", background: str = "still",
                  gap_s: tuple = (0.8, 2.0), lead_in_s: tuple = (0.8, 1.5), tail_s: float = 1.2,
                  name: str = "") -> Scenario:
    """A clip of a seated person doing ``actions`` (codes or ``Action``) one after the other with still
    gaps, between a still lead-in and tail (``seconds``: the clip's length, by default just long enough).
    Random parts (the subject, the camera when not given, timing, parameters, noise) come from ``seed``
    through separate streams, so the labels do not depend on ``fps``. ``noise=None``: no noise, no
    dropouts. ``stabilise``: through the pipeline's stabiliser, as the recognizer sees it."""
    if not (fps > 0 and math.isfinite(fps)):
        raise ValueError(f"fps must be a positive number, not {fps!r}")
    if framing not in FRAMINGS:
        raise ValueError(f"unknown framing {framing!r} (choose from {', '.join(FRAMINGS)})")
    rng_subject, rng_camera, rng_time, rng_params, rng_noise, rng_bg = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6))
    body = _Body(sample_subject(rng_subject), rest)
    plan = _plan(actions, rng_time, rng_params, gap_s, lead_in_s)
    end = max((s + p["duration_s"] for _, s, p in plan), default=0.0)
    seconds = float(seconds) if seconds is not None else max(end + tail_s, 2.0)
    late = [f"{c} ends at {s + p['duration_s']:.2f} s" for c, s, p in plan if s + p["duration_s"] > seconds + 1e-9]
    if late:
        raise ValueError(f"actions do not fit in {seconds:.2f} s: {'; '.join(late)}")
    times = np.arange(int(round(seconds * fps)), dtype=np.float64) / fps
    motion = _Motion.still(times)
    _apply(motion, body, plan)
    _background(motion, background, rng_bg)
    pose = render_pose(body, motion)
    cam = _place(_camera(rng_camera, size, hfov_deg, body_yaw_deg, camera_pitch_deg), _neutral_points(body),
                 framing, rng_camera)
    scenario = _observe(pose, cam, times, fps, framing, plan, seed, noise or NOISELESS, stabilise, rest, background,
                        rng_noise, name)
    scenario.subject = body.s
    return scenario


def _observe(pose: _Pose3D, cam: Camera, times, fps, framing, plan, seed, noise, stabilise, rest, background,
             rng, name) -> Scenario:
    """Project, add the pose model's noise, scores and dropouts, stabilise; the Scenario."""
    cam_pts = cam.to_camera(pose.points)
    true_uv = cam.project(cam_pts)
    inside = cam.inside(true_uv)
    head = [J[n] for n in HEAD_NAMES]
    self_occ = np.zeros_like(inside)
    self_occ[:, head] = _self_occluded(cam, pose.head_frame, cam_pts)
    raw = _noisy(true_uv, cam_pts[..., 2], inside, pose.covered, cam, times, noise, rng)
    scores = _scores(inside, pose.hidden, pose.covered, self_occ, rng)
    gone, log = _dropouts(times, noise, rng)
    raw[gone] = np.nan
    scores[gone] = 0.0
    raw = raw.astype(np.float32)
    kp, sc = (_stabilise(raw, scores, times, fps) if stabilise else (raw.copy(), scores.copy()))
    head_cam = rotation_angles(np.einsum("ij,tjk->tik", cam.rotation, pose.head_frame[0]))
    instances = []
    for code, start, p in plan:
        contact, visible = _contact_info(code, start, p, times, scores)
        instances.append(Instance(code, start, start + p["duration_s"], _clean({**p, **contact}), visible))
    return Scenario(kp, sc, times, (cam.width, cam.height), float(fps), framing, instances, head_cam,
                    rotation_angles(pose.head_rel), seed, cam.describe(), raw, scores,
                    true_uv.astype(np.float32), rest, background, log, name)


def _contact_info(code: str, start: float, p: Mapping, times: np.ndarray, scores: np.ndarray):
    """For hand actions: ({"contact_s": (reached, leaves)}: the later hand's reach when both act), and
    the seconds of it during which the acting hand is seen (see ``Instance``); ({}, None) otherwise."""
    if code not in GOALS:
        return {}, None
    lag = p.get("lag_s", 0.0) if p["hand"] == "both" else 0.0
    a, b = start + p["rise_s"] + lag, start + p["rise_s"] + p["hold_s"]
    hold = (times >= a) & (times <= b)
    sides = SIDES if p["hand"] == "both" else (p["hand"],)
    seen = np.zeros(len(times), bool)
    for side in sides:
        seen |= ((scores[:, HAND_JOINTS[side]] >= 0.5).sum(1) >= 3) | (scores[:, J[f"{side}_wrist"]] >= 0.5)
    dt = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    return {"contact_s": (a, b)}, round(float((seen & hold).sum() * dt), 4)


def _stabilise(kp: np.ndarray, sc: np.ndarray, times: np.ndarray, fps: float):
    from pose.stabilize import MEDIAPIPE, Stabilizer
    from pose.types import DETECTED, MISSING

    sources = np.where(np.isfinite(kp).all(-1), DETECTED, MISSING).astype(np.uint8)
    return Stabilizer(MEDIAPIPE, fps)(kp, sc, sources, times)


def _clean(p: Mapping) -> dict:
    """Parameters as plain Python values (rounded floats), for reports and JSON."""
    out = {}
    for k, v in p.items():
        if isinstance(v, (float, np.floating)):
            out[k] = round(float(v), 4)
        elif isinstance(v, (list, tuple)):
            out[k] = [round(float(x), 3) for x in v]
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------------------------------------------
# The fixed suites
# ---------------------------------------------------------------------------------------------------
SUITE_FPS = (15.0, 25.0, 30.0, 60.0)
_SUITE_PLAN = {  # family: (repeats per code, actions per clip, framings cycled)
    "head": (6, 3, ("head_only", "head_shoulders", "upper", "seated")),
    "head_hand": (4, 2, ("head_shoulders", "head_only", "upper", "seated")),
    "body": (3, 3, ("seated", "upper")),
}
_NEGATIVES = {  # family: (framing, rest, background, fps) of clips with no action at all
    "head": (("head_shoulders", "lap", "still", 30.0), ("head_only", "lap", "talking", 25.0),
             ("upper", "lap", "talking", 60.0), ("seated", "table", "still", 15.0)),
    "head_hand": (("head_shoulders", "lap", "still", 25.0), ("upper", "table", "still", 30.0),
                  ("head_only", "lap", "talking", 60.0), ("seated", "lap", "still", 15.0)),
    "body": (("seated", "lap", "still", 30.0), ("seated", "table", "still", 25.0), ("upper", "lap", "talking", 60.0)),
}
NEGATIVE_SECONDS = 10.0


def suite(family: str = "head", seed: int = 0, stabilise: bool = True) -> list[Scenario]:
    """A fixed, seeded list of scenarios covering every action of ``family`` (head, head_hand, body)
    several times, across framings, frame rates (15/25/30/60), picture sizes and camera angles, plus
    negatives (a still person, talking head motion, hands on the lap or clasped on a table)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r} (choose from {', '.join(FAMILIES)})")
    repeats, per_clip, framings = _SUITE_PLAN[family]
    rng = np.random.default_rng([seed, sorted(FAMILIES).index(family)])
    clips = _suite_clips(family, repeats, per_clip, rng)
    out = []
    for i, (codes, round_) in enumerate(clips):
        lower = any(c in LOWER_BODY_CODES for c in codes)
        framing = "seated" if lower else framings[round_ % len(framings)]
        actions = [Action(c) for c in codes]
        rest = "table" if i % 5 == 3 and not lower else "lap"
        if family == "head_hand" and i % 6 == 1:
            actions[0] = Action(codes[0], params={"already": True})
        out.append(make_scenario(actions, fps=SUITE_FPS[(i + i // len(SUITE_FPS)) % len(SUITE_FPS)], framing=framing,
                                 seed=seed * 100003 + i, size=SIZES[i % len(SIZES)], rest=rest,
                                 background="talking" if i % 3 == 2 else "still", stabilise=stabilise,
                                 name=f"{family}-{i:02d}"))
    for k, (framing, rest, background, fps) in enumerate(_NEGATIVES[family]):
        out.append(make_scenario([], NEGATIVE_SECONDS, fps=fps, framing=framing, seed=seed * 100003 + 900 + k,
                                 size=SIZES[k % len(SIZES)], rest=rest, background=background, stabilise=stabilise,
                                 name=f"{family}-negative-{k}-{background}-{rest}"))
    return out


def _suite_clips(family: str, repeats: int, per_clip: int, rng: np.random.Generator) -> list[tuple[list[str], int]]:
    """(codes, round) of each clip: every code once per round (``repeats`` rounds, the round picks the
    framing, so every code is seen in every framing), lower-body codes (which need the legs in the
    picture) in clips of their own."""
    codes = FAMILIES[family]
    groups = [[c for c in codes if c in LOWER_BODY_CODES], [c for c in codes if c not in LOWER_BODY_CODES]]
    clips = []
    for group in groups:
        for r in range(repeats):
            order = [str(c) for c in rng.permutation(group)]
            clips += [(order[k:k + per_clip], r) for k in range(0, len(order), per_clip)]
    return [clips[i] for i in rng.permutation(len(clips))]


# ---------------------------------------------------------------------------------------------------
# Head-pose accuracy cases
# ---------------------------------------------------------------------------------------------------
@dataclass
class HeadPoseCases:
    """Single frames of a head at known angles: ``keypoints`` [N, 44, 2] (the whole seated body, the
    head rotated), ``scores`` [N, 44], ``angles`` [N, 3] true yaw, pitch, roll (deg) of the head relative
    to the camera, ``iod_px`` [N] the inter-pupil distance the face would have facing the camera."""
    keypoints: np.ndarray
    scores: np.ndarray
    angles: np.ndarray
    iod_px: np.ndarray
    size: tuple
    true_keypoints: np.ndarray


def head_pose_cases(seed: int = 0, yaws: Sequence = tuple(range(-60, 61, 15)),
                    pitches: Sequence = (-30, -15, 0, 15, 30), rolls: Sequence = (-30, -15, 0, 15, 30),
                    iod_px: Sequence = (20, 40, 80, 150),
                    noise: NoiseModel | None = NoiseModel(), size: tuple = (1280, 720)) -> HeadPoseCases:
    """Every (yaw, pitch, roll, size) of the grid once, each with its own subject, field of view
    (50-75 deg), camera pitch (-8..8 deg) and body yaw (-20..20 deg): the head's rotation relative to the
    body is chosen so that its rotation relative to the camera is the grid's. Pixel noise per point
    group as in ``NoiseModel`` (no drift, no dropouts)."""
    noise = noise or NOISELESS
    rng = np.random.default_rng(seed)
    grid = [(y, p, r, d) for y in yaws for p in pitches for r in rolls for d in iod_px]
    kps, true, scs, angles = [], [], [], []
    for yaw, pitch, roll, iod in grid:
        uv, sc, ang = _head_case(rng, float(yaw), float(pitch), float(roll), float(iod), noise, size)
        kps.append(uv[0])
        true.append(uv[1])
        scs.append(sc)
        angles.append(ang)
    return HeadPoseCases(np.array(kps, np.float32), np.array(scs, np.float32), np.array(angles),
                         np.array([g[3] for g in grid], float), tuple(size), np.array(true, np.float32))


def _aim_at_head(cam: Camera, body: _Body, pose: _Pose3D, iod: float, rng: np.random.Generator) -> Camera:
    """The camera at the distance that gives a frontal inter-pupil distance of ``iod`` pixels, the head
    at a random place where all its points are in the picture (2 % margin)."""
    W, H = cam.width, cam.height
    eyes = (pose.points[0, J["left_eye"]] + pose.points[0, J["right_eye"]]) / 2
    ipd = float(np.linalg.norm(body.s.head["left_eye"] - body.s.head["right_eye"]))
    depth = cam.focal_px * ipd / iod

    def aimed(aim):
        T = np.append((aim - np.array([W / 2, H / 2])) * depth / cam.focal_px, depth) - cam.rotation @ eyes
        return Camera(W, H, cam.focal_px, cam.pitch_deg, cam.body_yaw_deg, tuple(T))

    centre = np.array([W / 2, H / 2])
    head = aimed(centre).project(aimed(centre).to_camera(pose.points[0, [J[n] for n in HEAD_NAMES]]))
    lo = centre - head.min(0) + 0.02 * np.array([W, H])
    hi = centre + (np.array([W, H]) - head.max(0)) - 0.02 * np.array([W, H])
    return aimed(lo + rng.uniform(0, 1, 2) * np.maximum(hi - lo, 0.0))


def _head_case(rng, yaw, pitch, roll, iod, noise, size):
    body = _Body(sample_subject(rng))
    W, H = size
    cam = Camera(W, H, focal_from_hfov(W, _u(rng, (50.0, 75.0))), _u(rng, (-8.0, 8.0)), _u(rng, (-20.0, 20.0)))
    r_rel = cam.rotation.T @ head_rotation(yaw, pitch, roll)  # the head upright on the torso: see _Body.frames
    m = _Motion.still(np.zeros(1))
    m.head[0] = rotation_angles(r_rel)
    pose = render_pose(body, m)
    cam = _aim_at_head(cam, body, pose, iod, rng)
    cam_pts = cam.to_camera(pose.points)
    true_uv = cam.project(cam_pts)
    inside = cam.inside(true_uv)
    self_occ = np.zeros_like(inside)
    self_occ[:, [J[n] for n in HEAD_NAMES]] = _self_occluded(cam, pose.head_frame, cam_pts)
    uv = _noisy(true_uv, cam_pts[..., 2], inside, pose.covered, cam, np.zeros(1), noise, rng)
    sc = _scores(inside, pose.hidden, pose.covered, self_occ, rng)[0]
    ang = rotation_angles(cam.rotation @ pose.head_frame[0][0])
    return (uv[0], true_uv[0]), sc, ang
