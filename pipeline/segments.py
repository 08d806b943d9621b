"""From one person's keypoints to timed segments.

Modes:

* ``clip``: the video is one micro-action sample (like an MA-52 clip): all its frames -> 64 frames
  -> one prediction; a clip whose motion energy is below the still threshold is "still", as a long
  video's window would be: no segment, no action, no body part (``--still-threshold 0`` classifies
  every clip).
* ``long``: an interview. Windows of ``window_s`` seconds every ``stride_s`` seconds; each window
  with enough motion -> 64 frames -> MMN. A window is "still" when its motion energy is below the
  threshold and "absent" when the person is seen in less than half of its frames; neither gets an
  action. Each window owns the ``stride_s`` seconds around its centre (the first and last window
  extend to the video's edges), so segments never overlap; consecutive active windows with the
  same top-1 action merge into one segment, whose probabilities are the mean of its windows'.
  Segment edges then move inwards to the first and last frame whose own (smoothed) motion energy
  reaches the threshold, so a segment starts and ends where the movement does.
* ``auto``: ``clip`` for videos up to ``AUTO_CLIP_MAX_S`` seconds, else ``long``.

Without an MMN checkpoint, long-mode segments are the weight-free recognizer's action instances
(``recognizer.kinematics``; instances that overlap share a segment), then the parts of the movement
episodes of ``pipeline.description`` that no instance covers (movement without a named action); the
windows still say which stretches are still or absent. Every segment carries the weight-free movement
description (``pipeline.description.describe``) and the action instances it overlaps.

Defaults: MA-52 clips last about 1.5-2.5 s, so a 2 s window holds one micro-action at the time scale
the model was trained on. A 1 s stride (windows overlap by half) gives every micro-action a window
that holds most of it, and costs half the MMN work of a 0.5 s stride, which keeps MMN hidden behind
pose estimation on a laptop (benchmarks/bench_pipeline.py); segment edges do not depend on the
stride since they snap to the per-frame motion.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from common.shots import shot_ranges
from pose.types import PersonTrack
from recognizer.kinematics import REPEATED, ActionInstance, recognize

from . import description, motion

if TYPE_CHECKING:  # a type only: the command line's --help and argument errors need no torch
    from recognizer.inference import Prediction

DEFAULT_WINDOW_S = 2.0
DEFAULT_STRIDE_S = 1.0
AUTO_CLIP_MAX_S = 4.0
MIN_PRESENT = 0.5
MIN_WINDOW_FRAMES = 4


@dataclass
class Window:
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int  # one past the last frame
    status: str = "active"  # active | still | absent
    energy: float = 0.0
    regions: dict = field(default_factory=dict)  # motion energy per body region (motion.region_energy)
    prediction: Prediction | None = None
    # the time nearer to this window's centre than to its neighbours' (the report's status stretches,
    # ``pipeline.report.summary.stretches``, follow the same rule from the record's rounded times)
    owned: tuple[float, float] = (0.0, 0.0)
    shot: int = 0  # windows of different shots (camera cuts) never merge


@dataclass
class Segment:
    person: int
    start_s: float
    end_s: float
    windows: list[Window] = field(default_factory=list)
    probabilities: np.ndarray | None = None
    movement: dict = field(default_factory=dict)
    actions: list[ActionInstance] = field(default_factory=list)  # weight-free, best first


def resolve_mode(mode: str, duration: float) -> str:
    if mode == "auto":
        return "clip" if duration <= AUTO_CLIP_MAX_S else "long"
    if mode not in ("clip", "long"):
        raise ValueError(f"mode must be auto, clip or long; got {mode!r}")
    return mode


def shot_windows(times: np.ndarray, mode: str, window_s: float, stride_s: float, cuts=()) -> list[Window]:
    """``make_windows`` of every shot (frame numbers of the whole video): no window spans a cut."""
    out = []
    for k, (a, b) in enumerate(shot_ranges(cuts, len(times))):
        end = float(times[b]) if b < len(times) else description.motion_end(times, b)  # a hole after it: absent
        for w in make_windows(times[a:b], mode, window_s, stride_s, end=end):
            w.start_frame, w.end_frame, w.shot = w.start_frame + a, w.end_frame + a, k
            out.append(w)
    return out


def make_windows(times: np.ndarray, mode: str, window_s: float, stride_s: float,
                 end: float | None = None) -> list[Window]:
    t0, t1 = (float(times[0]), description.motion_end(times, len(times)) if end is None else end) if len(times) else (0.0, 0.0)
    if mode == "clip" or t1 - t0 <= window_s:
        spans = [(t0, t1)]
    else:
        starts = list(np.arange(t0, t1 - window_s + 1e-9, stride_s))
        if starts[-1] + window_s < t1 - stride_s / 2:
            starts.append(t1 - window_s)
        spans = [(float(s), float(s) + window_s) for s in starts]
    wins = []
    for s, e in spans:
        a, b = int(np.searchsorted(times, s - 1e-9)), int(np.searchsorted(times, e - 1e-9))
        wins.append(Window(s, e, a, b))
    for w, owned in zip(wins, owned_spans([(w.start_s, w.end_s) for w in wins])):
        w.owned = owned
    return wins


def owned_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The time each of consecutive windows (start, end; sorted) owns: what is nearer its centre than its
    neighbours' (overlapping windows meet halfway between their centres; the first and last keep their
    outer ends). The one rule for segments (``Window.owned``) and for the report's status lanes."""
    centres = [(s + e) / 2 for s, e in spans]
    owned = []
    for i, (s, e) in enumerate(spans):
        lo = s if i == 0 else max(s, (centres[i] + centres[i - 1]) / 2)
        hi = e if i == len(spans) - 1 else min(e, (centres[i] + centres[i + 1]) / 2)
        owned.append((lo, hi))
    return owned


