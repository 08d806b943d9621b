#!/usr/bin/env python3
"""Find and name micro-actions in interview videos.

examples:
  microaction-run --demo --out demo_out
      make a sample video here and run the whole pipeline on it (offline)
  microaction-run interview.mp4 --out results --checkpoint joint.pt --bone-checkpoint bone.pt
      an interview -> timed segments (JSON, CSV, ELAN) with MMN's two-stream fusion
  microaction-run videos/ --out results --checkpoint joint.pt --resume
      a whole folder (recursive); rerun with --resume to skip finished videos
  microaction-run ma52_test/ --out sub --mode clip --checkpoint joint.pt --submission
      MA-52 test clips -> prediction.csv / prediction.zip for the test server
  microaction-run clip.mp4 --out r --pose alphapose-json --alphapose-json alphapose-results.json
      use keypoints that AlphaPose computed (closest to the released MMN weights' training data)
  microaction-run /shared/videos --out /shared/results --engine ray --ray-address auto --resume
      a video archive on a Ray cluster (paths on a file system every node shares)

exit codes: 0 all videos done, 1 some video failed (each one is named), 2 bad arguments or
configuration (nothing processed), 130 interrupted (finished videos are complete, no partial files).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))


def parse_args(argv=None) -> argparse.Namespace:
    from pipeline.motion import STILL_THRESHOLD
    from pipeline.posework import DEFAULT_POSE_FPS
    from pipeline.segments import DEFAULT_STRIDE_S, DEFAULT_WINDOW_S
    from pose.mediapipe_backend import MAX_PERSONS, MAX_SIDE

    from common.cli import program_name

    prog = program_name("microaction-run", "run_pipeline")  # the examples name the command as it was started
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n", 2)[2].replace("microaction-run", prog),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="*", help="video files, folders (searched recursively) or .txt lists of paths")
    ap.add_argument("--out", required=True, type=Path, help="output folder (mirrors the input tree)")
    ap.add_argument("--demo", action="store_true", help="generate a sample video into OUT/sample/ and process it")
    ap.add_argument("--checkpoint", type=Path, help="MMN joint-stream checkpoint (official or trained here)")
    ap.add_argument("--bone-checkpoint", type=Path, help="MMN bone-stream checkpoint (two-stream fusion)")
    ap.add_argument("--mode", default="auto", choices=["auto", "clip", "long"],
                    help="clip: one prediction per video; long: windows over an interview; "
                         "auto: clip up to 4 s, else long (default)")
    ap.add_argument("--window", type=float, default=DEFAULT_WINDOW_S, help="long mode window, seconds (default 2)")
    ap.add_argument("--stride", type=float, default=DEFAULT_STRIDE_S, help="long mode stride, seconds (default 1.0)")
    ap.add_argument("--still-threshold", type=float, default=STILL_THRESHOLD,
                    help=f"motion energy (torso lengths/s) below which a window is 'still' (default {STILL_THRESHOLD})")
    ap.add_argument("--person", default="subject",
                    help="subject (default: most frames x largest size), all, or a person id")
    ap.add_argument("--pose", default="mediapipe", choices=["mediapipe", "alphapose-json", "alphapose"],
                    help="pose backend (default mediapipe, offline)")
    ap.add_argument("--alphapose-json", type=Path, help="AlphaPose results file, or a folder of <video>.json")
    ap.add_argument("--alphapose-config", type=Path, help="AlphaPose Halpe-136 config (live AlphaPose)")
    ap.add_argument("--alphapose-checkpoint", type=Path, help="AlphaPose pose checkpoint (live AlphaPose)")
    ap.add_argument("--max-side", type=int, default=MAX_SIDE, help="downscale frames to this longest side for pose "
                    "estimation (keypoints stay in original pixels; 0 = full size)")
    ap.add_argument("--max-persons", type=int, default=MAX_PERSONS,
                    help=f"people tracked at once by the MediaPipe backend (default {MAX_PERSONS}; each costs one more pose "
                         "graph per frame; 1 = only the most prominent person)")
    ap.add_argument("--raw-keypoints", action="store_true",
                    help="analyse the pose model's own keypoints instead of stabilised ones (no continuity across "
                         "model switches, no smoothing; see README 'Keypoint stabilisation')")
    ap.add_argument("--workers", type=int, default=None,
                    help="pose worker processes: several videos and several chunks of a long one at once "
                         "(default: the cores this process may use; 1 = pose in this process)")
    ap.add_argument("--pose-fps", default=str(DEFAULT_POSE_FPS or "all"),
                    help=f"run pose on this many frames a second and interpolate the others; 'all' = every "
                         f"frame (default {DEFAULT_POSE_FPS or 'all'}; README 'Speed' says what it costs)")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda (MMN; auto picks CUDA when available)")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"],
                    help="MMN arithmetic (default fp32: the same labels on every device; bf16/fp16 on request, "
                         "faster on GPUs, probabilities may differ slightly)")
    ap.add_argument("--overlay", action="store_true", help="also write <video>.overlay.mp4 with skeleton and labels")
    ap.add_argument("--no-report", action="store_true",
                    help="no browser reports (NAME.report.html per video, index.html and summary.csv in --out; "
                         "`microaction-report OUT` makes them later)")
    ap.add_argument("--submission", action="store_true", help="write OUT/prediction.csv for the MA-52 test server")
    ap.add_argument("--resume", action="store_true", help="skip videos whose outputs are complete")
    ap.add_argument("--engine", choices=["local", "ray"], default="local",
                    help="local (default) or ray: pose chunk tasks on a Ray cluster (pip install -r "
                         "requirements-ray.txt)")
    ap.add_argument("--ray-address", help="Ray cluster to join ('auto': the running one; default: start a "
                    "local instance)")
    args = ap.parse_args(argv)
    if not args.inputs and not args.demo:
        ap.error("give at least one input (or --demo)")
    _check_options(ap, args)
    return args


def _check_options(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Every option checked before any work (exit 2 with one line naming the option)."""
    import math

    from pipeline.motion import SMOOTH_S

    # motion is measured on keypoints smoothed over SMOOTH_S (0.1 s): a window or stride shorter than two
    # of those spans measures the pose model's jitter, not movement, and multiplies the windows (MMN's work)
    shortest = 2 * SMOOTH_S
    for name in ("window", "stride"):
        v = getattr(args, name)
        if not (math.isfinite(v) and v > 0):
            ap.error(f"--{name} must be a positive number of seconds; got {v}")
        if v < shortest:
            ap.error(f"--{name} must be at least {shortest:g} s (two motion-smoothing spans of {SMOOTH_S:g} s: a "
                     f"shorter one measures pose jitter, not movement); got {v:g}")
    if not (math.isfinite(args.still_threshold) and args.still_threshold >= 0):
        ap.error(f"--still-threshold must be a number >= 0; got {args.still_threshold}")
    if args.max_side < 0 or 0 < args.max_side < 64:
        ap.error(f"--max-side must be 0 (full size) or at least 64 pixels; got {args.max_side}")
    if args.max_persons < 1:
        ap.error(f"--max-persons must be at least 1; got {args.max_persons}")
    if args.workers is not None and args.workers < 1:
        ap.error(f"--workers must be at least 1; got {args.workers}")
    if str(args.pose_fps).lower() in ("all", "0", "none"):
        args.pose_fps = None
    else:
        try:
            args.pose_fps = float(args.pose_fps)
        except ValueError:
            args.pose_fps = math.nan
        if not (math.isfinite(args.pose_fps) and args.pose_fps >= 1):
            ap.error(f"--pose-fps must be 'all' or a number of frames a second >= 1; got {args.pose_fps!r}")
    if args.person not in ("subject", "all") and not args.person.isdecimal():
        ap.error(f"--person must be subject, all or a person id (a whole number); got {args.person!r}")
    if args.submission and not (args.checkpoint or args.bone_checkpoint):
        ap.error("--submission needs --checkpoint (the test server scores MMN's actions; without a checkpoint "
                 "there are none to submit)")


