"""People across frames: stable ids, and the choice of the interviewee.

* When the backend gives track ids (AlphaPose with ``--pose_track``), they are used as they are.
* Otherwise detections are matched frame to frame (Hungarian assignment) to the tracks seen in the
  last ``max_gap_s`` seconds; the cost is the mean distance of the joints both have, divided by
  the track's size (the diagonal of its last box); pairs costing more than ``max_cost`` start a new
  track. A person who leaves and comes back within ``max_gap_s`` keeps the same id.
* The subject (default person) is the track with the largest (frames seen x mean box area): the
  interviewee is normally on screen the whole time and closest to the camera.

Memory: a track keeps only its 44 joints, confidences and joint sources per frame (0.57 KB a
frame), never images, and keeps them on disk (``common.diskarray``), so tracking a long video needs
no more memory than a short one. The arrays are indexed by frame number, and the final tracks are
views of them (no copy).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
from scipy.optimize import linear_sum_assignment

from common.diskarray import DiskArray
from common.errors import OptionError
from definitions.layout import ma52_layout

from .types import Detection, PersonTrack, keypoint_box


class Tracker:
    def __init__(self, fps: float, max_gap_s: float = 1.0, max_cost: float = 0.5, scratch_dir=None):
        self.max_gap = max(1, int(round(max_gap_s * (fps or 30.0))))
        self.max_cost = max_cost
        self.scratch_dir = scratch_dir
        self._tracks: dict[int, _TrackStore] = {}
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

    def cut(self) -> None:
        """A camera cut: no detection after it is matched to a track from before it (a backend's own
        ids, which re-identify people across cuts, are kept)."""
        for tr in self._tracks.values():
            tr.seen = -(10 ** 9)

    def track_ids(self) -> list[int]:
        return list(self._tracks)

    def window(self, tid: int, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Track ``tid``'s raw keypoints, scores and sources over frames [a, b) (NaN / 0 where unseen)."""
        tr = self._tracks[tid]
        n = max(b - a, 0)
        kp = np.full((n, tr.joints, 2), np.nan, np.float32)
        sc = np.zeros((n, tr.joints), np.float32)
        src = np.zeros((n, tr.joints), np.uint8)
        for out, store in ((kp, tr.kp), (sc, tr.sc), (src, tr.src)):
            have = store.array[a:min(b, store.capacity)]
            out[:len(have)] = have
        return kp, sc, src

    def _append(self, tid: int, frame: int, d: Detection) -> None:
        tr = self._tracks.get(tid)
        if tr is None:
            tr = self._tracks[tid] = _TrackStore(d.keypoints.shape[0], self.scratch_dir)
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
        """Every track over frames [0, num_frames) (NaN / 0 where unseen): views of the stores. Called
        once, at the end: the stores' files are closed (their mappings stay) and can no longer grow."""
        out = []
        for tid in sorted(self._tracks):
            tr = self._tracks[tid]
            for store in (tr.kp, tr.sc, tr.src):
                store.ensure(num_frames)
                store.close()
            out.append(PersonTrack(tid, tr.kp.array[:num_frames], tr.sc.array[:num_frames],
                                   tr.src.array[:num_frames]))
        return out


class _TrackStore:
    """One track's joints, confidences and sources indexed by frame number, on disk."""

    def __init__(self, joints: int, scratch_dir=None):
        self.joints, self.seen, self.last = joints, -1, None
        self.kp = DiskArray((joints, 2), np.float32, fill=np.nan, scratch_dir=scratch_dir)
        self.sc = DiskArray((joints,), np.float32, scratch_dir=scratch_dir)
        self.src = DiskArray((joints,), np.uint8, scratch_dir=scratch_dir)

    def add(self, frame: int, d: Detection) -> None:
        if frame == self.seen and float(d.scores.mean()) <= float(self.sc.array[frame].mean()):
            return  # a second record for the same id and frame: the more confident one stays
        for store, value in ((self.kp, d.keypoints), (self.sc, d.scores), (self.src, d.sources)):
            store.ensure(frame + 1)[frame] = value
        self.last, self.seen = d, frame


def _pose_distance(a: Detection, b: Detection) -> float:
    return pose_distance(a.keypoints, b.keypoints, b.bbox())


