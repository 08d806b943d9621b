#!/usr/bin/env python3
"""Whole-pipeline speed against naive pose, scaling with pose workers, and peak memory.

    python benchmarks/bench_pipeline.py [--demo-dir DIR] [--seconds 20] [--workers 1 2 ...]
                                        [--batch-copies 3] [--rounds 3] [--memory-minutes 1 10]
                                        [--json FILE]

1. **Against naive pose** (issue 15's target: at most 0.5x): a ``--seconds`` long video of real footage
   (the demo clips concatenated, repeated), 1080x1296 at 30 fps. *Naive*: every frame decoded at 960 px
   and given to one MediaPipe Holistic graph in this one process. *Pipeline*: ``run_pipeline.py`` at its
   defaults (pose workers = cores, pose on every frame) with two MMN streams (the fixture checkpoint as
   joint and bone), from scratch, timed in the same run. Also the pipeline with one worker, and with
   ``--pose-fps 15``.
2. **Workers**: the three demo clips as one batch with 1, 2, ... workers (up to the cores this process
   may use), each run ``run_pipeline.py`` in a fresh process as a user runs it, in ``--rounds``
   alternated rounds: median seconds and throughput relative to one worker; then the same for a folder
   of ``--batch-copies`` copies of the ``--seconds`` video (the demo clips are so short that starting the
   workers weighs as much as the pose work; a folder of interviews shows the steady throughput).
3. **Memory** (``--memory-minutes``): peak memory of the whole pipeline on generated videos of those
   lengths, each in a fresh process (max RSS, and the sampled peak of anonymous RSS, which leaves out the
   pages of the memory-mapped keypoint files) of the main process; each pose worker holds one chunk at a
   time, whatever the video's length.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def real_footage(demo_dir: Path, seconds: float, out: Path) -> Path:
    """The demo clips concatenated (repeated) to ``seconds``, re-encoded once (H.264, 30 fps)."""
    from pipeline.ffmpeg_tools import ffmpeg_exe

    clips = sorted(demo_dir.resolve().glob("*.mp4"))  # absolute: ffmpeg's concat list is read from `out`'s folder
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{c}'\n" for c in clips * 20))
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i",
                    str(listing), "-t", str(seconds), "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-r", "30",
                    str(out)], check=True)
    return out


def naive_pose(video: Path) -> tuple[float, int]:
    """Seconds for every frame through one MediaPipe Holistic graph at 960 px, decoding included."""
    import mediapipe as mp

    from pipeline.video_decode import iter_frames
    from pipeline.video_probe import probe

    info = probe(video)
    n = 0
    with mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                                        refine_face_landmarks=True) as graph:
        t = time.perf_counter()
        for frame in iter_frames(video, info, max_side=960):
            graph.process(frame.image)
            n += 1
        return time.perf_counter() - t, n


def pipeline_args(inputs: list[Path], out: Path, ckpt: str | None, *extra: str) -> list[str]:
    """``run_pipeline.py``'s arguments for a benchmark run (long mode on the CPU, ``ckpt`` as both streams)."""
    args = [*map(str, inputs), "--out", str(out), "--device", "cpu", "--mode", "long", *extra]
    return args + (["--checkpoint", ckpt, "--bone-checkpoint", ckpt] if ckpt else [])


def pipeline_seconds(inputs: list[Path], out: Path, ckpt: str | None, *extra: str) -> tuple[float, list[dict]]:
    import run_pipeline

    t = time.perf_counter()
    code = run_pipeline.main(pipeline_args(inputs, out, ckpt, *extra))
    took = time.perf_counter() - t
    if code != 0:
        raise RuntimeError(f"pipeline exit code {code}")
    return took, [json.loads(p.read_text()) for p in sorted(out.rglob("*.json"))]


def cli_seconds(inputs: list[Path], out: Path, ckpt: str | None, *extra: str) -> float:
    """Seconds for ``run_pipeline.py`` in a fresh process, as a user runs it (imports and model loading
    included, in the main process and in each pose worker)."""
    t = time.perf_counter()
    res = subprocess.run([sys.executable, str(ROOT / "run_pipeline.py"), *pipeline_args(inputs, out, ckpt, *extra)],
                         capture_output=True, text=True)
    took = time.perf_counter() - t
    if res.returncode != 0:
        raise RuntimeError(f"pipeline exit code {res.returncode}: {res.stderr[-1000:]}")
    return took


