"""Run a pose backend over runs of frames and assemble the runs into tracks, or turn AlphaPose results
(read and checked against the video by ``pose.alphapose.results_for_video``) into tracks.

Frames come from the pipeline's decoder (anything with ``index``, ``time`` and ``image``); this
module never opens videos itself.
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
from scipy.optimize import linear_sum_assignment

from .alphapose import AlphaPoseError, results_for_video
from .jumps import skeleton_jumps
from .mediapipe_backend import MAX_PERSONS, MAX_SIDE
from .result import PoseResult, repair_times
from .stabilize import Stabilizer, ensure_stabilized, stabilizer_for
from .tracking import Tracker, detection_upright, pose_distance, reidentify
from .types import Detection, PersonTrack, PoseBackend, keypoint_box

BACKENDS = ("mediapipe", "alphapose-json", "alphapose")


def make_backend(name: str, *, alphapose_config=None, alphapose_checkpoint=None, device: str = "auto",
                 max_side: int | None = MAX_SIDE, max_persons: int = MAX_PERSONS):
    """A live pose backend by name (the JSON route needs no backend object)."""
    if name == "mediapipe":
        from .mediapipe_backend import MediaPipeBackend

        return MediaPipeBackend(max_side=max_side, max_persons=max_persons)
    if name == "alphapose":
        if not alphapose_config or not alphapose_checkpoint:
            raise AlphaPoseError("--pose alphapose needs --alphapose-config and --alphapose-checkpoint "
                                 "(or use --pose alphapose-json with AlphaPose's results file)")
        from .alphapose import AlphaPoseLiveBackend

        return AlphaPoseLiveBackend(alphapose_config, alphapose_checkpoint, device=device)
    raise ValueError(f"unknown pose backend {name!r}; choose from {', '.join(BACKENDS)}")


@dataclass
class Detections:
    """What a pose backend found in a run of frames (one chunk of a video), before tracking.

    Frame numbers are local: frame 0 is the first frame the run owns, negative ones are warm-up frames
    before it (the pose model ran on them so that its tracking has settled where the run begins; they
    belong to the previous run and serve to match its people to this run's). ``times`` holds every
    frame's time, warm-up ones first: frame ``f``'s time is ``times[f + warmup]``.
    """

    times: np.ndarray  # [warmup + owned] float64 seconds, every decoded frame (also those pose skipped)
    warmup: int  # frames before the run's own ones
    pose_frames: np.ndarray  # [m] int64 local numbers of the frames the pose model saw
    frame: np.ndarray  # [D] int64 local frame number of each detection
    person: np.ndarray  # [D] int64 the backend's id of the person (-1: the backend gives none)
    keypoints: np.ndarray  # [D, 44, 2] float32
    scores: np.ndarray  # [D, 44] float32
    sources: np.ndarray  # [D, 44] uint8
    cuts: list[int] = field(default_factory=list)  # local first frames of new shots (owned frames only)
    # (local frame, w, h) where the decoded picture's size changes (owned frames only; each is also a cut)
    size_changes: list[tuple[int, int, int]] = field(default_factory=list)

    ARRAYS = ("times", "pose_frames", "frame", "person", "keypoints", "scores", "sources")

    @property
    def owned(self) -> int:
        return len(self.times) - self.warmup

    def to_arrays(self) -> dict[str, np.ndarray]:
        d = {k: getattr(self, k) for k in self.ARRAYS}
        d.update(warmup=np.array(self.warmup), cuts=np.asarray(self.cuts, np.int64),
                 size_changes=np.asarray(self.size_changes, np.int64).reshape(-1, 3))
        return d

    @classmethod
    def from_arrays(cls, d) -> "Detections":
        changes = np.asarray(d["size_changes"]).reshape(-1, 3) if "size_changes" in d else np.zeros((0, 3), int)
        return cls(**{k: np.asarray(d[k]) for k in cls.ARRAYS}, warmup=int(d["warmup"]),
                   cuts=[int(c) for c in d["cuts"]], size_changes=[tuple(int(v) for v in r) for r in changes])


def detect(frames: Iterable, backend: PoseBackend, width: int, height: int, fps: float, *, start_s: float = 0.0,
           end_s: float = math.inf, from_s: float = -math.inf, cuts=None, tail: int = 3,
           on_frame: Callable[[float], None] | None = None) -> Detections:
    """Run ``backend`` on ``frames`` (``pipeline.video_decode.iter_frames``: every decoded frame, ``image`` None
    where the pose model is not to look) and keep what it finds, for the run of frames from ``start_s``
    up to ``end_s``; frames before ``start_s`` (but not before ``from_s``) are warm-up. ``cuts``
    (``pipeline.cut_detection.CutDetector`` or alike: ``cut_at(index, image)``, ``finish(pose_jumps)``) sees every
    frame (``small`` when there is one) and finds camera cuts: the backend starts its tracking again at
    each; it also sees ``tail`` frames past ``end_s`` so that a cut just before the end is confirmed. At
    the end it is also given where a person's skeleton jumped (``pose.jumps``): cuts the picture alone
    did not make sure of (the backend was not started again at those)."""
    start = getattr(backend, "start", None)
    start(fps) if start else backend.reset()
    times, seen, pose_pos, rows = array("d"), array("q"), array("q"), []
    size, resized = None, []  # the picture's size; (frame, w, h) where it changes (a new shot)
    past = 0  # frames fed past ``end_s``
    for frame in frames:
        if frame.time < from_s:
            continue
        picture = frame.small if getattr(frame, "small", None) is not None else frame.image
        if frame.time >= end_s:
            if cuts is None or past >= tail:
                break
            cuts.cut_at(len(times) + past, picture)
            past += 1
            continue
        new_size = getattr(frame, "size", None)
        changed = new_size is not None and size is not None and new_size != size
        if new_size is not None:
            size = new_size
        if changed:
            resized.append((len(times), *new_size))
        if (cuts is not None and cuts.cut_at(len(times), picture) is not None) or changed:
            cut = getattr(backend, "cut", None)
            cut() if cut else backend.reset()
        if frame.image is not None:
            pose_pos.append(len(times))
            for d in backend.process(frame.image, width, height, frame.time):
                seen.append(len(times))
                rows.append(d)
        times.append(frame.time)
        if on_frame:
            on_frame(frame.time)
    backend.reset()
    times = np.asarray(times, np.float64)
    first = int(np.argmax(times >= start_s)) if (times >= start_s).any() else len(times)
    pose_pos = np.asarray(pose_pos, np.int64)
    seen = np.asarray(seen, np.int64)
    joints = rows[0].keypoints.shape[0] if rows else 44
    person = np.array([-1 if d.track_id is None else int(d.track_id) for d in rows], np.int64)
    keypoints = np.array([d.keypoints for d in rows], np.float32).reshape(-1, joints, 2)
    scores = np.array([d.scores for d in rows], np.float32).reshape(-1, joints)
    # the picture's cuts, and those the pose stream shows (a skeleton's jump) that the picture confirms
    found = cuts.finish(skeleton_jumps(times, seen, person, keypoints, scores)) if cuts is not None else []
    return Detections(
        times=times, warmup=first, pose_frames=pose_pos - first, frame=seen - first, person=person,
        keypoints=keypoints, scores=scores, sources=np.array([d.sources for d in rows], np.uint8).reshape(-1, joints),
        cuts=sorted({int(c) - first for c in [*found, *(r[0] for r in resized)] if first <= int(c) < len(times)}),
        size_changes=[(f - first, w, h) for f, w, h in resized if first <= f < len(times)])


STITCH_COST = 0.25  # mean joint distance / person size at which two runs' people are the same one


def assemble(parts: Iterable[Detections], width: int, height: int, fps: float, backend: str, settings: dict,
             max_gap_s: float = 1.0, scratch_dir=None, stabilizer: Stabilizer | None = None) -> PoseResult:
    """Consecutive runs of a video's frames (``detect``) -> one tracked, stabilised result.

    People keep one id across runs: the backend's ids of a run are matched to the previous run's people
    on the warm-up frames both saw (mean joint distance below ``STITCH_COST`` person sizes); someone not
    in the warm-up frames is re-identified by place and size (``pose.tracking.same_place``) if seen in
    the last ``REID_S`` seconds. Frames the pose model skipped are filled in (``fill_skipped``).
    Memory stays flat: runs are read one at a time, tracks live on disk."""
    tracker = Tracker(fps, max_gap_s=max_gap_s, scratch_dir=scratch_dir)
    times, pose_mask, all_cuts = array("d"), array("b"), []
    stitch = _Stitcher()
    offset, size_changes = 0, []
    for part in parts:
        ids = stitch.map_ids(part)
        by_frame: dict[int, list[Detection]] = {}
        for i in np.flatnonzero(part.frame >= 0):
            g = ids.get(int(part.person[i]))
            by_frame.setdefault(int(part.frame[i]), []).append(
                Detection(part.keypoints[i], part.scores[i], part.sources[i], track_id=g))
        cuts = set(part.cuts)
        for f in sorted(set(by_frame) | cuts):
            if f in cuts:
                tracker.cut()
            if f in by_frame:
                tracker.update(offset + f, by_frame[f])
        mask = np.zeros(part.owned, np.int8)
        mask[part.pose_frames[part.pose_frames >= 0]] = 1
        pose_mask.extend(mask.tolist())
        times.extend(part.times[part.warmup:].tolist())
        all_cuts += [offset + c for c in part.cuts if offset + c > 0]
        size_changes += [(offset + f, w, h) for f, w, h in part.size_changes]
        offset += part.owned
    result = PoseResult(np.array(times, np.float64), width, height, backend, dict(settings), [],
                        cuts=sorted(set(all_cuts)))
    if size_changes:
        result.extra["size_changes"] = [list(c) for c in size_changes]
    result.extra["pose_frames"] = int(sum(pose_mask))  # the frames the pose model ran on (the others filled in)
    repair_times(result)  # equal timestamps spread, holes in them made shot boundaries
    tracks = tracker.tracks(len(result.times))
    pose_mask = np.frombuffer(pose_mask, np.int8).astype(bool) if len(pose_mask) else np.zeros(0, bool)
    if len(pose_mask) and not pose_mask.all():
        tracks = [fill_skipped(tr, pose_mask, result.cuts) for tr in tracks]
    result.tracks = tracks
    ensure_stabilized(result, stabilizer or stabilizer_for(backend, fps), scratch_dir)
    return result


class _Stitcher:
    """The ids of consecutive runs' people (see ``assemble``)."""

    def __init__(self):
        self.next_id = 0
        self.tail: dict[float, list[tuple[int, np.ndarray]]] = {}  # time -> (id, keypoints) of the last frames
        self.last: dict[int, tuple[float, np.ndarray]] = {}  # id -> (time, box) last seen

    def map_ids(self, part: Detections) -> dict[int, int | None]:
        if (part.person < 0).all():
            return {-1: None}  # the backend gives no ids: the tracker matches people frame to frame
        local = sorted({int(p) for p in part.person})
        ids: dict[int, int] = {}
        # 1. the same people on the warm-up frames both runs saw
        pairs = {}
        for i in np.flatnonzero(part.frame < 0):
            t = float(part.times[part.frame[i] + part.warmup])
            for g, kp in self.tail.get(t, ()):
                d = pose_distance(part.keypoints[i], kp)
                if np.isfinite(d):
                    pairs.setdefault((int(part.person[i]), g), []).append(d)
        if pairs:
            known = sorted({g for _, g in pairs})
            cost = np.full((len(local), len(known)), 1e6)
            for (p, g), ds in pairs.items():
                cost[local.index(p), known.index(g)] = float(np.mean(ds))
            for i, j in zip(*linear_sum_assignment(cost)):
                if cost[i, j] <= STITCH_COST:
                    ids[local[i]] = known[j]
        # 2. re-identified by place and size, or new
        for p in local:
            if p in ids:
                continue
            rows = np.flatnonzero((part.person == p) & (part.frame >= 0))
            if len(rows):
                t0 = float(part.times[part.frame[rows[0]] + part.warmup])
                box = keypoint_box(part.keypoints[rows[0]], part.scores[rows[0]])
                taken = set(ids.values())
                lost = [(g, b, t0 - t) for g, (t, b) in self.last.items() if g not in taken and t0 - t >= 0]
                found = reidentify(box, lost, choose="latest")
                if found is not None:
                    ids[p] = found
                    continue
            ids[p] = self.next_id
            self.next_id += 1
        self.next_id = max([self.next_id] + [g + 1 for g in ids.values()])
        # remember the end of this run (its last second) and where everyone was last seen
        self.tail = {}
        own = np.flatnonzero(part.frame >= 0)
        if len(own):
            t_end = float(part.times[-1])
            for i in own:
                t = float(part.times[part.frame[i] + part.warmup])
                g = ids[int(part.person[i])]
                self.last[g] = (t, keypoint_box(part.keypoints[i], part.scores[i]))
                if t >= t_end - TAIL_S:
                    self.tail.setdefault(t, []).append((g, part.keypoints[i]))
        return ids


TAIL_S = 2.0  # seconds at a run's end kept for matching the next run's warm-up frames


def fill_skipped(track: PersonTrack, pose_mask: np.ndarray, cuts: list[int], block: int = 4096) -> PersonTrack:
    """Values for the frames the pose model skipped (``pose_mask`` False): linear between the pose frames
    on either side when the person was found on both and no cut lies between; else the nearer pose
    frame's values within the same shot (video or shot end); else nothing. Scores likewise; sources of
    the nearer frame. Works through disk-backed tracks a block at a time; returns the track with its
    presence updated."""
    n = len(pose_mask)
    idx = np.arange(n)
    prev = np.maximum.accumulate(np.where(pose_mask, idx, -1))
    nxt = np.minimum.accumulate(np.where(pose_mask, idx, n)[::-1])[::-1]
    shot = np.zeros(n, np.int64)
    for c in cuts:
        if 0 < c < n:
            shot[c] += 1
    shot = np.cumsum(shot)
    kp, sc, src = track.keypoints, track.scores, track.sources
    for a in range(0, n, block):
        b = min(n, a + block)
        todo = np.flatnonzero(~pose_mask[a:b]) + a
        if not len(todo):
            continue
        p, q = prev[todo], nxt[todo]
        has_p = (p >= 0) & (shot[np.maximum(p, 0)] == shot[todo])
        has_q = (q < n) & (shot[np.minimum(q, n - 1)] == shot[todo])
        pc, qc = np.maximum(p, 0), np.minimum(q, n - 1)
        kp_p, kp_q = np.asarray(kp[pc]), np.asarray(kp[qc])
        sc_p, sc_q = np.asarray(sc[pc]), np.asarray(sc[qc])
        seen_p = has_p & np.isfinite(kp_p).all(-1).any(-1)
        seen_q = has_q & np.isfinite(kp_q).all(-1).any(-1)
        both = seen_p & seen_q
        # weight of the next pose frame: linear when the person is seen on both sides, else all on the one side
        w = np.where(both, (todo - p) / np.maximum(q - p, 1), np.where(seen_p, 0.0, 1.0)).astype(np.float32)

        def blend(a: np.ndarray, b: np.ndarray, empty) -> np.ndarray:
            m = (slice(None),) + (None,) * (a.ndim - 1)
            lerp = (1 - w[m]) * a + w[m] * b
            return np.where(both[m], lerp, np.where(seen_p[m], a, np.where(seen_q[m], b, empty)))

        new_kp = blend(kp_p, kp_q, np.nan)
        new_sc = np.where(np.isfinite(new_kp).all(-1), blend(sc_p, sc_q, 0.0), 0.0)
        new_src = np.where((seen_p | seen_q)[:, None],
                           np.where((w > 0.5)[:, None], np.asarray(src[qc]), np.asarray(src[pc])), 0)
        kp[todo] = new_kp.astype(np.float32)
        sc[todo] = new_sc.astype(np.float32)
        src[todo] = new_src.astype(np.uint8)
    return PersonTrack(track.id, kp, sc, src)


def estimate(frames: Iterable, width: int, height: int, fps: float, backend, scratch_dir=None,
             stabilizer: Stabilizer | None = None, cuts=None) -> PoseResult:
    """Pose of a whole video in one run: ``detect`` + ``assemble``."""
    part = detect(frames, backend, width, height, fps, cuts=cuts)
    return assemble([part], width, height, fps, backend.name, dict(backend.settings), scratch_dir=scratch_dir,
                    stabilizer=stabilizer)


def from_alphapose_json(json_path, times: np.ndarray, width: int, height: int, fps: float,
                        max_gap_s: float = 1.0, scratch_dir=None, stabilizer: Stabilizer | None = None,
                        cuts=(), rotation: int = 0) -> PoseResult:
    """AlphaPose results for a video whose frame times are ``times`` -> tracked result (tracking starts
    again at each camera cut: ``cuts``, first frames of new shots). ``rotation``: the video's display
    rotation (only to explain keypoints that lie outside the displayed frame)."""
    frames, numbered_from = results_for_video(json_path, len(times), width, height, rotation)
    tracker = Tracker(fps, max_gap_s=max_gap_s, scratch_dir=scratch_dir)
    starts = sorted(cuts)
    not_upright = 0
    for k in sorted(frames):
        while starts and starts[0] <= k:
            starts.pop(0)
            tracker.cut()
        people = [d for d in frames[k] if detection_upright(d)]  # a lying skeleton is no interviewee
        not_upright += len(frames[k]) - len(people)
        tracker.update(k, people)
    settings = {"source": "alphapose-results.json", "tracked_by": "alphapose" if tracker.uses_backend_ids else "ours",
                "frames_numbered_from": numbered_from, "not_upright": not_upright}
    result = PoseResult(np.asarray(times, np.float64), width, height, "alphapose-json", settings,
                        tracker.tracks(len(times)), cuts=sorted(cuts),
                        extra={"alphapose_last_frame": max(frames) if frames else None})
    repair_times(result)
    ensure_stabilized(result, stabilizer or stabilizer_for("alphapose-json", fps), scratch_dir)
    return result
