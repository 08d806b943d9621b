#!/usr/bin/env python3
"""Memory that the pipeline's own per-frame data needs (tracking, pose cache, analysis), measured
with tracemalloc on simulated detections, for videos of several lengths (30 fps, one person).

    python benchmarks/bench_memory_keypoints.py [--minutes 1 10 60]

Frames themselves are never kept (decoding streams). The 44 keypoints, confidences and joint sources
per frame and person are kept on disk (memory-mapped temporary files, which tracemalloc does not
count: they are the system's page cache, dropped when memory is needed), and whole-track work goes by
chunks of 4096 frames, so the peak should stop growing once a video holds a few chunks. This prints
the peak and the bytes per frame.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.segments import analyse_track  # noqa: E402
from pose.result import PoseResult, save_pose  # noqa: E402
from pose.tracking import Tracker  # noqa: E402
from pose.types import Detection  # noqa: E402


def peak_for(frames: int) -> float:
    rng = np.random.default_rng(0)
    base = rng.random((44, 2)) * 300 + 100
    tracemalloc.start()
    tracker = Tracker(30)
    times = np.arange(frames) / 30.0
    for i in range(frames):
        kp = (base + 10 * np.sin(i / 7) + rng.normal(0, 1, (44, 2))).astype(np.float32)
        tracker.update(i, [Detection(kp, np.full(44, 0.9, np.float32), np.ones(44, np.uint8))])
    tracks = tracker.tracks(frames)
    del tracker
    with tempfile.TemporaryDirectory() as d:
        save_pose(Path(d) / "x.pose.npz", PoseResult(times, 640, 480, "mediapipe", {}, tracks))
    analyse_track(tracks[0], times, (640, 480), "long")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60])
    args = ap.parse_args()
    print(f"{'minutes':>8} {'frames':>7} {'peak MiB':>9} {'bytes/frame':>12}")
    for m in args.minutes:
        n = int(m * 60 * 30)
        peak = peak_for(n)
        print(f"{m:8g} {n:7d} {peak / 2**20:9.1f} {peak / n:12.0f}")


if __name__ == "__main__":
    main()
