"""Classify skeletons you already have (no video, no pose estimation).

    python -m pipeline.classify clip.npy --checkpoint joint.pt [--bone-checkpoint bone.pt]
    python -m pipeline.classify test_data.pkl --checkpoint joint.pt --clip test0001
    python -m pipeline.classify interview.pose.npz --checkpoint joint.pt --start 12.5 --end 14.5

Input: an ``.npy`` / ``.npz`` with keypoints [L, 44, 2] in pixels (44-joint MA-52 layout), an
official MA-52 / pyskl pickle (``--clip`` picks a clip by id or index; default: the first), or a
pipeline pose cache ``NAME.pose.npz`` (``--person``: subject by default, or an id; ``--start`` /
``--end`` in seconds: default the whole video; the stabilised keypoints the pipeline uses).
Prints the top-5 actions with their body part as a table.
"""
from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from common.cli import print_error
from definitions.skeleton_io import SkeletonClip, SkeletonFileError, read_skeleton_file
from recognizer.checkpoints import CheckpointError
from recognizer.inference import Recognizer


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


def from_pose_cache(path, person: str = "subject", start: float | None = None, end: float | None = None) -> SkeletonClip:
    """One person's keypoints over [start, end) seconds of a pipeline pose cache."""
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
    return SkeletonClip(f"{path.name.replace('.pose.npz', '')} person {track.id} {t[a]:.2f}-{t[b - 1]:.2f} s",
                        np.asarray(track.keypoints[a:b]), np.asarray(track.scores[a:b]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.classify", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("skeleton", help=".npy/.npz [L, 44, 2], an MA-52/pyskl .pkl, or a pipeline NAME.pose.npz")
    ap.add_argument("--checkpoint", required=True, help="joint-stream MMN checkpoint")
    ap.add_argument("--bone-checkpoint", help="bone-stream checkpoint (two-stream fusion)")
    ap.add_argument("--clip", help="clip id or index inside a pickle (default: the first)")
    ap.add_argument("--person", default="subject", help="pose cache: subject (default) or a person id")
    ap.add_argument("--start", type=float, help="pose cache: from this second (default: the start)")
    ap.add_argument("--end", type=float, help="pose cache: to this second (default: the end)")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"],
                    help="MMN arithmetic (default fp32; bf16/fp16 on request)")
    args = ap.parse_args(argv)
    console = Console()
    if args.person not in ("subject",) and not args.person.isdigit():
        ap.error(f"--person must be subject or a person id; got {args.person!r}")
    try:
        if args.skeleton.endswith(".pose.npz"):
            from pathlib import Path

            clip = from_pose_cache(Path(args.skeleton), args.person, args.start, args.end)
        else:
            clips = read_skeleton_file(args.skeleton)
            if not clips:
                raise SkeletonFileError(f"{args.skeleton}: holds no clips")
            clip = _pick(clips, args.clip)
        recognizer = Recognizer(args.checkpoint, args.bone_checkpoint, device=args.device, precision=args.precision)
        pred = recognizer.predict([clip.keypoints])[0]
    except (SkeletonFileError, CheckpointError, ValueError, RuntimeError) as e:
        print_error(console, e)
        return 2
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
