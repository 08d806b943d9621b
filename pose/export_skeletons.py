"""Build a training set from your own annotated videos.

    microaction-export annotations.csv --labels my_labels.tsv --out dataset/ --split train
    microaction-export interview1.eaf interview2.eaf --tier actions --labels my_labels.tsv \\
        --poses results/ --out dataset/ --split train

Annotations come from a CSV or from ELAN files:

* ``annotations.csv``: one row per annotated micro-action, with the columns ``pose`` (a
  ``.pose.npz`` written by the pipeline, relative to the CSV), ``start_s``, ``end_s``, ``label`` (an
  action code, name or id of the label set) and optionally ``person`` (a person id; default: the
  video's subject) and ``clip_id``.
* ``.eaf`` files (ELAN): the annotations of the tier ``--tier``, whose values are labels (code, name
  or id); the pose cache is ``NAME.pose.npz`` for the ELAN file's linked video ``NAME.*`` (or the
  ``.eaf``'s own name), looked for in ``--poses`` (default: beside the ``.eaf``).

Every row is checked (file, line and column in each message): labels in the label set, times inside
the video, a person who is there. The keypoints of those frames (stabilised, as the pipeline uses
them) are written as the official MA-52 pickle pair (``<split>_data.pkl`` / ``<split>_label.pkl``,
the default) or as a pyskl pickle (``--format pyskl``), with the label set as ``labels.tsv`` beside
them, which ``microaction-train`` then uses.
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

import numpy as np

from common.cli import program_name, user_error_exit
from common.fileio import check_writable_dir, write_text_atomic
from common.frames import frame_interval
from definitions.labels import LABELS_FILE, LabelSet, load_labels
from definitions.skeleton_io import SkeletonClip, SkeletonFileError, write_ma52_pickles, write_pyskl

from .result import load_pose
from .tracking import select_people


def _label_id(value: str, labels: LabelSet, where: str) -> int:
    value = value.strip()
    for a in labels.actions:
        if value in (a.code, a.name):
            return a.id
    if value.isdecimal() and int(value) < len(labels):
        return int(value)
    raise SkeletonFileError(f"{where}: label {value!r} is not in the label set {labels.name!r}")


def clips_from_annotations(csv_path: str | Path, labels: LabelSet) -> list[SkeletonClip]:
    csv_path = Path(csv_path)
    try:
        with csv_path.open(encoding="utf-8-sig", newline="") as f:  # a spreadsheet's BOM is no part of "pose"
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as e:
        raise SkeletonFileError(f"{csv_path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    missing = [c for c in ("pose", "start_s", "end_s", "label") if c not in header]
    if missing:
        raise SkeletonFileError(f"{csv_path}:1: missing column(s) {', '.join(missing)} (needs pose, start_s, "
                                "end_s, label; optional person, clip_id)")
    if not rows:
        raise SkeletonFileError(f"{csv_path}: no annotations (only a header line?)")
    cache: dict = {}
    clips: list[tuple[str, SkeletonClip]] = []
    for n, row in enumerate(rows, start=2):
        where = f"{csv_path}:{n}"
        for col in ("pose", "start_s", "end_s", "label"):
            if not (row.get(col) or "").strip():
                raise SkeletonFileError(f"{where}: column {col} is empty")
        try:
            start, end = float(row["start_s"]), float(row["end_s"])
        except ValueError:
            raise SkeletonFileError(f"{where}: columns start_s and end_s must be numbers (seconds)") from None
        clips.append((where, _clip(where, csv_path.parent / row["pose"].strip(), row["pose"].strip(), start, end,
                                   row["label"], row.get("person"), row.get("clip_id"), labels, cache)))
    return _unique(clips)


def clips_from_eaf(eaf_paths: list[Path], tier: str, labels: LabelSet, poses: Path | None) -> list[SkeletonClip]:
    """The annotations of tier ``tier`` of ELAN files as clips (see the module's text)."""
    import pympi

    cache: dict = {}
    clips: list[tuple[str, SkeletonClip]] = []
    for eaf_path in eaf_paths:
        try:
            eaf = pympi.Elan.Eaf(str(eaf_path))
        except Exception as e:  # pympi raises whatever its XML parser does
            raise SkeletonFileError(f"{eaf_path}: not a readable ELAN file ({type(e).__name__})") from None
        if tier not in eaf.get_tier_names():
            raise SkeletonFileError(f"{eaf_path}: no tier {tier!r} (tiers: {', '.join(eaf.get_tier_names())})")
        names = [Path(m.get("MEDIA_URL", "")).stem for m in eaf.get_linked_files()] + [eaf_path.stem]
        folder = poses or eaf_path.parent
        pose_path = next((folder / f"{nm}.pose.npz" for nm in names if nm and (folder / f"{nm}.pose.npz").exists()),
                         None)
        if pose_path is None:
            raise SkeletonFileError(f"{eaf_path}: no pose cache {names[0] or eaf_path.stem}.pose.npz in {folder} "
                                    "(run the pipeline on the video first, or give --poses)")
        for start_ms, end_ms, value, *_ in sorted(eaf.get_annotation_data_for_tier(tier)):
            where = f"{eaf_path}: tier {tier!r} at {start_ms / 1000:.3f} s"
            if not value.strip():
                raise SkeletonFileError(f"{where}: the annotation has no value (a label)")
            clips.append((where, _clip(where, pose_path, pose_path.name, start_ms / 1000, end_ms / 1000, value, None,
                                       None, labels, cache)))
    if not clips:
        raise SkeletonFileError(f"{', '.join(str(p) for p in eaf_paths)}: tier {tier!r} holds no annotations")
    return _unique(clips)


def _unique(clips: list[tuple[str, SkeletonClip]]) -> list[SkeletonClip]:
    """The clips, each id once: the training data pairs keypoints and labels by clip id, so two
    annotations of one person and time span (or one clip_id given twice) would read back as one label."""
    taken: dict[str, str] = {}
    for where, clip in clips:
        if clip.clip_id in taken:
            raise SkeletonFileError(f"{where}: clip {clip.clip_id!r} is annotated already ({taken[clip.clip_id]}): "
                                    "one label per person and time span (or give each its own clip_id)")
        taken[clip.clip_id] = where
    return [clip for _, clip in clips]


def _clip(where: str, pose_path: Path, pose_name: str, start: float, end: float, label: str, person: str | None,
          clip_id: str | None, labels: LabelSet, cache: dict) -> SkeletonClip:
    """One annotated stretch of a pose cache as a clip, every part checked."""
    pose_path = pose_path.resolve()
    if pose_path not in cache:
        try:
            cache[pose_path] = load_pose(pose_path)
        except (OSError, ValueError, KeyError) as e:
            raise SkeletonFileError(f"{where}: cannot read pose file {pose_name} ({' '.join(str(e).split())})") from None
    pose = cache[pose_path]
    label_id = _label_id(label, labels, where)
    person = (person or "subject").strip() or "subject"
    if person not in ("subject",) and not person.isdecimal():
        raise SkeletonFileError(f"{where}: column person must be a person id or empty; got {person!r}")
    try:
        people = select_people(pose.tracks, person if person == "subject" else int(person))
    except ValueError as e:
        raise SkeletonFileError(f"{where}: {e} in {pose_name}") from None
    if not people:
        raise SkeletonFileError(f"{where}: nobody was found in {pose_name}")
    video_end = float(pose.times[-1]) + frame_interval(pose.times, 0.0) if len(pose.times) else 0.0
    if not 0 <= start < end:
        raise SkeletonFileError(f"{where}: start_s {start} must be >= 0 and before end_s {end}")
    if end > video_end + 1e-6:
        raise SkeletonFileError(f"{where}: end_s {end} is past the end of the video of {pose_name} "
                                f"({video_end:.3f} s)")
    a, b = np.searchsorted(pose.times, start), np.searchsorted(pose.times, end)
    if b - a < 2:
        raise SkeletonFileError(f"{where}: {start}-{end} s holds fewer than 2 frames of {pose_name}")
    track = people[0]
    # unique per video, person and exact time span (repr: the shortest text that reads back as the same number)
    cid = (clip_id or "").strip() or f"{pose_name.replace('.pose.npz', '')}_p{track.id}_{start!r}_{end!r}"
    return SkeletonClip(cid, np.asarray(track.keypoints[a:b]).copy(), np.asarray(track.scores[a:b]).copy(),
                        label_id, (pose.height, pose.width))


def write_labels(out: Path, labels: LabelSet) -> Path:
    """``labels.tsv`` beside the exported data; an export with another label set into the same folder
    is refused (train and val must share one)."""
    path = out / LABELS_FILE
    if path.exists():
        try:
            same = load_labels(path).same_as(labels)
        except ValueError:
            same = False
        if not same:
            raise SkeletonFileError(f"{path}: this folder holds data of another label set; export into another "
                                    "--out, or remove the old files")
        return path
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, labels.to_tsv())
    return path


