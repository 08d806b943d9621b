#!/usr/bin/env python3
"""What pose on fewer frames (``--pose-fps``) costs: keypoints and motion measures against every frame.

    python benchmarks/bench_pose_fps.py [VIDEO_OR_FOLDER ...] [--rates 15 10] [--out DIR]

Default input: the MA-52 demo clips in ../shared/fixtures/ma52_demo, and the first two side by side
(two people, each at half the resolution). Each video runs through the real pipeline (MediaPipe, one
worker, clip mode) with pose on every frame and at each rate; for the subject (or everyone) it prints:

* keypoint deviation from the every-frame keypoints (stabilised, as analysed), in torso lengths, over
  the frames the pose model skipped and over all frames: median and 95th percentile over the joints
  seen with confidence >= 0.5 (body joints 0-16 and hands/face separately);
* the clip's motion energy and the body part the description names, with the part's score.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from pipeline import motion  # noqa: E402
from pipeline.inputs import VideoJob  # noqa: E402
from pipeline.options import Options  # noqa: E402
from pipeline.run import Pipeline  # noqa: E402
from pipeline.posework import ALL_FRAMES_AT_START_S  # noqa: E402
from pipeline.video_probe import VIDEO_EXTENSIONS  # noqa: E402
from pipeline.video_decode import Sampling  # noqa: E402
from pipeline.ffmpeg_tools import ffmpeg_exe  # noqa: E402
from pose.result import load_pose  # noqa: E402

DEMO = ROOT.parent / "shared" / "fixtures" / "ma52_demo"


def run(video: Path, out: Path, pose_fps: float | None):
    pipe = Pipeline.from_options(Options(out=out, mode="clip", person="all", pose_fps=pose_fps, workers=1))
    try:
        doc = pipe.process(VideoJob(video, Path(video.stem))).doc
    finally:
        pipe.close()
    return doc, load_pose(out / f"{video.stem}.pose.npz")


def deviation(ref, other, skipped: np.ndarray) -> dict:
    out = {}
    for name, joints in (("body", slice(0, 17)), ("face+hands", slice(17, 44))):
        a, b = np.asarray(ref.keypoints)[:, joints], np.asarray(other.keypoints)[:, joints]
        ok = (np.asarray(ref.scores)[:, joints] >= 0.5) & (np.asarray(other.scores)[:, joints] >= 0.5)
        scale = motion.body_scale(np.asarray(ref.keypoints))
        d = np.linalg.norm(a - b, axis=-1) / scale
        for where, mask in (("skipped", ok & skipped[:, None]), ("all", ok)):
            vals = d[mask]
            out[f"{name} {where}"] = (float(np.median(vals)), float(np.percentile(vals, 95))) if vals.size else None
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="*", type=Path)
    ap.add_argument("--rates", nargs="+", type=float, default=[15.0, 10.0])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    work = Path(args.out or tempfile.mkdtemp(prefix="bench_pose_fps_"))
    work.mkdir(parents=True, exist_ok=True)
    videos = []
    for p in args.inputs or [DEMO]:
        videos += sorted(q for q in p.iterdir() if q.suffix.lower() in VIDEO_EXTENSIONS) if p.is_dir() else [p]
    if not args.inputs and len(videos) >= 2:
        sbs = work / "side_by_side.mp4"
        if not sbs.exists():
            subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(videos[0]), "-i",
                            str(videos[1]), "-filter_complex", "[0:v][1:v]hstack=inputs=2:shortest=1", "-c:v",
                            "libx264", "-pix_fmt", "yuv420p", str(sbs)], check=True)
        videos.append(sbs)
    for video in videos:
        ref_doc, ref = run(video, work / "all", None)
        print(f"\n== {video.name} ({ref.num_frames} frames)")
        print("  every frame:", "; ".join(f"person {s['person']}: {s['movement']['body_part']} "
                                          f"({max(s['movement']['body_part_scores'].values()):.2f}), energy "
                                          f"{s['movement']['motion_energy']:.3f}" for s in ref_doc["segments"]))
        for rate in args.rates:
            doc, pose = run(video, work / f"r{rate:g}", rate)
            fps = ref_doc["video"]["fps"]
            skipped = ~Sampling(1.0 / rate, fps, ALL_FRAMES_AT_START_S).mask(ref.times)  # clips: one chunk, decoded from 0
            print(f"  pose at {rate:g} fps:", "; ".join(
                f"person {s['person']}: {s['movement']['body_part']} "
                f"({max(s['movement']['body_part_scores'].values()):.2f}), energy {s['movement']['motion_energy']:.3f}"
                for s in doc["segments"]))
            for tr in ref.tracks:
                if not tr.num_frames_seen or tr.id not in {t.id for t in pose.tracks}:
                    continue
                dev = deviation(tr, pose.track(tr.id), skipped)
                print(f"    person {tr.id} deviation (torso lengths, median / p95): " + "; ".join(
                    f"{k} {v[0]:.3f} / {v[1]:.3f}" for k, v in dev.items() if v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
