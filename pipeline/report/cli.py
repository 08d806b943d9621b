"""``microaction-report`` (``python -m pipeline.report``): the browser reports of an output folder,
rebuilt from its JSON records (also for runs made before reports existed)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.cli import program_name, terminal_line, visible

from ..failures import error_line
from .batch_pages import batch_entries, write_batch
from .record_files import find_records, report_path
from .video_page import write_video_report


def main(argv: list[str] | None = None) -> int:
    prog = program_name("microaction-report", "pipeline.report")  # usage and example as the command was started
    ap = argparse.ArgumentParser(
        prog=prog,
        description="Build the browser reports of an output folder from its JSON records: NAME.report.html per "
                    "video, index.html and summary.csv for the folder (also for runs made before reports existed).",
        epilog=f"example: {prog} results/ --video-root interviews/")
    ap.add_argument("out", type=Path, help="output folder of microaction-run")
    ap.add_argument("--video-root", type=Path,
                    help="input folder the videos were under, when they have moved since the run")
    ap.add_argument("--no-keyframes", action="store_true", help="leave the segment keyframes out (no decoding)")
    ap.add_argument("--index-only", action="store_true", help="only index.html and summary.csv")
    args = ap.parse_args(argv)
    if not args.out.is_dir():
        _say(f"error: {args.out}: not a folder")
        return 2
    results, unreadable = records = find_records(args.out)
    if not results and not unreadable:
        _say(f"error: {args.out}: no result records (NAME.json from microaction-run) in this folder")
        return 2
    for path, why in unreadable:
        _say(f"warning: {path}: record skipped ({why})")
    failed = len(unreadable)
    if not args.index_only:
        for path, doc in results:
            try:
                write_video_report(path, doc, video_root=args.video_root, with_keyframes=not args.no_keyframes,
                                   out=args.out)
                print(visible(report_path(path)))
            except Exception as e:  # one bad record never stops the others; a bug's traceback is kept
                failed += 1
                _say(f"error: {path}: report not written ({error_line(e, args.out, str(path))})")
    try:
        index, summary = write_batch(args.out, batch_entries(args.out, records=records))
    except Exception as e:  # noqa: BLE001 - a bug of ours or the disk: said in one line, no stale pages left
        why = error_line(e, args.out, "index.html and summary.csv")  # (a bug's traceback in OUT/errors.log)
        _say(f"error: {args.out / 'index.html'} and summary.csv not written ({why}); the old ones are removed")
        return 1
    print(visible(index))
    print(visible(summary))
    return 1 if failed else 0


def _say(message: object) -> None:
    """One line on stderr (names shown safely: ``common.cli.terminal_line``)."""
    print(terminal_line(message), file=sys.stderr)