def _snap_to_motion(seg: Segment, energy: np.ndarray, times: np.ndarray, threshold: float) -> None:
    """Move a segment's edges inwards to the first and last frame whose motion energy (per frame,
    ``motion.frame_energy``) reaches the threshold (windows are coarse: a window that holds a little
    motion spans still frames too)."""
    a = int(np.searchsorted(times, seg.start_s - 1e-9))
    b = int(np.searchsorted(times, seg.end_s - 1e-9))
    moving = np.flatnonzero(np.asarray(energy[a:b]) >= threshold)
    if moving.size == 0:
        return
    seg.start_s, seg.end_s = float(times[a + moving[0]]), description.motion_end(times, a + moving[-1] + 1)


def _window_status(track: PersonTrack, times: np.ndarray, windows: list[Window], ok, scale: float, mode: str,
                   threshold: float) -> None:
    for w in windows:
        seen = track.present[w.start_frame:w.end_frame]
        if w.end_frame - w.start_frame < 1 or seen.mean() < MIN_PRESENT or seen.sum() < min(MIN_WINDOW_FRAMES, w.end_frame - w.start_frame):
            w.status = "absent"
            continue
        w.regions = motion.region_energy(track.keypoints[w.start_frame:w.end_frame], ok[w.start_frame:w.end_frame], times[w.start_frame:w.end_frame], scale)
        w.energy = motion.motion_energy(w.regions)
        if w.energy < threshold:
            w.status = "still"


def _recognize(track: PersonTrack, active: list[Window], recognizer) -> None:
    for w, p in zip(active, recognizer.predict([track.keypoints[w.start_frame:w.end_frame] for w in active])):
        w.prediction = p


def _merge_windows(track: PersonTrack, windows: list[Window]) -> list[Segment]:
    """Consecutive active windows with the same top-1 action (or all active ones, without a model)."""
    segments: list[Segment] = []
    prev: Window | None = None
    for w in windows:
        if w.status != "active":
            prev = None
            continue
        label = w.prediction.top5[0]["id"] if w.prediction is not None else None
        same = prev is not None and prev.shot == w.shot and \
            (prev.prediction.top5[0]["id"] if prev.prediction is not None else None) == label
        if same:
            segments[-1].windows.append(w)
            segments[-1].end_s = w.owned[1]
        else:
            segments.append(Segment(track.id, w.owned[0], w.owned[1], [w]))
        prev = w
    return segments


def analyse_track(track: PersonTrack, times: np.ndarray, size: tuple[int, int], mode: str, recognizer=None,
                  window_s: float = DEFAULT_WINDOW_S, stride_s: float = DEFAULT_STRIDE_S,
                  threshold: float = motion.STILL_THRESHOLD,
                  scratch_dir=None, cuts=()) -> tuple[list[Segment], list[Window]]:
    """Windows -> (optional) MMN -> segments with movement descriptions, for one person.
    ``size`` is the frame's (width, height); ``cuts`` are the first frames of the shots after the first
    (no window or segment spans a cut). A person whose size is never seen (no torso, shoulders or face:
    ``motion.body_scale`` None) cannot be measured in torso lengths: every window is absent, no segment."""
    scale = motion.body_scale(track.keypoints)
    if scale is None:
        windows = shot_windows(times, mode, window_s, stride_s, cuts)
        for w in windows:
            w.status = "absent"
        return [], windows
    ok = motion.ReliableMask(track.keypoints, track.scores, *size)
    desc = description.describe_track(track.keypoints, track.scores, times, size, scale, scratch_dir, cuts)
    windows = shot_windows(times, mode, window_s, stride_s, cuts)
    _window_status(track, times, windows, ok, scale, mode, threshold)
    active = [w for w in windows if w.status == "active"]
    if recognizer is not None and active:
        _recognize(track, active, recognizer)

    instances = head_moves(recognize(track.keypoints, track.scores, times, size, cuts), desc, threshold)
    if mode == "long":  # a clip is one sample that starts with its action (MA-52)
        instances = settled(instances, times, track.present, cuts)
    if mode == "long" and recognizer is None:
        episodes = [(float(times[a]), description.motion_end(times, b)) for a, b in description.episodes(desc, threshold, track.present)]
        segments = [Segment(track.id, start, end, [w for w in windows if w.start_s < end and w.end_s > start])
                    for start, end in action_spans(instances, episodes)]
    else:
        segments = _merge_windows(track, windows)
        if mode == "long":
            for seg in segments:
                _snap_to_motion(seg, desc.energy, times, threshold)
    for seg in segments:
        if recognizer is not None:
            seg.probabilities = np.mean([w.prediction.probabilities for w in seg.windows], axis=0)
        a = int(np.searchsorted(times, seg.start_s - 1e-9))
        b = max(a + 1, int(np.searchsorted(times, seg.end_s - 1e-9)))
        seg.movement = description.describe(desc, track.keypoints, ok, a, b, scale)
        seg.actions = instances_in(instances, seg.start_s, seg.end_s)
    return segments, windows


