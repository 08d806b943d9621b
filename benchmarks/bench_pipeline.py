#!/usr/bin/env python3
"""The pipeline's per-stage time and real-time factor, its cost over pose estimation alone, and peak
memory for a short versus a long video.

    python benchmarks/bench_pipeline.py [--demo-dir DIR] [--minutes 1 10] [--checkpoint CKPT] [--skip-memory]

For each video: decoding alone; pose alone (decode + MediaPipe, the unavoidable cost); then the
whole pipeline (decode, pose, preprocessing + MMN, exports) from scratch, with its stages' seconds,
the real-time factor (processing time / video duration; < 1 is faster than real time) and the ratio
whole pipeline / pose alone (target <= 1.15). Long videos are generated here (the animated sample).
Stage columns: preprocessing and MMN seconds wherever they ran (in long mode mostly in a background
thread while pose estimation goes on) and what was left after pose (MMN + segments), exports.
Peak memory (max RSS, and the sampled peak of anonymous RSS, which leaves out the pages of the
memory-mapped keypoint files) is measured in a fresh process per generated video.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def stage_times(video: Path, checkpoint: str | None, out: Path) -> dict:
    from pipeline.run import Options, Pipeline, VideoJob
    from pipeline.video import iter_frames, probe
    from pose.estimate import estimate
    from pose.mediapipe_backend import MediaPipeBackend

    info = probe(video)
    t = time.perf_counter()
    n = sum(1 for _ in iter_frames(video, info, max_side=960))
    decode = time.perf_counter() - t
    with MediaPipeBackend() as backend:
        t = time.perf_counter()
        estimate(iter_frames(video, info, max_side=backend.max_side), info.width, info.height, info.fps, backend)
        pose_alone = time.perf_counter() - t
    opts = Options(out=out, checkpoint=Path(checkpoint) if checkpoint else None,
                   bone_checkpoint=Path(checkpoint) if checkpoint else None, device="cpu")
    pipe = Pipeline.from_options(opts)
    t = time.perf_counter()
    outcome = pipe.process(VideoJob(video, Path(video.stem)))
    total = time.perf_counter() - t
    pipe.close()
    tm = outcome.doc["timing"]
    return {"video": video.name, "frames": n, "duration_s": info.duration, "decode_s": decode,
            "pose_alone_s": pose_alone, "pipeline_s": total, "pose_in_pipeline_s": tm["pose_s"],
            "preprocess_s": tm.get("preprocess_s", 0.0), "mmn_s": tm.get("mmn_s", 0.0),
            "mmn_and_segments_s": tm["analysis_s"], "export_s": tm["export_s"],
            "windows": len(outcome.doc["windows"]), "rtf": total / info.duration, "ratio": total / pose_alone}


_MEASURE = """
import resource, sys, threading, time
sys.path.insert(0, {root!r})
peak_anon = [0]

def sample():  # anonymous memory (heap, not file-backed pages such as the on-disk keypoints)
    while True:
        for line in open("/proc/self/status"):
            if line.startswith("RssAnon:"):
                peak_anon[0] = max(peak_anon[0], int(line.split()[1]))
        time.sleep(0.05)

threading.Thread(target=sample, daemon=True).start()
import run_pipeline
ckpt = {ckpt!r}
args = [{video!r}, "--out", {out!r}, "--device", "cpu"] + (["--checkpoint", ckpt, "--bone-checkpoint", ckpt] if ckpt else [])
run_pipeline.main(args)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, peak_anon[0])
"""


def peak_memory(video: Path, checkpoint: str | None) -> tuple[float, float]:
    """(max RSS, sampled peak of anonymous RSS) in MiB of a fresh process running the whole pipeline
    on ``video``. RSS also counts the pages of memory-mapped files (the on-disk keypoints) that are in
    memory at the time, which the system can drop whenever it needs the memory; anonymous RSS cannot."""
    with tempfile.TemporaryDirectory() as tmp:
        code = _MEASURE.format(root=str(ROOT), video=str(video), out=tmp, ckpt=checkpoint or "")
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if res.returncode not in (0, 1):
        raise RuntimeError(res.stderr[-2000:])
    rss, anon = res.stdout.strip().splitlines()[-1].split()
    return int(rss) / 1024, int(anon) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo-dir", default=str(ROOT.parent / "shared" / "fixtures" / "ma52_demo"))
    ap.add_argument("--minutes", type=float, nargs="*", default=[1, 10])
    ap.add_argument("--checkpoint", help="MMN checkpoint used for both streams (default: the shared fixture)")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--memory-only", action="store_true", help="only the peak memory of the generated videos")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    ckpt = args.checkpoint or str(ROOT.parent / "shared" / "fixtures" / "mmn_reference" / "mmn_ma52_random.pt")
    if not Path(ckpt).exists():
        ckpt = None
    from pipeline.sample import make_sample_video

    work = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    videos = sorted(Path(args.demo_dir).glob("*.mp4"))
    for m in args.minutes:
        videos.append(make_sample_video(work / f"generated_{m:g}min.mp4", seconds=60 * m))
    if args.memory_only:
        for v in videos[-len(args.minutes):] if args.minutes else []:
            t = time.perf_counter()
            rss, anon = peak_memory(v, ckpt)
            print(f"{v.name}: peak RSS {rss:.0f} MiB, peak anonymous RSS {anon:.0f} MiB "
                  f"(whole pipeline, fresh process, {time.perf_counter() - t:.0f} s)", flush=True)
        return
    rows = []
    for v in videos:
        row = stage_times(v, ckpt, work / "out")
        if not args.skip_memory and v.name.startswith("generated"):
            row["peak_rss_mib"], row["peak_anon_rss_mib"] = peak_memory(v, ckpt)
        rows.append(row)
        print(json.dumps({k: round(x, 3) if isinstance(x, float) else x for k, x in row.items()}), flush=True)
    print()
    print(f"{'video':38} {'frames':>6} {'dur s':>6} {'decode':>7} {'pose':>7} {'pipeline':>8} {'prep':>6} "
          f"{'MMN':>6} {'after':>6} "
          f"{'export':>7} {'RTF':>5} {'ratio':>6} {'RSS MiB':>8} {'anon MiB':>8}")
    for r in rows:
        print(f"{r['video'][:38]:38} {r['frames']:6d} {r['duration_s']:6.1f} {r['decode_s']:7.2f} "
              f"{r['pose_alone_s']:7.2f} {r['pipeline_s']:8.2f} {r['preprocess_s']:6.2f} {r['mmn_s']:6.2f} "
              f"{r['mmn_and_segments_s']:6.2f} {r['export_s']:7.2f} "
              f"{r['rtf']:5.2f} {r['ratio']:6.3f} {r.get('peak_rss_mib', float('nan')):8.0f} "
              f"{r.get('peak_anon_rss_mib', float('nan')):8.0f}")
    print(f"\nMMN: {'two streams (the fixture checkpoint twice)' if ckpt else 'none'}; "
          f"ratio = whole pipeline / (decode + pose alone); RTF = processing time / video duration;\n"
          f"prep, MMN = preprocessing and MMN time wherever it ran (in long mode mostly in a background thread "
          f"during pose); after = MMN + segments after pose; RSS includes the on-disk keypoints' pages in memory, "
          f"anon does not")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
