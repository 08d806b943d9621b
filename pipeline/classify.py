"""Classify skeletons you already have (no video, no pose estimation).

    microaction-classify clip.npy --checkpoint joint.pt [--bone-checkpoint bone.pt]
    microaction-classify test_data.pkl --checkpoint joint.pt --clip test0001
    microaction-classify interview.pose.npz --checkpoint joint.pt --start 12.5 --end 14.5
    microaction-classify interview.pose.npz --start 12.5 --end 14.5    # weight-free only

Input: an ``.npy`` / ``.npz`` with keypoints [L, 44, 2] in pixels (44-joint MA-52 layout), an
official MA-52 / pyskl pickle (``--clip`` picks a clip by id or index; default: the first), or a
pipeline pose cache ``NAME.pose.npz`` (``--person``: subject by default, or an id; ``--start`` /
``--end`` in seconds: default the whole video; the stabilised keypoints the pipeline uses).
Prints the weight-free actions (``recognizer.kinematics``, with their evidence; the same recognizer as
the pipeline's) and, with a checkpoint, MMN's top-5 actions with their body part, as tables. Pose caches
carry their frame times and picture size; for other files ``--fps`` (default 30) and ``--size``
(default: the pickle's image shape, else the keypoints' extent) stand in.
"""
from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from common.cli import program_name, user_error_exit
from definitions.skeleton_io import SkeletonClip, SkeletonFileError, read_skeleton_file


def _pick(clips, which: str | None):
    if not clips:
        raise SkeletonFileError("the file holds no clips")
    if which is None:
        return clips[0]
    for c in clips:
        if c.clip_id == which:
            return c
    if which.isdigit() and int(which) < len(clips):
        return clips[int(which)]
    raise SkeletonFileError(f"no clip {which!r} in the file ({len(clips)} clips, e.g. {clips[0].clip_id!r})")


def from_pose_cache(path, person: str = "subject", start: float | None = None, end: float | None = None) -> tuple:
    """(clip, frame times [T]): one person's keypoints over [start, end) seconds of a pipeline pose cache."""
    import numpy as np

    from pose.result import load_pose
    from pose.tracking import select_people

    try:
        pose = load_pose(path)
    except (OSError, ValueError) as e:
        raise SkeletonFileError(f"{path}: cannot read the pose cache ({' '.join(str(e).split())})") from None
    people = select_people(pose.tracks, person if person in ("subject", "all") else int(person))
    if not people:
        raise SkeletonFileError(f"{path}: nobody was found in this video")
    t = pose.times
    a = 0 if start is None else int(np.searchsorted(t, start - 1e-9))
    b = len(t) if end is None else int(np.searchsorted(t, end - 1e-9))
    if b - a < 2:
        raise SkeletonFileError(f"{path}: {start}-{end} s holds fewer than 2 frames (video: {t[0]:.2f}-{t[-1]:.2f} s)")
    track = people[0]
    clip = SkeletonClip(f"{path.name.replace('.pose.npz', '')} person {track.id} {t[a]:.2f}-{t[b - 1]:.2f} s",
                        np.asarray(track.keypoints[a:b]), np.asarray(track.scores[a:b]),
                        img_shape=(pose.height, pose.width))
    return clip, np.asarray(t[a:b], np.float64)


def picture_size(clip: SkeletonClip, size: str | None) -> tuple[int, int]:
    """(width, height): ``--size WxH``, else the clip's image shape, else the keypoints' extent."""
    import numpy as np

    if size:
        try:
            w, h = (int(v) for v in size.lower().split("x"))
        except ValueError:
            raise SkeletonFileError(f"--size must be WIDTHxHEIGHT, e.g. 1920x1080; got {size!r}") from None
        return w, h
    if clip.img_shape and min(clip.img_shape) > 0:
        return int(clip.img_shape[1]), int(clip.img_shape[0])
    kp = clip.keypoints[np.isfinite(clip.keypoints).all(-1)]
    return (int(np.ceil(kp[:, 0].max())) + 1, int(np.ceil(kp[:, 1].max())) + 1) if len(kp) else (1, 1)