def worker_scaling(inputs: list[Path], out: Path, ckpt: str | None, counts: list[int], rounds: int = 1) -> list[dict]:
    """The command line on ``inputs`` with each number of workers, each run a fresh process from scratch,
    ``rounds`` rounds with the counts alternated (this machine's speed drifts): the median seconds and
    the throughput against the first count."""
    import statistics

    took: dict[int, list[float]] = {n: [] for n in counts}
    for r in range(rounds):
        for n in counts:
            target = out.with_name(f"{out.name}{n}_{r}")
            took[n].append(cli_seconds(inputs, target, ckpt, "--workers", str(n)))
            shutil.rmtree(target, ignore_errors=True)
    rows, base = [], statistics.median(took[counts[0]])
    for n in counts:
        med = statistics.median(took[n])
        rows.append({"workers": n, "seconds": med, "runs": took[n], "throughput_vs_1": base / med})
        print(f"  workers {n}: {med:6.1f} s (median of {rounds}: {', '.join(f'{x:.1f}' for x in took[n])})"
              f"  throughput {base / med:.2f}x")
    return rows


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
    ap.add_argument("--demo-dir", type=Path, default=ROOT.parent / "shared" / "fixtures" / "ma52_demo")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--workers", type=int, nargs="*", help="worker counts to compare (default 1 .. cores)")
    ap.add_argument("--checkpoint", help="MMN checkpoint used for both streams (default: the repo's fixture)")
    ap.add_argument("--batch-copies", type=int, default=3,
                    help="also a batch of this many copies of the --seconds video (0: not)")
    ap.add_argument("--rounds", type=int, default=3, help="alternated rounds of the worker comparisons (median)")
    ap.add_argument("--memory-minutes", type=float, nargs="*", default=[])
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    from pipeline.posework import DEFAULT_POSE_FPS, default_workers

    ckpt = args.checkpoint or str(ROOT / "tests" / "fixtures" / "mmn_reference" / "mmn_ma52_random.pt")
    work = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    cores = default_workers()
    figures: dict = {"cores": cores}

    video = real_footage(args.demo_dir, args.seconds, work / "real_footage.mp4")
    naive, frames = naive_pose(video)
    best, docs = pipeline_seconds([video], work / "default", ckpt)
    one, _ = pipeline_seconds([video], work / "one", ckpt, "--workers", "1", "--pose-fps", "all")
    fast, _ = pipeline_seconds([video], work / "fps15", ckpt, "--pose-fps", "15")
    dur = docs[0]["video"]["duration_s"]
    figures["against_naive"] = {"video_s": dur, "frames": frames, "naive_s": naive, "pipeline_default_s": best,
                                "pipeline_1_worker_every_frame_s": one, "pipeline_pose_fps_15_s": fast,
                                "ratio_default": best / naive, "ratio_1_worker_every_frame": one / naive,
                                "ratio_pose_fps_15": fast / naive, "timing": docs[0]["timing"]}
    rate = f"pose {DEFAULT_POSE_FPS:g} fps" if DEFAULT_POSE_FPS else "pose on every frame"
    print(f"{video.name}: {dur:.1f} s, {frames} frames, {cores} cores")
    print(f"  naive pose (every frame, one Holistic graph, 960 px): {naive:6.1f} s  RTF {naive / dur:.2f}")
    print(f"  pipeline, defaults (workers {cores}, {rate}, 2 MMN streams): {best:6.1f} s  RTF {best / dur:.2f}"
          f"  = {best / naive:.2f}x naive (target <= 0.5)")
    print(f"  pipeline, 1 worker, every frame:                 {one:6.1f} s  RTF {one / dur:.2f}  = {one / naive:.2f}x naive")
    print(f"  pipeline, workers {cores}, --pose-fps 15:            {fast:6.1f} s  RTF {fast / dur:.2f}  = {fast / naive:.2f}x naive")
    print(f"  stages (defaults): {docs[0]['timing']}")

    clips = sorted(args.demo_dir.glob("*.mp4"))
    counts = args.workers or list(range(1, cores + 1))
    print(f"\nbatch of {len(clips)} demo clips:")
    figures["batch"] = worker_scaling(clips, work / "batch", ckpt, counts, args.rounds)
    if args.batch_copies:
        folder = work / "interviews"
        folder.mkdir()
        for k in range(args.batch_copies):  # a folder of interviews: copies of the real-footage video
            shutil.copyfile(video, folder / f"interview_{k + 1}.mp4")
        print(f"\nbatch of {args.batch_copies} videos of {dur:.0f} s (a folder of interviews):")
        figures["batch_long"] = worker_scaling([folder], work / "long", ckpt, counts, args.rounds)

    for m in args.memory_minutes:
        from pipeline.sample import make_sample_video

        v = make_sample_video(work / f"generated_{m:g}min.mp4", seconds=60 * m)
        t = time.perf_counter()
        rss, anon = peak_memory(v, ckpt)
        figures.setdefault("memory", []).append({"minutes": m, "peak_rss_mib": rss, "peak_anon_rss_mib": anon})
        print(f"{v.name}: peak RSS {rss:.0f} MiB, peak anonymous RSS {anon:.0f} MiB "
              f"(whole pipeline, fresh process, {time.perf_counter() - t:.0f} s)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
