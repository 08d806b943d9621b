"""Evaluate MMN checkpoints on skeleton data with the MA-52 benchmark's metrics.

    microaction-evaluate val_data.pkl --checkpoint joint.pt --bone-checkpoint bone.pt --out eval/

Prints top-1/top-5, body top-1, F1 macro/micro at action and body level and F1_mean (two-stream:
logits averaged 0.5 / 0.5), and writes into ``--out``: ``metrics.json``, ``per_class.csv``,
``confusion.png`` and the test-server ``prediction.csv`` / ``.zip`` (``recognizer.submission``; for
unlabelled test data the only output). The checkpoints run as the pipeline runs them
(``Recognizer.logits``: the same preprocessing, forward path and fusion).
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

from common.cli import program_name, user_error_exit
from common.fileio import ensure_writable_dir, write_json_atomic, write_text_atomic
from definitions.labels import load_labels
from definitions.skeleton_io import SkeletonFileError, read_skeleton_file

from .inference import Recognizer
from .metrics import benchmark_metrics, confusion_matrix, per_class_report, save_confusion_png
from .submission import top_k_rows, write_submission


def main(argv=None) -> int:
    from rich.console import Console
    from rich.table import Table

    prog = program_name("microaction-evaluate", "recognizer.evaluate")  # usage and examples as the command was started
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.replace("microaction-evaluate", prog),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", help="skeleton pickle (MA-52 *_data.pkl with its _label.pkl, or pyskl)")
    ap.add_argument("--split", help="pyskl split name")
    ap.add_argument("--checkpoint", required=True, help="joint-stream checkpoint")
    ap.add_argument("--bone-checkpoint", help="bone-stream checkpoint (two-stream fusion)")
    ap.add_argument("--labels", help="label set TSV when the checkpoints do not carry one (default MA-52)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"],
                    help="MMN arithmetic (default fp32; bf16/fp16 on request)")
    args = ap.parse_args(argv)
    console = Console()
    try:
        clips = read_skeleton_file(args.data, split=args.split)
        if not clips:
            raise SkeletonFileError(f"{args.data}: holds no clips")
        recognizer = Recognizer(args.checkpoint, args.bone_checkpoint, device=args.device, precision=args.precision)
        if args.labels:
            recognizer.labels = load_labels(args.labels)
        bad = [c.clip_id for c in clips if c.label is not None and not 0 <= c.label < len(recognizer.labels)]
        if bad:
            raise SkeletonFileError(f"{args.data}: {len(bad)} clips have labels outside the checkpoint's "
                                    f"0..{len(recognizer.labels) - 1} (e.g. {bad[0]!r}); another label set? (--labels)")
        ensure_writable_dir(args.out)  # before all the inference, not after
        logits = recognizer.logits([c.keypoints for c in clips])  # the pipeline's path: preprocessing, fusion
    except Exception as e:  # a user error on one line; a bug keeps its traceback
        return user_error_exit(console, e)
    body_of = np.array([a.body_id for a in recognizer.labels.actions])
    write_submission(args.out, top_k_rows([c.clip_id for c in clips], logits, body_of))
    labels = np.array([-1 if c.label is None else c.label for c in clips])
    if (labels < 0).any():
        console.print(f"{(labels < 0).sum()} clips have no label: wrote {args.out / 'prediction.csv'} only")
        return 0
    m = benchmark_metrics(logits, labels, body_of)
    names = [a.name for a in recognizer.labels.actions]
    write_json_atomic(args.out / "metrics.json", {**m, "clips": len(clips), "checkpoints": recognizer.checkpoints})
    report = per_class_report(logits, labels, names)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(report[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(report)
    write_text_atomic(args.out / "per_class.csv", buf.getvalue())
    cm = confusion_matrix(labels, logits.argmax(1), len(names))
    save_confusion_png(args.out / "confusion.png", cm, [a.code for a in recognizer.labels.actions],
                       f"{Path(args.data).name}: top-1 {m['top1']:.3f}")
    table = Table(title=f"{Path(args.data).name} ({len(clips)} clips)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in m.items():
        table.add_row(k, f"{v:.4f}")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