def main(argv=None) -> int:
    from pipeline.forkserver import start_worker_server, usable_cores

    if usable_cores() > 1:
        # first of all: the process pose workers are forked from imports MediaPipe beside this process's
        # own imports (~2.5 s), so that workers can begin as soon as there are chunks to hand out (when
        # the run turns out to need none, it stays idle: ~150 MB)
        start_worker_server()
    args = parse_args(argv)
    from rich.console import Console

    from common.cli import EXIT_FAILED, EXIT_USAGE, print_error
    from common.errors import is_user_error
    from pipeline.inputs import check_output_dir, collect_inputs

    console = Console(stderr=True)

    created = not args.out.exists()

    def fail(e: BaseException, what: str | None) -> int:
        """One line; a user error (bad input, option, folder) exits 2, a bug of ours 1 with its traceback
        kept in OUT/errors.log (said where; ``what`` None: ``e``'s message says it already)."""
        from pipeline.failures import error_line

        user = is_user_error(e if what is not None else e.__cause__)
        print_error(console, e if user or what is None else error_line(e, args.out, what))  # on one line
        if created and args.out.is_dir() and not any(args.out.iterdir()):
            args.out.rmdir()  # nothing processed: no empty output folder left behind
        return EXIT_USAGE if user else EXIT_FAILED

    # the inputs first, with nothing heavy imported yet: a bad path is reported at once
    try:
        check_output_dir(args.out)
        inputs = list(args.inputs)
        if args.demo:
            from pipeline.sample import make_sample_video

            console.print("Making the sample video (animated public-domain portrait)...")
            inputs.append(make_sample_video(args.out / "sample" / "astronaut_demo.mp4"))
        jobs = collect_inputs(inputs, exclude=args.out)
    except Exception as e:  # InputError, OutputError; VideoError from making the sample
        return fail(e, "reading the inputs")

    # with worker processes, the first pose chunks are handed out while the models load (not with
    # --resume: the checkpoints tell which videos are complete)
    pose_first = False
    if args.engine == "local" and args.pose == "mediapipe" and not args.resume:
        from pipeline.posework import default_workers, will_use_workers

        pose_first = will_use_workers([job.path for job in jobs], args.workers or default_workers())
    from pipeline.progress import RichReporter, print_summary
    from pipeline.batch import run_batch
    from pipeline.models import ModelsFailed
    from pipeline.options import Options
    from pipeline.run import Pipeline

    opts = Options(out=args.out, mode=args.mode, window_s=args.window, stride_s=args.stride,
                   still_threshold=args.still_threshold, person=args.person, pose=args.pose,
                   alphapose_json=args.alphapose_json, alphapose_config=args.alphapose_config,
                   alphapose_checkpoint=args.alphapose_checkpoint, max_side=args.max_side or None,
                   max_persons=args.max_persons, raw_keypoints=args.raw_keypoints, checkpoint=args.checkpoint, bone_checkpoint=args.bone_checkpoint, device=args.device,
                   precision=args.precision,
                   overlay=args.overlay, report=not args.no_report, submission=args.submission, resume=args.resume,
                   workers=args.workers, pose_fps=args.pose_fps)
    try:
        workers = None
        if args.engine == "ray":
            from pipeline.distributed import RayUnavailable, RayWorkers

            try:
                workers = RayWorkers(args.ray_address)
            except RayUnavailable as e:
                return fail(e, "starting Ray")
        pipeline = Pipeline.from_options(opts, workers=workers, background=pose_first)
    except Exception as e:  # CheckpointError, OptionError (--device cuda without a GPU), or a bug of ours
        return fail(e, "loading the models")
    if not pipeline.has_models:
        from pipeline.export import NO_CHECKPOINT_NOTE

        console.print(f"[yellow]note:[/yellow] {NO_CHECKPOINT_NOTE}", highlight=False, soft_wrap=True)
    try:
        with RichReporter(console, len(jobs)) as reporter:
            summary = run_batch(jobs, pipeline, reporter)
    except ModelsFailed as e:  # a bad checkpoint, found while the first videos' pose began: no video finished
        return fail(e, None)  # its message is one line already (with the traceback's place for a bug)
    finally:
        pipeline.close()
    print_summary(console, summary, opts.out)
    return summary.exit_code


def cli() -> None:
    """The ``microaction-run`` command: ``main`` with native libraries' log lines kept off the terminal."""
    from common.quiet import keep_native_output_off_terminal

    keep_native_output_off_terminal()
    code = main()
    from common.cli import exit_now

    exit_now(code)  # everything is written: no waiting for the interpreter to unload torch


if __name__ == "__main__":
    cli()
