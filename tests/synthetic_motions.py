"""A labelled synthetic suite for the weight-free movement description: skeleton tracks of a seated
person with known movements at known times (nods, head shakes, body sways, a hand to the face, leg
shaking, hands resting on the lap), with pose-model-like jitter, stabilised as the pipeline does.
Used to tune and test ``pipeline.description`` (tests/test_description.py) and printed by
``benchmarks/bench_description.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from definitions.layout import ma52_layout

L = ma52_layout()
FPS = 30.0
TORSO = 230.0  # neck to hip centre, pixels
SIZE = (1080, 1296)

_T = {  # a seated person facing the camera (their left on the image's right), hands on the lap
    "nose": (540, 330), "left_eye": (555, 318), "right_eye": (525, 318), "left_ear": (575, 325),
    "right_ear": (505, 325), "head_top": (540, 255), "neck": (540, 400), "left_shoulder": (630, 410),
    "right_shoulder": (450, 410), "left_elbow": (660, 520), "right_elbow": (420, 520), "left_wrist": (612, 655),
    "right_wrist": (468, 655), "hip_center": (540, 630), "left_hip": (590, 630), "right_hip": (490, 630),
    "left_knee": (600, 770), "right_knee": (480, 770), "left_ankle": (600, 960), "right_ankle": (480, 960),
    "left_big_toe": (615, 995), "right_big_toe": (465, 995), "left_small_toe": (630, 990),
    "right_small_toe": (450, 990), "left_heel": (595, 970), "right_heel": (485, 970), "nose_bridge": (540, 318),
    "nose_bottom": (540, 338), "right_eye_outer_corner": (518, 318), "left_eye_outer_corner": (562, 318),
    "upper_lip_top": (540, 348), "lower_lip_bottom": (540, 362),
}
for _s, _sign in (("left", 1), ("right", -1)):
    _w = np.array(_T[f"{_s}_wrist"], float)
    _T[f"{_s}_hand_wrist"] = tuple(_w)
    for _tip, _d in (("thumb_tip", (-25, 20)), ("index_tip", (-10, 45)), ("middle_tip", (0, 50)),
                     ("ring_tip", (10, 45)), ("pinky_tip", (20, 38))):
        _T[f"{_s}_hand_{_tip}"] = tuple(_w + (_sign * _d[0], _d[1]))
TEMPLATE = np.array([_T[n] for n in L.names], np.float64)

HEAD = L.indices("nose", "left_eye", "right_eye", "left_ear", "right_ear", "head_top", "nose_bridge", "nose_bottom",
                 "right_eye_outer_corner", "left_eye_outer_corner", "upper_lip_top", "lower_lip_bottom")
UPPER = HEAD + L.indices("neck", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow")
RIGHT_HAND = L.indices("right_wrist", *[n for n in L.names if n.startswith("right_hand_")])
LEFT_LEG = L.indices("left_knee", "left_ankle", "left_big_toe", "left_small_toe", "left_heel")

# what each movement is, as MA-52 names the body part
EXPECTED = {"nod": "head", "shake_head": "head", "sway": "body", "hand_to_face": "head-hand",
            "shake_leg": "lower limb"}


@dataclass
class Movement:
    kind: str
    start_s: float
    end_s: float

    @property
    def body_part(self) -> str:
        return EXPECTED[self.kind]


def _envelope(t: np.ndarray, start: float, end: float, ramp: float = 0.1) -> np.ndarray:
    """1 inside [start, end], raised-cosine ramps of ``ramp`` seconds inside both ends, 0 outside."""
    u = np.clip(np.minimum(t - start, end - t) / ramp, 0, 1)
    return np.where((t >= start) & (t <= end), 0.5 - 0.5 * np.cos(np.pi * u), 0.0)


def _apply(kp: np.ndarray, t: np.ndarray, m: Movement) -> None:
    env = _envelope(t, m.start_s, m.end_s)
    phase = t - m.start_s
    if m.kind == "nod":  # head pitches: points move down and up, 0.07 torso lengths at 2 Hz
        kp[:, HEAD, 1] += (env * 0.07 * TORSO * np.sin(2 * np.pi * 2.0 * phase))[:, None]
    elif m.kind == "shake_head":  # side to side, 0.08 torso lengths at 2.5 Hz (the ears move less)
        dx = env * 0.08 * TORSO * np.sin(2 * np.pi * 2.5 * phase)
        kp[:, HEAD, 0] += dx[:, None]
        kp[:, L.indices("left_ear", "right_ear"), 0] -= 0.5 * dx[:, None]
    elif m.kind == "sway":  # the upper body rocks about the hips, 7 degrees at 1 Hz; hands stay on the lap
        angle = np.radians(7.0) * env * np.sin(2 * np.pi * 1.0 * phase)
        pivot = TEMPLATE[L.index("hip_center")]
        rel = kp[:, UPPER] - pivot
        c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
        kp[:, UPPER, 0] = pivot[0] + c * rel[..., 0] - s * rel[..., 1]
        kp[:, UPPER, 1] = pivot[1] + s * rel[..., 0] + c * rel[..., 1]
    elif m.kind == "hand_to_face":  # right hand from the lap to the chin (0.5 s), there 1 s, back (0.5 s)
        go = np.clip((t - m.start_s) / 0.5, 0, 1) - np.clip((t - (m.end_s - 0.5)) / 0.5, 0, 1)
        go = 0.5 - 0.5 * np.cos(np.pi * go)
        target = np.array(_T["lower_lip_bottom"]) + (5, 12) - np.array(_T["right_hand_middle_tip"])
        kp[:, RIGHT_HAND] += go[:, None, None] * target
        kp[:, L.index("right_elbow")] += go[:, None] * (target * 0.4)
    elif m.kind == "shake_leg":  # left knee and foot sideways, 0.06 torso lengths at 4 Hz
        kp[:, LEFT_LEG, 0] += (env * 0.06 * TORSO * np.sin(2 * np.pi * 4.0 * phase))[:, None]
    else:
        raise ValueError(m.kind)


def contact_start(m: Movement) -> float:
    """When the hand of a hand_to_face movement reaches the face (within 0.2 torso lengths)."""
    assert m.kind == "hand_to_face"
    t = np.arange(m.start_s, m.end_s, 1 / 240)
    kp = np.repeat(TEMPLATE[None], len(t), axis=0)
    _apply(kp, t, m)
    face = kp[:, L.indices("nose_bottom", "upper_lip_top", "lower_lip_bottom")]
    hand = kp[:, L.indices(*[n for n in L.names if n.startswith("right_hand_")])]
    d = np.linalg.norm(hand[:, :, None] - face[:, None], axis=-1).min(axis=(1, 2)) / TORSO
    return float(t[np.argmax(d <= 0.2)])


def scenario(movements: list[Movement], seconds: float, seed: int = 0, jitter_px: float = 1.0):
    """(keypoints [T, 44, 2] float32 stabilised, scores [T, 44], times [T]) of a seated person doing
    ``movements`` (hands on the lap otherwise), with pose-model jitter, through the pipeline's stabiliser."""
    from pose.stabilize import MEDIAPIPE, Stabilizer
    from pose.types import DETECTED

    t = np.arange(int(round(seconds * FPS))) / FPS
    kp = np.repeat(TEMPLATE[None], len(t), axis=0)
    for m in movements:
        _apply(kp, t, m)
    kp += np.random.default_rng(seed).normal(0, jitter_px, kp.shape)
    scores = np.full(kp.shape[:2], 0.95, np.float32)
    sources = np.full(kp.shape[:2], DETECTED, np.uint8)
    stable, scores = Stabilizer(MEDIAPIPE, FPS)(kp, scores, sources, t)
    return stable, scores, t


