"""MediaPipe Holistic (mediapipe 0.10.21 legacy solutions) -> the 44-joint MA-52 skeleton.

Runs offline: the pose, hand and face models ship inside the mediapipe wheel. One person per frame
(Holistic tracks a single person). Mapping, with per-joint sources (``pose.types``):

* Halpe 0-16 <- BlazePose 0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28;
  big toes <- 31, 32; heels <- 29, 30 (score = BlazePose visibility);
* derived (score halved): neck = mid-shoulders, hip centre = mid-hips, head top = eye centre
  extended away from the mouth by ``HEAD_TOP_FACTOR`` eye-mouth distances, small toes = 3/4 of the
  way from the heel to the foot index;
* face (dlib 28, 33, 36, 45, 51, 57) <- FaceMesh 197, 2, 33, 263, 0, 17; when the face mesh is not
  found (masked faces): fallbacks from the pose (eye centre, nose, eye outer corners, mouth centre);
* hands (person's left -> Halpe 94-114): wrist and five fingertips from the hand models; when a hand
  model misses, fallbacks from BlazePose's wrist, thumb, index and pinky (middle and ring tips are
  interpolated between index and pinky).

A frame with no person gives no detection (NaN coordinates, zero confidence downstream).
"""
from __future__ import annotations

import numpy as np

from .layout import ma52_layout
from .types import DERIVED, DETECTED, FALLBACK, Detection

HEAD_TOP_FACTOR = 1.8
FALLBACK_SCORE = 0.5  # multiplier on the pose visibility for fallback joints
BODY = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]  # -> layout joints 0..16
FACE = {"nose_bridge": 197, "nose_bottom": 2, "right_eye_outer_corner": 33,
        "left_eye_outer_corner": 263, "upper_lip_top": 0, "lower_lip_bottom": 17}
TIPS = ("wrist", "thumb_tip", "index_tip", "middle_tip", "ring_tip", "pinky_tip")
HAND21 = (0, 4, 8, 12, 16, 20)


class MediaPipeBackend:
    """Holistic in video mode, model complexity 1 (the only pose model in the wheel)."""

    name = "mediapipe"

    def __init__(self, min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 max_side: int | None = 960):
        self.settings = {
            "solution": "holistic", "mediapipe": _version(), "model_complexity": 1,
            "refine_face_landmarks": True, "smooth_landmarks": True, "static_image_mode": False,
            "min_detection_confidence": min_detection_confidence,
            "min_tracking_confidence": min_tracking_confidence, "max_side": max_side,
            "head_top_factor": HEAD_TOP_FACTOR,
        }
        self.max_side = max_side
        self._holistic = None
        self.layout = ma52_layout()
        self._idx = {n: i for i, n in enumerate(self.layout.names)}

    def _model(self):
        if self._holistic is None:
            import mediapipe as mp

            self._holistic = mp.solutions.holistic.Holistic(
                static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                refine_face_landmarks=True,
                min_detection_confidence=self.settings["min_detection_confidence"],
                min_tracking_confidence=self.settings["min_tracking_confidence"],
            )
        return self._holistic

    def reset(self) -> None:
        """Forget the tracking state (call between videos)."""
        self.close()

    def close(self) -> None:
        if self._holistic is not None:
            self._holistic.close()
            self._holistic = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def process(self, image: np.ndarray, width: int, height: int) -> list[Detection]:
        """RGB frame (any size) -> detections in pixels of a ``width`` x ``height`` frame."""
        res = self._model().process(np.ascontiguousarray(image))
        if res.pose_landmarks is None:
            return []
        return [self.convert(res, width, height)]

    def convert(self, res, width: int, height: int) -> Detection:
        scale = np.array([width, height], np.float64)
        n = self.layout.num_joints
        kp = np.full((n, 2), np.nan)
        sc = np.zeros(n)
        src = np.zeros(n, np.uint8)
        pose = _points(res.pose_landmarks, scale)
        vis = np.array([lm.visibility for lm in res.pose_landmarks.landmark])
        ix = self._idx

        def put(name, xy, score, source):
            j = ix[name]
            kp[j], sc[j], src[j] = xy, score, source

        for j, b in enumerate(BODY):
            kp[j], sc[j], src[j] = pose[b], vis[b], DETECTED
        for side, toe, heel in (("left", 31, 29), ("right", 32, 30)):
            put(f"{side}_big_toe", pose[toe], vis[toe], DETECTED)
            put(f"{side}_heel", pose[heel], vis[heel], DETECTED)
            put(f"{side}_small_toe", 0.25 * pose[heel] + 0.75 * pose[toe], 0.5 * min(vis[heel], vis[toe]), DERIVED)
        put("neck", (pose[11] + pose[12]) / 2, 0.5 * min(vis[11], vis[12]), DERIVED)
        put("hip_center", (pose[23] + pose[24]) / 2, 0.5 * min(vis[23], vis[24]), DERIVED)
        eyes = (pose[2] + pose[5]) / 2
        mouth = (pose[9] + pose[10]) / 2
        put("head_top", eyes + HEAD_TOP_FACTOR * (eyes - mouth), 0.5 * min(vis[2], vis[5], vis[9], vis[10]), DERIVED)

        if res.face_landmarks is not None:
            face = _points(res.face_landmarks, scale)
            for name, fi in FACE.items():
                put(name, face[fi], 1.0, DETECTED)
        else:
            f = FALLBACK_SCORE
            put("nose_bridge", eyes, f * min(vis[2], vis[5]), FALLBACK)
            put("nose_bottom", pose[0], f * vis[0], FALLBACK)
            put("right_eye_outer_corner", pose[6], f * vis[6], FALLBACK)
            put("left_eye_outer_corner", pose[3], f * vis[3], FALLBACK)
            put("upper_lip_top", mouth, f * min(vis[9], vis[10]), FALLBACK)
            put("lower_lip_bottom", mouth, f * min(vis[9], vis[10]) * 0.5, FALLBACK)

        for side, hand_lms, (w, thumb, index, pinky) in (
            ("left", res.left_hand_landmarks, (15, 21, 19, 17)),
            ("right", res.right_hand_landmarks, (16, 22, 20, 18)),
        ):
            if hand_lms is not None:
                hand = _points(hand_lms, scale)
                for tip, hi in zip(TIPS, HAND21):
                    put(f"{side}_hand_{tip}", hand[hi], 1.0, DETECTED)
            else:
                s = FALLBACK_SCORE * min(vis[w], vis[index], vis[pinky])
                guess = {"wrist": pose[w], "thumb_tip": pose[thumb], "index_tip": pose[index],
                         "middle_tip": (2 * pose[index] + pose[pinky]) / 3,
                         "ring_tip": (pose[index] + 2 * pose[pinky]) / 3, "pinky_tip": pose[pinky]}
                for tip in TIPS:
                    put(f"{side}_hand_{tip}", guess[tip], s, FALLBACK)
        return Detection(kp.astype(np.float32), np.clip(sc, 0, 1).astype(np.float32), src)


def _points(landmarks, scale: np.ndarray) -> np.ndarray:
    return np.array([(lm.x, lm.y) for lm in landmarks.landmark], np.float64) * scale


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("mediapipe")
    except Exception:
        return "unknown"
