#!/usr/bin/env python3
"""Does the frame rate change the answer? The same footage resampled with ffmpeg to 15, 25, 30, 50 and
60 fps, each run through the whole pipeline (MediaPipe included, long mode, no checkpoint).

    python benchmarks/bench_frame_rate.py [VIDEO ...] [--out DIR]
    python benchmarks/bench_frame_rate.py --after-pose [VIDEO ...]

Default input: the MA-52 demo clips in ../shared/fixtures/ma52_demo and a frozen version of the nod
(its first frame repeated for 4 s: nothing moves). Prints, per video and rate, each window's status and
motion energy and the movement episodes (start, end, body part, energy); then the same at the source's own
rate re-encoded with other qualities (``crf`` 14, 23, 28; the rates above are crf 18): how much the pose
model's answer moves when nothing but the encoding changes, the yardstick for the rates' differences
(``--no-repeatability`` leaves it out). ``--after-pose``: MediaPipe runs once per video, at its own rate,
and its output is resampled to each rate as ``tests/test_frame_rate.py`` does (both halves of the frames,
for the rates below the source's): only this project's own steps, on whole videos (default: the
single-person clips of ../shared/fixtures/real_dev); prints each window's status and energy, the movement
episodes, and per rate the largest window-energy difference from 30 fps and whether the episodes match
(where they do not: whether those clear of the episode rules' limits do, ``tests/test_frame_rate.py``
``clear_of_limits``).
``tests/test_frame_rate.py``
checks the part of this that is the project's own (everything after the pose model) on MediaPipe's
output resampled; this one adds MediaPipe's own behaviour at each rate (README "Frame rates").
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.inputs import VideoJob  # noqa: E402
from pipeline.options import Options  # noqa: E402
from pipeline.run import Pipeline  # noqa: E402
from pipeline.sample import frozen_video  # noqa: E402
from pipeline.ffmpeg_tools import ffmpeg_exe  # noqa: E402

RATES = (15, 25, 30, 50, 60)


REENCODE_CRF = (14, 23, 28)


def resampled(src: Path, fps: int | None, out: Path, crf: int = 18) -> Path:
    """``src`` at ``fps`` (None: its own rate) as ffmpeg's fps filter resamples it, encoded at ``crf``."""
    dst = out / (f"{src.stem}_{fps}fps.mp4" if fps else f"{src.stem}_crf{crf}.mp4")
    rate = ["-vf", f"fps={fps}"] if fps else []
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(src), *rate,
                    "-an", "-c:v", "libx264", "-crf", str(crf), str(dst)], check=True)
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("videos", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, help="keep the videos and outputs here (default: a temporary folder)")
    ap.add_argument("--no-repeatability", action="store_true", help="leave out the re-encodes at the source's rate")
    ap.add_argument("--after-pose", action="store_true", help="one pose pass per video, resampled after it")
    args = ap.parse_args()
    if args.after_pose:
        return after_pose(args)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        videos = args.videos
        if not videos:
            demo = ROOT.parent / "shared" / "fixtures" / "ma52_demo"
            videos = sorted(demo.glob("*.mp4"))
            videos.append(frozen_video(demo / "B1_nodding__0019_02_0078.mp4", out / "B1_frozen.mp4", 4.0))
        pipe = Pipeline.from_options(Options(out=out / "results", mode="long", workers=1))
        try:
            for src in videos:
                runs = [(f"{fps:3d} fps", resampled(src, fps, out)) for fps in RATES]
                if not args.no_repeatability:
                    runs += [(f"crf {crf:2d}", resampled(src, None, out, crf)) for crf in REENCODE_CRF]
                for tag, video in runs:
                    doc = pipe.process(VideoJob(video, Path(video.stem))).doc
                    wins = " ".join(f"{w['status'][:2]} {w['motion_energy']:.3f}" for w in doc["windows"])
                    eps = " ".join(f"{s['start_s']:.2f}-{s['end_s']:.2f} {s['movement']['body_part']} "
                                   f"{s['movement']['motion_energy']:.3f}" for s in doc["segments"])
                    print(f"{src.stem[:24]:24} {tag}  windows: {wins:32} episodes: {eps or '-'}", flush=True)
        finally:
            pipe.close()


def after_pose(args) -> None:
    """``--after-pose`` (see the module's text)."""
    from tests.test_frame_rate import answers, one_frame_later, unmatched_clear_episodes  # the tests' own
    from pipeline import motion
    from pose.result import load_pose

    real_dev = ROOT.parent / "shared" / "fixtures" / "real_dev"
    videos = args.videos or [real_dev / f"{n}.mp4" for n in (
        "talking_woman_chest_up_blue", "talking_man_suit_chest_up", "talking_woman_to_camera_window",
        "speaker_standing_hands_together_then_gestures")]
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        pipe = Pipeline.from_options(Options(out=out / "results", mode="long", workers=1))
        try:
            for video in videos:
                pipe.process(VideoJob(Path(video), Path(Path(video).stem)))
                pose = load_pose(out / "results" / f"{Path(video).stem}.pose.npz")
                for phase, p in (("frames 0, 2, ...", pose), ("frames 1, 3, ...", one_frame_later(pose))):
                    base = answers(p, 30)
                    for fps in RATES:
                        got = answers(p, fps)
                        worst = max((abs(e - e0) / e0 for e, e0 in zip(got["energy"], base["energy"])
                                     if e0 >= motion.STILL_THRESHOLD), default=0.0)
                        if [e[2] for e in got["episodes"]] == [e[2] for e in base["episodes"]]:
                            edges = max((max(abs(a - a0), abs(b - b0)) for (a, b, _), (a0, b0, _)
                                         in zip(got["episodes"], base["episodes"])), default=0.0)
                            same = f"same episodes, edges within {edges:.2f} s"
                        else:
                            lost = unmatched_clear_episodes(got, base)
                            same = (f"{len(got['episodes'])} episodes against {len(base['episodes'])}, "
                                    + (f"{len(lost)} clear of the limits unmatched {lost}" if lost
                                       else "those clear of the limits matched"))
                        flips = sum(s != s0 for s, s0 in zip(got["status"], base["status"]))
                        eps = " ".join(f"{a:.2f}-{b:.2f} {part}" for a, b, part in got["episodes"])
                        print(f"{Path(video).stem[:24]:24} {phase} {fps:2d} fps: windows within {worst:4.0%}, "
                              f"{flips} status changes; {same}: {eps or '-'}", flush=True)
        finally:
            pipe.close()


if __name__ == "__main__":
    main()
