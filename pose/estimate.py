"""Run a pose backend over a stream of frames, or turn AlphaPose results into tracks.

Frames come from the pipeline's decoder (anything with ``index``, ``time`` and ``image``); this
module never opens videos itself.
"""
from __future__ import annotations

from array import array
from typing import Callable, Iterable

import numpy as np

from .alphapose import AlphaPoseError, read_alphapose_json
from .result import PoseResult
from .stabilize import Stabilizer, ensure_stabilized, stabilizer_for
from .tracking import Tracker

BACKENDS = ("mediapipe", "alphapose-json", "alphapose")


def make_backend(name: str, *, alphapose_config=None, alphapose_checkpoint=None, device: str = "auto",
                 max_side: int | None = 960, max_persons: int = 2):
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


def estimate(frames: Iterable, width: int, height: int, fps: float, backend,
             on_frame: Callable[[int, float], None] | None = None, max_gap_s: float = 1.0,
             on_update: Callable[[Tracker, int, float], None] | None = None,
             scratch_dir=None, stabilizer: Stabilizer | None = None, cuts=None) -> PoseResult:
    """Run ``backend`` on every frame, track people, stabilise their keypoints (``pose.stabilize``;
    default: the backend's usual settings), return the result (no images kept; keypoints on disk in
    ``scratch_dir``, see ``common.diskarray``).
    ``on_update(tracker, index, time)`` sees the raw tracks as they grow (used to start MMN early).
    ``cuts`` (``pipeline.shots.CutDetector`` or alike: ``cut_at(index, image)``, ``finish()``) finds
    camera cuts in the frames: tracking starts again at each (the backend re-identifies people)."""
    start = getattr(backend, "start", None)
    start(fps) if start else backend.reset()
    tracker = Tracker(fps, max_gap_s=max_gap_s, scratch_dir=scratch_dir)
    times = array("d")  # 8 bytes a frame
    for frame in frames:
        if cuts is not None and cuts.cut_at(frame.index, frame.image) is not None:
            tracker.cut()
            cut = getattr(backend, "cut", None)
            if cut:
                cut()
        tracker.update(frame.index, backend.process(frame.image, width, height))
        times.append(frame.time)
        if on_update:
            on_update(tracker, frame.index, frame.time)
        if on_frame:
            on_frame(frame.index, frame.time)
    backend.reset()
    times = np.array(times, np.float64)
    result = PoseResult(times, width, height, backend.name, dict(backend.settings), tracker.tracks(len(times)),
                        cuts=cuts.finish() if cuts is not None else [])
    ensure_stabilized(result, stabilizer or stabilizer_for(backend.name, fps), scratch_dir)
    return result


def from_alphapose_json(json_path, times: np.ndarray, width: int, height: int, fps: float,
                        max_gap_s: float = 1.0, scratch_dir=None, stabilizer: Stabilizer | None = None,
                        cuts=()) -> PoseResult:
    """AlphaPose results for a video whose frame times are ``times`` -> tracked result (tracking starts
    again at each camera cut: ``cuts``, first frames of new shots)."""
    frames = read_alphapose_json(json_path)
    numbered_from = 0
    if frames and 0 not in frames and max(frames) == len(times):
        # image folders extracted with %06d start at 1: frame k of the results is frame k-1 of the video
        frames, numbered_from = {k - 1: v for k, v in frames.items()}, 1
    if frames and max(frames) >= len(times):
        raise AlphaPoseError(
            f"{json_path}: refers to frame {max(frames)} but the video has {len(times)} frames "
            "(results of another video?)")
    tracker = Tracker(fps, max_gap_s=max_gap_s, scratch_dir=scratch_dir)
    starts = sorted(cuts)
    for k in sorted(frames):
        while starts and starts[0] <= k:
            starts.pop(0)
            tracker.cut()
        tracker.update(k, frames[k])
    settings = {"source": "alphapose-results.json", "tracked_by": "alphapose" if tracker.uses_backend_ids else "ours",
                "frames_numbered_from": numbered_from}
    result = PoseResult(np.asarray(times, np.float64), width, height, "alphapose-json", settings,
                        tracker.tracks(len(times)), cuts=sorted(cuts))
    ensure_stabilized(result, stabilizer or stabilizer_for("alphapose-json", fps), scratch_dir)
    return result
