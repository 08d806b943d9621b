#!/usr/bin/env python3
"""Memory that the pipeline's own per-frame data needs (tracking, pose cache write and read,
analysis), measured with tracemalloc on simulated detections, for videos of several lengths (30 fps,
one moving person).

    python benchmarks/bench_memory_keypoints.py [--minutes 1 10 60]

Frames themselves are never kept (decoding streams). The 44 keypoints, confidences and joint sources
per frame and person are kept on disk (memory-mapped temporary files, which tracemalloc does not
count: they are the system's page cache, dropped when memory is needed), and whole-track work goes by
chunks of 4096 frames, so the peak should stop growing once a video holds a few chunks. The
simulated hands are seen with low confidence, so no hand contacts are found: they are results, and
would grow with the video. This prints the peak and the bytes per frame. ``tests/test_memory.py``
uses the same measurement.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from definitions.layout import ma52_layout  # noqa: E402
from pipeline.segments import analyse_track  # noqa: E402
from pose.result import PoseResult, load_pose, save_pose  # noqa: E402
from pose.stabilize import ensure_stabilized, stabilizer_for  # noqa: E402
from pose.tracking import Tracker  # noqa: E402
from pose.types import Detection  # noqa: E402


def simulated_detections(frames: int, people: int = 1):
    """(frame, detections) for ``people`` swaying people whose hands are seen with low confidence."""
    rng = np.random.default_rng(0)
    base = rng.random((people, 44, 2)) * 200 + 50 + np.arange(people)[:, None, None] * 300
    scores = np.full(44, 0.9, np.float32)
    scores[[i for i, n in enumerate(ma52_layout().names) if "hand" in n]] = 0.25
    for i in range(frames):
        yield i, [Detection((base[p] + 10 * np.sin(i / 7) + rng.normal(0, 1, (44, 2))).astype(np.float32),
                            scores, np.ones(44, np.uint8)) for p in range(people)]


def peak_for(frames: int, scratch_dir: Path) -> int:
    """Peak traced bytes of tracking, keypoint stabilisation, pose cache write + read, and analysis (with
    the movement description) of a ``frames`` video."""
    times = np.arange(frames) / 30.0
    tracemalloc.start()
    try:
        tracker = Tracker(30, scratch_dir=scratch_dir)
        for i, dets in simulated_detections(frames):
            tracker.update(i, dets)
        res = PoseResult(times, 640, 480, "mediapipe", {}, tracker.tracks(frames))
        del tracker
        ensure_stabilized(res, stabilizer_for("mediapipe", 30.0), scratch_dir)
        save_pose(scratch_dir / f"{frames}.pose.npz", res)
        back = load_pose(scratch_dir / f"{frames}.pose.npz", scratch_dir=scratch_dir)
        analyse_track(back.tracks[0], back.times, (640, 480), "long")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60])
    args = ap.parse_args()
    print(f"{'minutes':>8} {'frames':>7} {'peak MiB':>9} {'bytes/frame':>12}")
    for m in args.minutes:
        n = int(m * 60 * 30)
        with tempfile.TemporaryDirectory() as d:
            peak = peak_for(n, Path(d))
        print(f"{m:8g} {n:7d} {peak / 2**20:9.1f} {peak / n:12.0f}")


if __name__ == "__main__":
    main()
