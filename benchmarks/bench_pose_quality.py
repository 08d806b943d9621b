#!/usr/bin/env python3
"""How stable are the keypoints? Raw pose-model output against stabilised keypoints (pose.stabilize).

    python benchmarks/bench_pose_quality.py [VIDEO_OR_FOLDER ...] [--seconds 4] [--out DIR]

Default input: the MA-52 demo clips in ../shared/fixtures/ma52_demo. For each clip, and for a
"frozen" version of it (its first frame repeated for ``--seconds`` at 30 fps, made with ffmpeg: a
person who does not move at all), the real pipeline runs (MediaPipe, the pose cache is shared by both
columns) and prints:

* how often each part model finds its part (face, left hand, right hand);
* source switches: how far a joint moves across a switch beyond its own motion (max / median, torso
  lengths), raw and stabilised;
* left/right hand swaps left in the keypoints (hand-frames; MediaPipe's own swaps are repaired by the
  backend) and how many the backend repaired;
* motion energy (torso lengths per second): on the clips the clip's energy and the region that moved
  most; on the frozen versions the largest long-mode window energy (all should be still: below the
  still threshold, and the aim is at most 0.03) and per-region jitter over the whole frozen clip.
"""
from __future__ import annotations

import argparse
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
from pipeline.sample import frozen_video  # noqa: E402
from pose.quality import detection_rates, hand_side_errors, switch_excess  # noqa: E402
from pose.result import load_pose  # noqa: E402
from pose.tracking import select_people  # noqa: E402


def run(video: Path, out: Path, mode: str, raw: bool) -> tuple[dict, object, dict]:
    pipe = Pipeline.from_options(Options(out=out, mode=mode, raw_keypoints=raw, workers=1, pose_fps=None))
    try:
        doc = pipe.process(VideoJob(video, Path(video.stem))).doc
        counts = dict(pipe.pool.backend.counts)
    finally:
        pipe.close()
    return doc, load_pose(out / f"{video.stem}.pose.npz"), counts


def measure(video: Path, out: Path, mode: str) -> dict:
    row = {}
    for raw in (True, False):
        doc, pose, counts = run(video, out, mode, raw)
        track = select_people(pose.tracks)[0]
        kp = np.asarray(track.keypoints)
        scale = motion.body_scale(kp)
        excess = switch_excess(kp, track.sources, scale)
        key = "raw" if raw else "stable"
        row["rates"] = detection_rates(track.sources, track.present)
        row[f"{key}_switch_max"] = float(excess.max()) if excess.size else 0.0
        row[f"{key}_switch_med"] = float(np.median(excess)) if excess.size else 0.0
        row["switches"] = int(excess.size)
        row[f"{key}_swaps"] = hand_side_errors(kp)
        row["repaired"] = counts.get("hands_swapped", 0) if pose.num_frames else 0
        wins = [w["motion_energy"] for w in doc["windows"]]
        row[f"{key}_energy"] = max(wins) if wins else 0.0
        row[f"{key}_status"] = sorted({w["status"] for w in doc["windows"]})
        seg = doc["segments"][0]["movement"] if doc["segments"] else {}
        row[f"{key}_moved"] = seg.get("body_part")
        ok = motion.reliable(kp, track.scores, pose.width, pose.height)
        row[f"{key}_regions"] = motion.region_energy(kp, ok, pose.times, scale)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="*", default=[str(ROOT.parent / "shared" / "fixtures" / "ma52_demo")])
    ap.add_argument("--seconds", type=float, default=4.0, help="length of the frozen versions")
    ap.add_argument("--out", type=Path, help="keep outputs here (default: a temporary folder)")
    args = ap.parse_args()
    videos = []
    for item in args.inputs:
        p = Path(item)
        videos += sorted(p.glob("*.mp4")) if p.is_dir() else [p]
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for v in videos:
            rows.append((v.stem[:24], "clip", measure(v, out / "clips", "clip")))
            frozen = frozen_video(v, out / f"{v.stem}_frozen.mp4", args.seconds)
            rows.append((v.stem[:24] + " frozen", "long", measure(frozen, out / "frozen", "long")))
    print(f"{'video':32} {'face':>5} {'lhand':>5} {'rhand':>5} {'switch':>6} "
          f"{'jump raw max/med':>17} {'jump stable':>12} {'swaps raw/stab/fixed':>21} "
          f"{'energy raw':>11} {'energy stable':>14}  most moved raw -> stable")
    for name, mode, r in rows:
        rates = r["rates"]
        print(f"{name:32} {rates['face']:5.2f} {rates['left hand']:5.2f} {rates['right hand']:5.2f} "
              f"{r['switches']:6d} {r['raw_switch_max']:8.3f}/{r['raw_switch_med']:.3f} "
              f"{r['stable_switch_max']:6.3f}/{r['stable_switch_med']:.3f} "
              f"{r['raw_swaps']:9d}/{r['stable_swaps']}/{r['repaired']:<4} "
              f"{r['raw_energy']:11.3f} {r['stable_energy']:14.3f}  "
              + (f"{r['raw_moved']} -> {r['stable_moved']}" if mode == "clip" else
                 f"{'/'.join(r['raw_status'])} -> {'/'.join(r['stable_status'])}"))
    print("\nper-region energy over the whole video (torso lengths/s), raw -> stable")
    for name, _, r in rows:
        print(f"{name:32} " + "  ".join(f"{k} {r['raw_regions'][k]:.3f}->{r['stable_regions'][k]:.3f}"
                                         for k in r["raw_regions"]))


if __name__ == "__main__":
    main()