def pose_distance(a: np.ndarray, b: np.ndarray, box_b: np.ndarray | None = None) -> float:
    """Mean distance of the joints two poses [J, 2] both have, over the size (box diagonal) of ``b``."""
    both = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
    if not both.any():
        return np.inf
    if box_b is None:
        x0, y0, x1, y1 = keypoint_box(b, min_joints=1)
        box_b = np.array([x0, y0, x1 - x0, y1 - y0])
    size = max(float(np.hypot(box_b[2], box_b[3])), 1.0)
    return float(np.linalg.norm(a[both] - b[both], axis=-1).mean() / size)


REID_S = 10.0  # a person lost this long ago may be taken up again where they were (``same_place``)


def same_place(box: np.ndarray | None, old: np.ndarray | None) -> bool:
    """Two boxes [x0, y0, x1, y1] of one person, as far as place and size tell: centres closer than half
    the larger size, sizes within a factor of 2."""
    if box is None or old is None:
        return False
    size = max(box[2] - box[0], box[3] - box[1])
    old_size = max(old[2] - old[0], old[3] - old[1])
    d = float(np.linalg.norm((old[:2] + old[2:]) / 2 - (box[:2] + box[2:]) / 2))
    return d < 0.5 * max(size, old_size) and 0.5 <= size / max(old_size, 1e-6) <= 2


def reidentify(box: np.ndarray | None, lost: Iterable[tuple[int, np.ndarray | None, float]],
               choose: str = "nearest") -> int | None:
    """The id of a person lost lately who may be the one found now at ``box``: of ``lost``, (id, their last
    box, seconds since then), those lost at most ``REID_S`` ago whose last box is in the same place
    (``same_place``); of several, the one whose box's centre is nearest (``choose="nearest"``: the pose
    backend, which re-finds people frame by frame) or the one lost last, then the lower id
    (``choose="latest"``: ``pose.estimate`` joining the runs of a video). None when there is none."""
    cands = [(pid, old, since) for pid, old, since in lost if since <= REID_S and same_place(box, old)]
    if not cands:
        return None
    if choose == "latest":
        return min((since, pid) for pid, _, since in cands)[1]
    centre = (box[:2] + box[2:]) / 2
    return min(cands, key=lambda c: float(np.linalg.norm((c[1][:2] + c[1][2:]) / 2 - centre)))[0]


MAX_TILT_DEG = 60.0  # a person's trunk leans at most this far from upright (README "Who is a person")


def trunk_tilt(shoulders: np.ndarray, hips: np.ndarray) -> float:
    """Degrees between a trunk (the hips' midpoint to the shoulders' midpoint; ``shoulders``, ``hips``:
    [2, 2] pixels, left and right) and the picture's up: 0 upright, 90 lying, 180 upside down."""
    up = shoulders.mean(0) - hips.mean(0)
    length = float(np.hypot(*up))
    if not np.isfinite(length) or length == 0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(-up[1] / length, -1.0, 1.0))))


def upright(shoulders: np.ndarray, hips: np.ndarray) -> bool:
    """Whether a skeleton's trunk is as a seated or standing person's: within ``MAX_TILT_DEG`` of upright.
    Gravity keeps the trunk of someone seated or standing near vertical (leaning over a table, about
    45 degrees at most); a trunk lying across the picture or upside down is not an interviewee's but a
    pattern the pose model read into texture (a title, hair, a chair's back: README "Who is a person")."""
    return bool(trunk_tilt(shoulders, hips) <= MAX_TILT_DEG)


TRUNK_MIN_SCORE = 0.5  # the trunk's four joints must be seen this surely for a detection to be judged lying


def detection_upright(det: Detection) -> bool:
    """Whether a detection may be a person by the trunk rule (``upright``). It is judged only when both
    shoulders and both hips are seen with a confidence of at least ``TRUNK_MIN_SCORE``: in a chest-up
    framing the hips are the model's guesses below the picture, which decide nothing, so such a detection
    is kept (MediaPipe's landmarks are judged as they are found: ``pose.mediapipe_backend``)."""
    trunk = ma52_layout().indices("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    kp, sc = np.asarray(det.keypoints, np.float64)[trunk], np.asarray(det.scores, np.float64)[trunk]
    if not (np.isfinite(kp).all() and (sc >= TRUNK_MIN_SCORE).all()):
        return True
    return upright(kp[:2], kp[2:])


def subject_score(track: PersonTrack) -> float:
    return track.num_frames_seen * track.mean_area()


class PersonNotFound(OptionError):
    """``--person ID`` names nobody seen in the video (a user's choice, said in one line)."""


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
        raise PersonNotFound(f"no person with id {wanted} in this video (ids seen: "
                             f"{', '.join(str(t.id) for t in seen)}; --person all analyses everyone)")
    return chosen
