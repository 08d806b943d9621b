"""Build a training set from your own annotated videos.

    python -m pose.export_skeletons annotations.csv --labels my_labels.tsv --out dataset/ --split train

``annotations.csv`` has one row per annotated micro-action, with the columns
``pose`` (a ``.pose.npz`` written by run_pipeline, relative to the CSV), ``start_s``, ``end_s``,
``label`` (an action code, name or id of the label set) and optionally ``person`` (a person id;
default: the video's subject) and ``clip_id``. The keypoints of those frames are written as the
official MA-52 pickle pair (``<split>_data.pkl`` / ``<split>_label.pkl``, the default) or as a pyskl
pickle (``--format pyskl``), ready for ``python -m recognizer.train``.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from recognizer.labels import LabelSet, ma52_labels

from .result import load_pose
from .skeleton_io import SkeletonClip, SkeletonFileError, write_ma52_pickles, write_pyskl
from .tracking import select_people


def _label_id(value: str, labels: LabelSet, where: str) -> int:
    value = value.strip()
    for a in labels.actions:
        if value in (a.code, a.name):
            return a.id
    if value.isdigit() and int(value) < len(labels):
        return int(value)
    raise SkeletonFileError(f"{where}: label {value!r} is not in the label set {labels.name!r}")


def clips_from_annotations(csv_path: str | Path, labels: LabelSet) -> list[SkeletonClip]:
    csv_path = Path(csv_path)
    try:
        rows = list(csv.DictReader(csv_path.open(encoding="utf-8", newline="")))
    except OSError as e:
        raise SkeletonFileError(f"{csv_path}: cannot read ({e.strerror or e})") from None
    need = {"pose", "start_s", "end_s", "label"}
    if not rows or not need <= set(rows[0]):
        raise SkeletonFileError(f"{csv_path}: needs the columns {sorted(need)}")
    cache, clips = {}, []
    for n, row in enumerate(rows, start=2):
        where = f"{csv_path}:{n}"
        pose_path = (csv_path.parent / row["pose"]).resolve()
        if pose_path not in cache:
            try:
                cache[pose_path] = load_pose(pose_path)
            except (OSError, ValueError, KeyError) as e:
                raise SkeletonFileError(f"{where}: cannot read pose file {row['pose']} ({e})") from None
        pose = cache[pose_path]
        person = (row.get("person") or "subject").strip() or "subject"
        people = select_people(pose.tracks, person)
        if not people:
            raise SkeletonFileError(f"{where}: nobody was found in {row['pose']}")
        try:
            start, end = float(row["start_s"]), float(row["end_s"])
        except ValueError:
            raise SkeletonFileError(f"{where}: start_s/end_s must be numbers") from None
        a, b = np.searchsorted(pose.times, start), np.searchsorted(pose.times, end)
        if b - a < 2:
            raise SkeletonFileError(f"{where}: {start}-{end} s holds fewer than 2 frames of {row['pose']}")
        track = people[0]
        clip_id = row.get("clip_id") or f"{Path(row['pose']).name.replace('.pose.npz', '')}_{start:.2f}_{end:.2f}"
        clips.append(SkeletonClip(clip_id, track.keypoints[a:b].copy(), track.scores[a:b].copy(),
                                  _label_id(row["label"], labels, where), (pose.height, pose.width)))
    return clips


def main(argv=None) -> int:
    from rich.console import Console

    ap = argparse.ArgumentParser(prog="python -m pose.export_skeletons", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("annotations", help="CSV: pose,start_s,end_s,label[,person,clip_id]")
    ap.add_argument("--labels", help="label set TSV (default: MA-52)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--split", default="train", help="split name (file names / pyskl split)")
    ap.add_argument("--format", choices=["ma52", "pyskl"], default="ma52")
    args = ap.parse_args(argv)
    console = Console(stderr=True)
    try:
        labels = LabelSet.from_tsv(args.labels, name=Path(args.labels).stem) if args.labels else ma52_labels()
        clips = clips_from_annotations(args.annotations, labels)
        if args.format == "ma52":
            paths = write_ma52_pickles(clips, args.out, args.split)
        else:
            paths = (write_pyskl(clips, args.out / f"{args.split}.pkl", args.split),)
    except (SkeletonFileError, ValueError, OSError) as e:
        console.print(f"[red]error:[/red] {' '.join(str(e).split())}", highlight=False, soft_wrap=True)
        return 2
    console.print(f"{len(clips)} clips -> {', '.join(str(p) for p in paths)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