# the suite: every movement alone between still stretches, then pairs back to back
SUITE = [
    Movement("nod", 2.0, 3.5), Movement("sway", 6.0, 8.0), Movement("hand_to_face", 10.5, 12.5),
    Movement("shake_leg", 15.0, 17.0), Movement("shake_head", 19.5, 21.0),
    Movement("nod", 23.5, 25.0), Movement("shake_leg", 25.0, 27.0),  # back to back
    Movement("sway", 29.5, 31.5), Movement("hand_to_face", 31.5, 33.5),  # back to back
    Movement("shake_head", 36.0, 37.5), Movement("sway", 37.5, 39.5),  # back to back
]
SUITE_SECONDS = 42.0


def evaluate(movements: list[Movement] = SUITE, seconds: float = SUITE_SECONDS, seed: int = 0,
             jitter_px: float = 1.0) -> dict:
    """Run the description on a scenario and score it against the known movements: for each movement
    the episode that overlaps it most, its body part and edge errors; extra episodes; touch events (and
    all contact events and resting contacts as ``description.describe_track`` gives them)."""
    from pipeline import description, motion

    kp, sc, t = scenario(movements, seconds, seed, jitter_px)
    scale = motion.body_scale(kp)
    desc = description.describe_track(kp, sc, t, SIZE, scale)
    ok = motion.ReliableMask(kp, sc, *SIZE)
    found = []
    for a, b in description.episodes(desc, motion.STILL_THRESHOLD):
        d = description.describe(desc, kp, ok, a, b, scale)
        found.append((float(t[a]), description.motion_end(t, b), d))
    rows, used = [], set()
    for m in movements:
        overlap = [(min(e, m.end_s) - max(s, m.start_s), i) for i, (s, e, _) in enumerate(found)]
        best = max(overlap, default=(0, None))
        if best[1] is None or best[0] <= 0:
            rows.append({"movement": m, "found": None})
            continue
        s, e, d = found[best[1]]
        used.add(best[1])
        rows.append({"movement": m, "found": (s, e), "body_part": d["body_part"],
                     "part_ok": d["body_part"] == m.body_part, "start_err": s - m.start_s, "end_err": e - m.end_s})
    touches = [e for e in desc.touches if e["kind"] == "touch"]
    faces = [m for m in movements if m.kind == "hand_to_face"]
    return {"rows": rows, "episodes": len(found), "extra": len(found) - len(used), "touches": touches,
            "events": desc.touches, "resting": desc.resting,
            "face_touch_errors": [min((abs(e["start_s"] - contact_start(m)) for e in touches
                                       if e["target"] == "face/head"), default=np.inf) for m in faces]}
