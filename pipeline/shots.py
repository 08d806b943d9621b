"""Camera cuts (shot boundaries), found while the video is decoded for pose estimation.

PySceneDetect's ``AdaptiveDetector`` (the field's library; installed without an OpenCV of its own: it
uses the one mediapipe brings) compares each frame with its neighbours in colour and brightness,
relative to the recent average, so a cut between two similar shots (same room, same framing) is found
while camera motion and a person moving are not taken for cuts. Frames are shrunk to fit a
``WIDTH``-pixel square first. A shot lasts at least ``MIN_SHOT_S``.

The detector confirms a cut ``LAG`` frames after it happened; ``cut_at`` reports it then, with the
frame where the new shot begins. Shots are what everything after pose estimation respects: tracking
starts again at a cut (people are re-identified by place and size), keypoints are stabilised and
motion measured within a shot, and no window or segment spans a cut.
"""
from __future__ import annotations

import cv2
import numpy as np

from common.shots import shot_ranges

WIDTH = 256
MIN_SHOT_S = 0.5
ADAPTIVE_THRESHOLD = 3.0
LAG = 2  # frames (the detector's window on each side)


class CutDetector:
    def __init__(self, fps: float):
        from scenedetect.detectors import AdaptiveDetector

        fps = fps if fps and fps > 0 else 30.0
        self._det = AdaptiveDetector(adaptive_threshold=ADAPTIVE_THRESHOLD, window_width=LAG,
                                     min_scene_len=max(1, int(round(MIN_SHOT_S * fps))))
        self.cuts: list[int] = []
        self._last = -1

    @staticmethod
    def settings() -> dict:
        return {"detector": "scenedetect.AdaptiveDetector", "adaptive_threshold": ADAPTIVE_THRESHOLD,
                "window_width": LAG, "min_shot_s": MIN_SHOT_S, "width": WIDTH}

    def cut_at(self, index: int, image: np.ndarray) -> int | None:
        """Feed frame ``index`` (RGB, any size); the first frame of a new shot when a cut is confirmed."""
        h, w = image.shape[:2]
        s = WIDTH / max(w, h)  # within a WIDTH square: both sides bounded, whatever the picture's shape
        small = image if max(w, h) == WIDTH else cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))),
                                                            interpolation=cv2.INTER_AREA)
        self._last = index
        bgr = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2BGR)  # as the detector expects; ~50x faster than a reversed copy
        found = [int(c) for c in self._det.process_frame(index, bgr)]
        return self._add(found)

    def finish(self) -> list[int]:
        """All cuts (first frames of every shot after the first), once the last frame was fed."""
        if self._last >= 0:
            self._add([int(c) for c in (self._det.post_process(self._last) or [])])
        return list(self.cuts)

    def _add(self, found: list[int]) -> int | None:
        new = [c for c in found if c > 0 and c not in self.cuts]
        self.cuts += new
        return new[-1] if new else None


def detect_cuts(path, info) -> list[int]:
    """Cuts of a video decoded for this alone (small frames), when pose estimation does not decode it
    (AlphaPose results)."""
    from .video import iter_frames

    det = CutDetector(info.fps)
    for frame in iter_frames(path, info, max_side=64, small_width=WIDTH):  # as pose estimation sees them
        det.cut_at(frame.index, frame.small)
    return det.finish()


def shot_records(cuts: list[int], times: np.ndarray, end_s: float) -> list[dict]:
    """The JSON's ``shots``: start and end seconds and first frame of every shot."""
    out = []
    for a, b in shot_ranges(cuts, len(times)):
        end = float(times[b]) if b < len(times) else end_s
        out.append({"start_s": round(float(times[a]), 3), "end_s": round(end, 3), "first_frame": a})
    return out
