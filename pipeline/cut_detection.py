"""Camera cuts (shot boundaries), found while the video is decoded for pose estimation.

PySceneDetect's ``AdaptiveDetector`` (the field's library; installed without an OpenCV of its own: it
uses the one mediapipe brings) compares each frame with its neighbours in colour and brightness,
relative to the recent average, so a cut between two similar shots (same room, same framing) is found
while camera motion and a person moving are not taken for cuts. Frames are shrunk to fit a
``WIDTH``-pixel square first. A shot lasts at least ``MIN_SHOT_S``.

The pose stream is the second witness. The detector also needs a frame's change to reach an absolute
floor (PySceneDetect's ``min_content_val``), so a cut between two shots that look alike (a jump cut of
an edited interview, black-and-white footage, another person on the same chair) can pass unseen; the
pose model then sees a person's whole skeleton jump between two frames, which no body can do
(``pose.jumps``). Where it did (``finish(pose_jumps)``), the frame with the largest change of the
picture relative to its neighbours is a cut when that ratio reaches ``ADAPTIVE_THRESHOLD``, the
detector's own relative test, without its floor. Either witness alone is not enough: on the real
development clips the picture's ratio reaches 7 on a talking head without any cut, and a
skeleton jumps without a cut where the pose model swaps two people (a hug, arm wrestling), but never
both at once (ratio at most 2.3 where a skeleton jumped; 137-255 at jump cuts between MA-52 clips:
``benchmarks/bench_real_clips.py``).

The detector confirms a cut ``LAG`` frames after it happened; ``cut_at`` reports it then, with the
frame where the new shot begins. Shots are what everything after pose estimation respects: tracking
starts again at a cut (people are re-identified by place and size), keypoints are stabilised and
motion measured within a shot, and no window or segment spans a cut.
"""
from __future__ import annotations

from array import array

import cv2
import numpy as np

from common.shots import shot_ranges
from pose import jumps

WIDTH = 256
MIN_SHOT_S = 0.5
ADAPTIVE_THRESHOLD = 3.0
LAG = 2  # frames (the detector's window on each side)


class CutDetector:
    def __init__(self, fps: float):
        from scenedetect.detectors import AdaptiveDetector

        fps = fps if fps and fps > 0 else 30.0
        self.min_shot = max(1, int(round(MIN_SHOT_S * fps)))
        self._det = AdaptiveDetector(adaptive_threshold=ADAPTIVE_THRESHOLD, window_width=LAG,
                                     min_scene_len=self.min_shot)
        self.cuts: list[int] = []
        self._last = -1
        self._first: int | None = None
        self._scores = array("f")  # every frame's change from the one before (the detector's content score)

    @staticmethod
    def settings() -> dict:
        return {"detector": "scenedetect.AdaptiveDetector", "adaptive_threshold": ADAPTIVE_THRESHOLD,
                "window_width": LAG, "min_shot_s": MIN_SHOT_S, "width": WIDTH,
                "pose_jumps": {"min_tl": jumps.JUMP_TL, "min_accel_tl_s2": jumps.JUMP_ACCEL}}

    def cut_at(self, index: int, image: np.ndarray) -> int | None:
        """Feed frame ``index`` (RGB, any size); the first frame of a new shot when a cut is confirmed."""
        h, w = image.shape[:2]
        s = WIDTH / max(w, h)  # within a WIDTH square: both sides bounded, whatever the picture's shape
        small = image if max(w, h) == WIDTH else cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))),
                                                            interpolation=cv2.INTER_AREA)
        self._last = index
        if self._first is None:
            self._first = index
        bgr = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2BGR)  # as the detector expects; ~50x faster than a reversed copy
        found = [int(c) for c in self._det.process_frame(index, bgr)]
        # the score the detector just computed: an attribute of scenedetect 0.6.7 (pinned in requirements.txt;
        # its public route, a StatsManager, makes the detector find edges too, ten times the time)
        self._keep_score(index, self._det._frame_score)
        return self._add(found)

    def finish(self, pose_jumps=()) -> list[int]:
        """All cuts (first frames of every shot after the first), once the last frame was fed.
        ``pose_jumps``: spans (a, b) of frames between which a person's skeleton jumped (``pose.jumps``,
        frames numbered as fed): a cut in (a, b] where the picture's change confirms it (see above)."""
        if self._last >= 0:
            self._add([int(c) for c in (self._det.post_process(self._last) or [])])
        for a, b in sorted(pose_jumps):
            cut = self._confirmed(a, b)
            if cut is not None and all(abs(cut - c) >= self.min_shot for c in self.cuts):
                self.cuts.append(cut)
        return sorted(self.cuts)

    def ratio(self, frame: int) -> float:
        """How much frame ``frame``'s picture changed relative to the changes of the ``LAG`` frames on each
        side: the detector's adaptive ratio, computed as it does (at most 255; with no change around, 255
        where the change reaches the detector's floor, else 0); NaN where not all of them were fed."""
        k = frame - (self._first if self._first is not None else 0)
        if k - LAG < 0 or k + LAG >= len(self._scores):
            return np.nan
        around = np.r_[self._scores[k - LAG:k], self._scores[k + 1:k + 1 + LAG]]
        score, mean = float(self._scores[k]), float(np.mean(around))
        if abs(mean) < 1e-5:
            return 255.0 if score >= self._det.min_content_val else 0.0
        return min(score / mean, 255.0)

    def _keep_score(self, frame: int, score) -> None:
        while len(self._scores) < frame - self._first:
            self._scores.append(np.nan)
        if len(self._scores) == frame - self._first:
            self._scores.append(np.nan if score is None else float(score))

    def _confirmed(self, a: int, b: int) -> int | None:
        """The frame of (a, b] whose picture changed most relative to its neighbours, if that change
        reaches ``ADAPTIVE_THRESHOLD`` (None otherwise, or where it is not known)."""
        ratios = np.array([self.ratio(f) for f in range(a + 1, b + 1)])
        if not np.isfinite(ratios).any() or np.nanmax(ratios) < ADAPTIVE_THRESHOLD:
            return None
        return a + 1 + int(np.nanargmax(ratios))

    def _add(self, found: list[int]) -> int | None:
        new = [c for c in found if c > 0 and c not in self.cuts]
        self.cuts += new
        return new[-1] if new else None


def detect_cuts(path, info) -> list[int]:
    """Cuts of a video decoded for this alone (small frames), when pose estimation does not decode it
    (AlphaPose results)."""
    from .video_decode import iter_frames

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