def main(argv=None) -> int:
    from rich.console import Console

    prog = program_name("microaction-export", "pose.export_skeletons")  # usage and examples as the command was started
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.replace("microaction-export", prog),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("annotations", nargs="+", help="a CSV (pose,start_s,end_s,label[,person,clip_id]) or ELAN .eaf files")
    ap.add_argument("--labels", help="label set TSV, or ma52 (default: MA-52)")
    ap.add_argument("--tier", help="ELAN: the tier whose annotations are the labels")
    ap.add_argument("--poses", type=Path, help="ELAN: folder of the pipeline's NAME.pose.npz (default: beside the .eaf)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--split", default="train", help="split name (file names / pyskl split)")
    ap.add_argument("--format", choices=["ma52", "pyskl"], default="ma52")
    args = ap.parse_args(argv)
    console = Console(stderr=True)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", args.split) or args.split in (".", ".."):
        ap.error(f"--split must be a plain name (letters, digits, . _ -); got {args.split!r}")
    paths_in = [Path(p) for p in args.annotations]
    eafs = [p for p in paths_in if p.suffix.lower() == ".eaf"]
    if eafs and len(eafs) != len(paths_in):
        ap.error("give either one CSV or ELAN .eaf files, not both")
    if eafs and not args.tier:
        ap.error("ELAN files need --tier (the tier whose annotations are the labels)")
    if not eafs and len(paths_in) != 1:
        ap.error("give one annotations CSV (or ELAN .eaf files)")
    try:
        check_writable_dir(args.out)  # not made yet: bad inputs below leave nothing behind
        labels = load_labels(args.labels)
        clips = clips_from_eaf(eafs, args.tier, labels, args.poses) if eafs else clips_from_annotations(paths_in[0], labels)
        write_labels(args.out, labels)
        if args.format == "ma52":
            paths = write_ma52_pickles(clips, args.out, args.split)
        else:
            paths = (write_pyskl(clips, args.out / f"{args.split}.pkl", args.split),)
    except Exception as e:  # a user error on one line; a bug keeps its traceback
        return user_error_exit(console, e)
    console.print(f"{len(clips)} clips ({len(labels)} classes, labels in {args.out / LABELS_FILE}) -> "
                  f"{', '.join(str(p) for p in paths)}", highlight=False, markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
