#!/usr/bin/env python3
"""Milliseconds per frame of the MediaPipe pose backend (decoding excluded) on real clips.

    python benchmarks/bench_pose.py [VIDEO_OR_FOLDER ...] [--max-side 960 0]

Default input: the MA-52 demo clips in ../shared/fixtures/ma52_demo. The first frame of each video
(model start-up) is reported separately.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.video_decode import iter_frames  # noqa: E402
from pipeline.video_probe import probe  # noqa: E402
from pose.mediapipe_backend import MediaPipeBackend  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="*", default=[str(ROOT.parent / "shared" / "fixtures" / "ma52_demo")])
    ap.add_argument("--max-side", type=int, nargs="+", default=[960, 0], help="0 = full size")
    args = ap.parse_args()
    videos = []
    for item in args.inputs:
        p = Path(item)
        videos += sorted(p.glob("*.mp4")) if p.is_dir() else [p]
    print(f"{'video':45} {'size':>10} {'max_side':>8} {'frames':>6} {'first ms':>9} {'ms/frame':>9} {'p90 ms':>8}")
    for max_side in args.max_side:
        all_times = []
        for v in videos:
            info = probe(v)
            frames = list(iter_frames(v, info, max_side=max_side or None))  # decode first: time pose alone
            backend = MediaPipeBackend(max_side=max_side or None)
            times = []
            for f in frames:
                t = time.perf_counter()
                backend.process(f.image, info.width, info.height)
                times.append((time.perf_counter() - t) * 1000)
            backend.close()
            rest = times[1:] or times
            all_times += rest
            print(f"{v.name[:45]:45} {info.width}x{info.height:<5} {max_side or 'full':>8} {len(frames):6d} "
                  f"{times[0]:9.1f} {statistics.mean(rest):9.1f} {sorted(rest)[int(0.9 * (len(rest) - 1))]:8.1f}")
        print(f"{'all':45} {'':>10} {max_side or 'full':>8} {len(all_times):6d} {'':>9} "
              f"{statistics.mean(all_times):9.1f}")


if __name__ == "__main__":
    main()
