"""People across frames: stable ids, and the choice of the interviewee.

* When the backend gives track ids (AlphaPose with ``--pose_track``), they are used as they are.
* Otherwise detections are matched frame to frame (Hungarian assignment) to the tracks seen in the
  last ``max_gap_s`` seconds; the cost is the mean distance of the joints both have, divided by
  the track's size (the diagonal of its last box); pairs costing more than ``max_cost`` start a new
  track. A person who leaves and comes back within ``max_gap_s`` keeps the same id.
* The subject (default person) is the track with the largest (frames seen x mean box area): the
  interviewee is normally on screen the whole time and closest to the camera.

Memory: a track keeps only its 44 joints per frame (about 0.6 KB a frame), never images.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .types import Detection, PersonTrack


class Tracker:
    def __init__(self, fps: float, max_gap_s: float = 1.0, max_cost: float = 0.5):
        self.max_gap = max(1, int(round(max_gap_s * (fps or 30.0))))
        self.max_cost = max_cost
        self._tracks: dict[int, dict] = {}
        self._next = 0
        self._external = None  # True once the backend's own ids are in use

    @property
    def uses_backend_ids(self) -> bool:
        return bool(self._external)

    def update(self, frame: int, detections: list[Detection]) -> None:
        if not detections:
            return
        external = all(d.track_id is not None for d in detections)
        if self._external is None:
            self._external = external
        if self._external and external:
            for d in detections:
                self._append(int(d.track_id), frame, d)
            return
        self._match(frame, detections)

    def track_ids(self) -> list[int]:
        return list(self._tracks)

    def window(self, tid: int, a: int, b: int) -> tuple[np.ndarray, float]:
        """Track ``tid``'s keypoints over frames [a, b) (NaN where unseen) and the fraction seen."""
        tr = self._tracks[tid]
        frames = tr.frames[:tr.n]
        lo, hi = np.searchsorted(frames, a), np.searchsorted(frames, b)
        kp = np.full((max(b - a, 0), tr.kp.shape[1], 2), np.nan, np.float32)
        kp[frames[lo:hi] - a] = tr.kp[lo:hi]
        seen = np.isfinite(tr.kp[lo:hi]).all(-1).any(-1).sum()
        return kp, float(seen) / max(b - a, 1)

    def _append(self, tid: int, frame: int, d: Detection) -> None:
        tr = self._tracks.get(tid)
        if tr is None:
            tr = self._tracks[tid] = _TrackStore(d.keypoints.shape[0])
        tr.add(frame, d)

    def _match(self, frame: int, dets: list[Detection]) -> None:
        active = [tid for tid, tr in self._tracks.items() if frame - tr.seen <= self.max_gap]
        cost = np.full((len(dets), len(active)), np.inf)
        for i, d in enumerate(dets):
            for j, tid in enumerate(active):
                cost[i, j] = _pose_distance(d, self._tracks[tid].last)
        assigned = set()
        if active:
            finite = np.where(np.isfinite(cost), cost, 1e6)
            for i, j in zip(*linear_sum_assignment(finite)):
                if cost[i, j] <= self.max_cost:
                    self._append(active[j], frame, dets[i])
                    assigned.add(i)
        for i, d in enumerate(dets):
            if i not in assigned:
                self._append(self._next_id(), frame, d)

    def _next_id(self) -> int:
        while self._next in self._tracks:
            self._next += 1
        return self._next

    def tracks(self, num_frames: int) -> list[PersonTrack]:
        out = []
        for tid in sorted(self._tracks):
            tr = self._tracks[tid]
            v = tr.kp.shape[1]
            kp = np.full((num_frames, v, 2), np.nan, np.float32)
            sc = np.zeros((num_frames, v), np.float32)
            src = np.zeros((num_frames, v), np.uint8)
            idx = tr.frames[:tr.n]
            keep = idx < num_frames
            kp[idx[keep]] = tr.kp[:tr.n][keep]
            sc[idx[keep]] = tr.sc[:tr.n][keep]
            src[idx[keep]] = tr.src[:tr.n][keep]
            out.append(PersonTrack(tid, kp, sc, src))
        return out


class _TrackStore:
    """One track's frames in growable arrays (about 0.6 KB a frame; no per-frame objects)."""

    def __init__(self, joints: int, capacity: int = 256):
        self.n, self.seen, self.last = 0, -1, None
        self.frames = np.zeros(capacity, np.int64)
        self.kp = np.zeros((capacity, joints, 2), np.float32)
        self.sc = np.zeros((capacity, joints), np.float32)
        self.src = np.zeros((capacity, joints), np.uint8)

    def add(self, frame: int, d: Detection) -> None:
        if self.n and self.frames[self.n - 1] == frame:  # a second record for the same id and frame
            if float(d.scores.mean()) <= float(self.sc[self.n - 1].mean()):
                return
            self.n -= 1
        if self.n == len(self.frames):
            for name in ("frames", "kp", "sc", "src"):
                arr = getattr(self, name)
                grown = np.zeros((2 * len(arr),) + arr.shape[1:], arr.dtype)
                grown[:len(arr)] = arr
                setattr(self, name, grown)
        i = self.n
        self.frames[i], self.kp[i], self.sc[i], self.src[i] = frame, d.keypoints, d.scores, d.sources
        self.n += 1
        self.last, self.seen = d, frame


def _pose_distance(a: Detection, b: Detection) -> float:
    both = np.isfinite(a.keypoints).all(-1) & np.isfinite(b.keypoints).all(-1)
    if not both.any():
        return np.inf
    box = b.bbox()
    size = max(float(np.hypot(box[2], box[3])), 1.0)
    return float(np.linalg.norm(a.keypoints[both] - b.keypoints[both], axis=-1).mean() / size)


def subject_score(track: PersonTrack) -> float:
    return track.num_frames_seen * track.mean_area()


def select_people(tracks: list[PersonTrack], person: str | int = "subject") -> list[PersonTrack]:
    """``"subject"``: the one track most likely to be the interviewee; ``"all"``; or a track id."""
    seen = [t for t in tracks if t.num_frames_seen > 0]
    if not seen:
        return []
    if person == "all":
        return seen
    if person == "subject":
        return [max(seen, key=subject_score)]
    wanted = int(person)
    chosen = [t for t in seen if t.id == wanted]
    if not chosen:
        raise ValueError(f"no person with id {wanted} (ids in this video: {[t.id for t in seen]})")
    return chosen