def weight_free_table(clip: SkeletonClip, times, size: tuple[int, int]) -> Table:
    """The weight-free actions of a clip as a table (code, name, times, score, the key evidence)."""
    import numpy as np

    from recognizer.kinematics import recognize

    scores = clip.scores if clip.scores is not None else np.full(clip.keypoints.shape[:2], 0.9, np.float32)
    found = recognize(clip.keypoints, scores, times, size)
    table = Table(title=f"weight-free actions ({len(found)}; no model weights: measured from the keypoints)")
    for col in ("code", "action", "body part", "start s", "end s", "score", "evidence"):
        table.add_column(col)
    for a in sorted(found, key=lambda i: i.start_s):
        rec = a.record()
        ev = ", ".join(f"{k} {v}" for k, v in a.evidence.items() if k in (
            "angle", "amplitude_deg", "swings", "rate_hz", "hold_s", "hand", "target", "contact_s", "covering"))
        table.add_row(a.code, rec["name"], rec["body_name"], f"{a.start_s:.2f}", f"{a.end_s:.2f}", f"{a.score:.2f}",
                      escape(ev))
    return table


def main(argv: list[str] | None = None) -> int:
    prog = program_name("microaction-classify", "pipeline.classify")  # usage and examples as the command was started
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.replace("microaction-classify", prog),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("skeleton", help=".npy/.npz [L, 44, 2], an MA-52/pyskl .pkl, or a pipeline NAME.pose.npz")
    ap.add_argument("--checkpoint", help="joint-stream MMN checkpoint (without one: the weight-free actions only)")
    ap.add_argument("--bone-checkpoint", help="bone-stream checkpoint (two-stream fusion)")
    ap.add_argument("--clip", help="clip id or index inside a pickle (default: the first)")
    ap.add_argument("--person", default="subject", help="pose cache: subject (default) or a person id")
    ap.add_argument("--start", type=float, help="pose cache: from this second (default: the start)")
    ap.add_argument("--end", type=float, help="pose cache: to this second (default: the end)")
    ap.add_argument("--fps", type=float, default=30.0, help=".npy/.pkl: frames per second (default 30)")
    ap.add_argument("--size", help=".npy/.pkl: the picture's WIDTHxHEIGHT (default: the pickle's, else the keypoints' extent)")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"],
                    help="MMN arithmetic (default fp32; bf16/fp16 on request)")
    args = ap.parse_args(argv)
    console = Console()
    if args.person not in ("subject",) and not args.person.isdigit():
        ap.error(f"--person must be subject or a person id; got {args.person!r}")
    if not args.fps > 0:
        ap.error(f"--fps must be above 0; got {args.fps}")
    try:
        if args.skeleton.endswith(".pose.npz"):
            from pathlib import Path

            clip, times = from_pose_cache(Path(args.skeleton), args.person, args.start, args.end)
        else:
            import numpy as np

            clips = read_skeleton_file(args.skeleton)
            if not clips:
                raise SkeletonFileError(f"{args.skeleton}: holds no clips")
            clip = _pick(clips, args.clip)
            times = np.arange(len(clip.keypoints)) / args.fps
        console.print(weight_free_table(clip, times, picture_size(clip, args.size)))
        if not args.checkpoint:
            console.print("No --checkpoint: the weight-free actions only. For MMN's 52 actions pass the MMN "
                          "authors' MA-52 checkpoint (--checkpoint JOINT.pt [--bone-checkpoint BONE.pt]).")
            return 0
        from recognizer.inference import Recognizer

        recognizer = Recognizer(args.checkpoint, args.bone_checkpoint, device=args.device, precision=args.precision)
        pred = recognizer.predict([clip.keypoints])[0]
    except Exception as e:  # a user error on one line; a bug keeps its traceback
        return user_error_exit(console, e)
    table = Table(title=f"{clip.clip_id}  ({clip.keypoints.shape[0]} frames, body part: {pred.body_name})")
    for col in ("rank", "id", "code", "action", "body part", "probability"):
        table.add_column(col)
    for rank, p in enumerate(pred.top5, 1):
        table.add_row(str(rank), str(p["id"]), p["code"], p["name"],
                      recognizer.labels[p["id"]].body_name, f"{p['probability']:.3f}")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
