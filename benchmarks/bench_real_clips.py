#!/usr/bin/env python3
"""Cuts and persons on real footage: what the pose stage finds on every clip (MediaPipe, as the pipeline
runs it on one chunk).

    python benchmarks/bench_real_clips.py [--shared ../shared]

For the real development clips (``fixtures/real_dev``), the MA-52 demo clips, and four jump cuts made
of two demo clips of different people (one region of the room, black and white, joined after 1.5 s):
the cuts the picture alone finds, the skeleton jumps (``pose.jumps``), the largest change ratio of
the picture where a skeleton jumped away from a cut, the cuts found with both, and every person
found (id: frames seen, median torso tilt from upright). README: "Camera cuts", "Who is a person".
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.cut_detection import WIDTH, CutDetector  # noqa: E402
from pipeline.video_decode import iter_frames  # noqa: E402
from pipeline.video_probe import probe  # noqa: E402
from pose.estimate import detect  # noqa: E402
from pose.mediapipe_backend import MediaPipeBackend  # noqa: E402
from pose.tracking import trunk_tilt  # noqa: E402
from tests.helpers import ffmpeg  # noqa: E402

PAIRS = [("A1_shaking_body__0030_01_0002", "B1_nodding__0019_02_0078"),
         ("B1_nodding__0019_02_0078", "B3_turning_head__0010_02_0101"),
         ("A1_shaking_body__0030_01_0002", "B3_turning_head__0010_02_0101"),
         ("B3_turning_head__0010_02_0101", "A1_shaking_body__0030_01_0002")]
CROP = "crop=690:828:200:180,scale=240:288,hue=s=0"


class Witnessed(CutDetector):
    """The cut detector, keeping what each witness said."""

    def finish(self, pose_jumps=()):
        self.jumps = list(pose_jumps)
        self.picture = super().finish(())
        return super().finish(pose_jumps)


def measure(video: Path, backend: MediaPipeBackend) -> str:
    info = probe(video)
    cuts = Witnessed(info.fps)
    frames = iter_frames(video, info, max_side=backend.max_side, small_width=WIDTH)
    det = detect(frames, backend, info.width, info.height, info.fps, cuts=cuts)
    away = [max(cuts.ratio(f) for f in range(a + 1, b + 1)) for a, b in cuts.jumps
            if all(abs(b - c) > 2 and abs(a + 1 - c) > 2 for c in cuts.picture)]
    people = []
    for pid in np.unique(det.person[det.frame >= 0]):
        rows = np.flatnonzero((det.person == pid) & (det.frame >= 0))
        tilt = np.median([trunk_tilt(det.keypoints[r][[5, 6]], det.keypoints[r][[11, 12]]) for r in rows])
        people.append(f"{pid}: {len(rows)} frames, tilt {tilt:.0f}")
    return (f"{video.name[:44]:44} {len(det.times):4d} frames | picture {cuts.picture} | jumps {len(cuts.jumps):2d} "
            f"({len(away)} away from them, ratio <= {max(away) if away else float('nan'):.1f}) | cuts {det.cuts} | "
            f"persons {'; '.join(people) or 'none'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args()
    real, demo = args.shared / "fixtures" / "real_dev", args.shared / "fixtures" / "ma52_demo"
    backend = MediaPipeBackend()
    for video in sorted(p for p in real.iterdir() if p.suffix in (".mp4", ".avi", ".mov")) + sorted(demo.glob("*.mp4")):
        print(measure(video, backend), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        part = "trim=end_frame=45,setpts=PTS-STARTPTS," + CROP
        for a, b in PAIRS:
            joined = Path(tmp) / f"{a[:2]}_then_{b[:2]}_joined_at_45.mp4"
            ffmpeg("-i", str(demo / f"{a}.mp4"), "-i", str(demo / f"{b}.mp4"), "-filter_complex",
                   f"[0:v]{part}[a];[1:v]{part}[b];[a][b]concat=n=2:v=1:a=0", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                   str(joined))
            print(measure(joined, backend), flush=True)
    backend.close()


if __name__ == "__main__":
    main()
