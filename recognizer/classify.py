"""Classify skeletons you already have (no video, no pose estimation).

    python -m recognizer.classify clip.npy --checkpoint joint.pt [--bone-checkpoint bone.pt]
    python -m recognizer.classify test_data.pkl --checkpoint joint.pt --clip test0001

Input: an ``.npy`` / ``.npz`` with keypoints [L, 44, 2] in pixels (44-joint MA-52 layout), or an
official MA-52 / pyskl pickle (``--clip`` picks a clip by id or index; default: the first).
Prints the top-5 actions with their body part as a table.
"""
from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from pose.skeleton_io import SkeletonFileError, read_skeleton_file

from .checkpoints import CheckpointError
from .inference import Recognizer


def _pick(clips, which: str | None):
    if which is None:
        return clips[0]
    for c in clips:
        if c.clip_id == which:
            return c
    if which.isdigit() and int(which) < len(clips):
        return clips[int(which)]
    raise SkeletonFileError(f"no clip {which!r} in the file ({len(clips)} clips, e.g. {clips[0].clip_id!r})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m recognizer.classify", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("skeleton", help=".npy/.npz [L, 44, 2] or an MA-52/pyskl .pkl")
    ap.add_argument("--checkpoint", required=True, help="joint-stream MMN checkpoint")
    ap.add_argument("--bone-checkpoint", help="bone-stream checkpoint (two-stream fusion)")
    ap.add_argument("--clip", help="clip id or index inside a pickle (default: the first)")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda")
    args = ap.parse_args(argv)
    console = Console()
    try:
        clip = _pick(read_skeleton_file(args.skeleton), args.clip)
        rec = Recognizer(args.checkpoint, args.bone_checkpoint, device=args.device)
        pred = rec.predict([clip.keypoints])[0]
    except (SkeletonFileError, CheckpointError, ValueError, RuntimeError) as e:
        console.print(f"[red]error:[/red] {e}", highlight=False, soft_wrap=True)
        return 2
    table = Table(title=f"{clip.clip_id}  ({clip.keypoints.shape[0]} frames, body part: {pred.body_name})")
    for col in ("rank", "id", "code", "action", "body part", "probability"):
        table.add_column(col)
    for rank, p in enumerate(pred.top5, 1):
        table.add_row(str(rank), str(p["id"]), p["code"], p["name"],
                      rec.labels[p["id"]].body_name, f"{p['probability']:.3f}")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