def head_moves(instances: list[ActionInstance], desc: description.TrackDescription,
               threshold: float) -> list[ActionInstance]:
    """Head gestures (B*) only where the head's own motion (``description.part_motion``, torso lengths
    per second) reaches the still threshold: on a frozen frame of a face hidden behind a mosaic the pose
    model's face points jumped by 13-27 mm and the fitted yaw swung 10 deg, while the head's own motion
    stayed at 0.04-0.05 (real nods and turns of the MA-52 demo clips: 0.17 and 0.09). Hands at the
    head are kept: a hand resting on the chin is an action without movement."""
    head = description.MOTION_PARTS.index("head")
    out = []
    for inst in instances:
        if inst.code.startswith("B"):
            a, b = np.searchsorted(desc.times, [inst.start_s - 1e-9, inst.end_s - 1e-9])
            peak = float(np.max(desc.parts[a:max(b, a + 1), head])) if a < len(desc.times) else 0.0
            if peak < threshold:
                continue
            inst.evidence["head_motion"] = round(peak, 3)
        out.append(inst)
    return out


def settled(instances: list[ActionInstance], times: np.ndarray, present: np.ndarray, cuts=()) -> list[ActionInstance]:
    """Movements (body, head, arm and leg actions: A-D) counted only after the pose model has settled:
    the first ``description.LANDMARK_SETTLING_S`` after a person appears or a shot starts do not count. A change of
    posture (turning, leaning, a tiptoe, crossed legs) that starts there is dropped: its amplitude is
    measured from where it starts, and the landmarks had not settled there (on a frozen frame they drift
    for 0.4-0.7 s; at 15 fps MediaPipe's knee, ankle and heel rise together as a tiptoe moves them). A repeated movement (``kinematics.REPEATED``: nodding, shaking, waving) is dropped
    when less than ``description.MIN_EPISODE_S`` of it is left after the settling, as the movement
    episodes are. Contacts (hands at the head, body and legs: E-G) are kept: a hand already at the face
    when the person appears is an action."""
    starts = sorted({float(times[a]) for a, _ in motion.runs(present)} |
                    {float(times[first]) for first, _ in shot_ranges(cuts, len(times))})
    out = []
    for inst in instances:
        if inst.code[0] in "ABCD":
            begun = max((s for s in starts if s <= inst.start_s + 1e-9), default=None)
            if begun is not None and inst.start_s < begun + description.LANDMARK_SETTLING_S:
                if inst.code not in REPEATED:
                    continue
                if inst.end_s - (begun + description.LANDMARK_SETTLING_S) < description.MIN_EPISODE_S:
                    continue
        out.append(inst)
    return out


def action_spans(instances: list[ActionInstance], episodes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Segment spans without a checkpoint: one per weight-free action instance (instances that overlap
    share a segment, since a person's segments never overlap), then the parts of the movement
    episodes that no instance covers and that still last ``description.MIN_EPISODE_S`` (movement
    without a named action: the body part says what moved)."""
    spans: list[list[float]] = []
    for inst in sorted(instances, key=lambda i: i.start_s):
        if spans and inst.start_s < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], inst.end_s)
        else:
            spans.append([inst.start_s, inst.end_s])
    covered = [tuple(x) for x in spans]
    for start, end in episodes:
        for lo, hi in _uncovered(start, end, covered):
            if hi - lo >= description.MIN_EPISODE_S:
                spans.append([lo, hi])
    return sorted((a, b) for a, b in spans)


def _uncovered(start: float, end: float, covered: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out, cursor = [], start
    for a, b in covered:
        if b <= cursor or a >= end:
            continue
        if a > cursor:
            out.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end:
        out.append((cursor, end))
    return out


def instances_in(instances: list[ActionInstance], start: float, end: float) -> list[ActionInstance]:
    """The instances overlapping [start, end) by at least half of their own length or of the span, best
    score first."""
    def enough(i: ActionInstance) -> bool:
        shared = min(i.end_s, end) - max(i.start_s, start)
        return shared > 0 and shared >= 0.5 * min(i.end_s - i.start_s, end - start)
    return sorted((i for i in instances if enough(i)), key=lambda i: -i.score)
