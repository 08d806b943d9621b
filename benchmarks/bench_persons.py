#!/usr/bin/env python3
"""What tracking several people costs (MediaPipe backend, decoding excluded).

    python benchmarks/bench_persons.py [--max-side 960]

On the MA-52 demo clips: one clip alone (one person) and two clips side by side (two people), each
with --max-persons 1 and 2: milliseconds per frame and the people found.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.video_decode import iter_frames  # noqa: E402
from pipeline.video_probe import probe  # noqa: E402
from pose.mediapipe_backend import MediaPipeBackend  # noqa: E402
from tests.helpers import ffmpeg  # noqa: E402


def timed(video: Path, max_persons: int, max_side: int) -> tuple[float, int]:
    info = probe(video)
    frames = list(iter_frames(video, info, max_side=max_side))
    backend = MediaPipeBackend(max_side=max_side, max_persons=max_persons)
    backend.start(info.fps)
    ms, ids = [], set()
    for f in frames:
        t = time.perf_counter()
        dets = backend.process(f.image, info.width, info.height)
        ms.append((time.perf_counter() - t) * 1000)
        ids |= {d.track_id for d in dets}
    backend.close()
    return statistics.mean(ms[1:]), len(ids)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", type=Path, default=ROOT.parent / "shared" / "fixtures" / "ma52_demo")
    ap.add_argument("--max-side", type=int, default=960)
    args = ap.parse_args()
    one = args.demo / "B1_nodding__0019_02_0078.mp4"
    with tempfile.TemporaryDirectory() as tmp:
        two = Path(tmp) / "two.mp4"
        ffmpeg("-i", str(args.demo / "A1_shaking_body__0030_01_0002.mp4"), "-i", str(one), "-filter_complex",
               "[0:v][1:v]hstack=inputs=2:shortest=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(two))
        print(f"{'video':28} {'max_persons':>11} {'people':>6} {'ms/frame':>9}")
        for name, video in (("one person (1080x1296)", one), ("two side by side (2160x1296)", two)):
            for n in (1, 2):
                ms, people = timed(video, n, args.max_side)
                print(f"{name:28} {n:11d} {people:6d} {ms:9.1f}")


if __name__ == "__main__":
    main()
