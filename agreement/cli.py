"""``microaction-agree REFERENCE OTHER [--out DIR]``: how well two codings of the same videos agree.

REFERENCE and OTHER are each a file or a folder of this tool's records (``NAME.json``, or its CSV),
ELAN files (``.eaf``; ``--reference-tier`` / ``--other-tier`` pick tiers by name or pattern) or CSVs of
start/end/label rows; codings are paired by video name. REFERENCE is the truth: precision = matched /
OTHER's events, recall = matched / REFERENCE's events. The table goes to the terminal; ``--out DIR``
writes ``agreement.csv`` and ``agreement.html``.
"""
from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path

from common.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, print_error, program_name, user_error_exit
from common.fileio import check_writable_dir, write_text_atomic

from .compare import ALL, ANY, COLUMNS, LEVELS, Comparison, compare, pair_videos
from .measures import IOU_THRESHOLDS
from .sources import ReadOptions, Side, read_side
from .vocabulary import Vocabulary, read_mapping

LEVEL_TITLES = {"action": "Action level", "body_part": "Body-part level"}
CSV_NAME, HTML_NAME = "agreement.csv", "agreement.html"
MAX_VIDEO_LINES = 10  # more videos: one line for them all


def parser() -> argparse.ArgumentParser:
    prog = program_name("microaction-agree", "agreement", "agreement.cli")  # as the command was started
    ap = argparse.ArgumentParser(
        prog=prog, description=__doc__.replace("microaction-agree", prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               f"  {prog} coder1/ coder2/ --reference-tier actions --other-tier actions --out rel/\n"
               f"  {prog} coder1/ results/ --reference-tier actions --out tool_vs_coder1/\n"
               f"  {prog} both.eaf both.eaf --reference-tier 'coder A' --other-tier 'coder B'")
    ap.add_argument("reference", type=Path, help="the truth: a file or a folder (records, ELAN files, CSVs)")
    ap.add_argument("other", type=Path, help="compared with it: a file or a folder")
    ap.add_argument("--out", type=Path, help="write agreement.csv and agreement.html into this folder")
    ap.add_argument("--reference-tier", help="ELAN tier of REFERENCE: a name or a pattern ('coder*': a coder per tier)")
    ap.add_argument("--other-tier", help="ELAN tier of OTHER: a name or a pattern")
    ap.add_argument("--labels", help="label set: ma52 (default) or a labels.tsv, as in training")
    ap.add_argument("--map", type=Path, help="mapping file (columns from, to): your labels -> the label set's "
                                             "codes, names or body parts; to '-' leaves a label out")
    ap.add_argument("--fps", type=float, default=25.0,
                    help="frame rate of the frame-level kappa and alpha (default 25)")
    ap.add_argument("--person", default="subject", help="this tool's records: whose segments (subject, a person "
                                                        "id, or all; default subject)")
    ap.add_argument("--time-unit", choices=["s", "ms"], help="CSV columns start/end: their unit")
    return ap


def _check_args(ap: argparse.ArgumentParser, args) -> None:
    if not (math.isfinite(args.fps) and args.fps > 0):
        ap.error(f"--fps must be a positive number of frames a second; got {args.fps}")
    if args.person not in ("subject", "all") and not args.person.isdigit():
        ap.error(f"--person must be subject, all or a person id; got {args.person!r}")
    for name in ("reference", "other"):
        if not getattr(args, name).exists():
            ap.error(f"{name.upper()} {getattr(args, name)}: no such file or folder")


def side_names(reference: Path, other: Path) -> tuple[str, str]:
    """What the two sides are called in tables: their names, or the paths as given when the names are equal."""
    a, b = reference.name or str(reference), other.name or str(other)
    return (str(reference), str(other)) if a == b and reference != other else (a, b)


def main(argv: list[str] | None = None) -> int:
    ap = parser()
    args = ap.parse_args(argv)
    _check_args(ap, args)
    try:
        return run(args)
    except KeyboardInterrupt:  # the files are written atomically: none is left half-written
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    # piped into a file: wide enough for the tables (a terminal keeps its own width)
    console, err = Console(width=None if sys.stdout.isatty() else 160), Console(stderr=True)
    try:
        from definitions.labels import load_labels

        if args.out is not None:
            check_writable_dir(args.out)
        labels = load_labels(args.labels)
        vocabulary = Vocabulary(labels, read_mapping(args.map) if args.map else [])
    except Exception as e:  # a user error on one line; a bug keeps its traceback
        return user_error_exit(err, e)
    names = side_names(args.reference, args.other)
    sides = [read_side(path, name, ReadOptions(vocabulary, tier, option, args.person, args.time_unit), args.out)
             for path, name, tier, option in ((args.reference, names[0], args.reference_tier, "--reference-tier"),
                                              (args.other, names[1], args.other_tier, "--other-tier"))]
    videos, unmatched, failed = pair_videos(sides[0], sides[1], args.fps)
    result = compare(videos, labels, args.fps)
    result.failed = [msg for side in sides for _, msg in side.failed] + failed
    notes = [n for side in sides for c in side.codings for n in c.notes] + result.notes
    show(console, result, sides, unmatched, notes, args.fps)
    for message in result.failed:
        print_error(err, message)
    if not videos:
        print_error(err, f"no video coded in both {args.reference} and {args.other}: nothing compared")
        return EXIT_USAGE
    if args.out is not None:
        from .page import render_page

        args.out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.out / CSV_NAME, csv_text(result.rows))
        write_text_atomic(args.out / HTML_NAME, render_page(result, sides, unmatched, notes, args.fps, labels,
                                                            args.out))
        console.print(f"{args.out / CSV_NAME}\n{args.out / HTML_NAME}", highlight=False, markup=False)
    return EXIT_FAILED if result.failed else EXIT_OK


# ------------------------------------------------------------------------------------------ output

def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: fmt(v, 3 if k.endswith("_s") else 4) for k, v in r.items()})
    return buf.getvalue()


def pooled_rows(result: Comparison, level: str) -> list[dict]:
    return [r for r in result.rows if r["video"] == ALL and r["level"] == level]


def show(console, result: Comparison, sides: list[Side], unmatched: list[str], notes: list[str], fps: float) -> None:
    """The pooled rows per level and pair of coders; then what was not compared and why."""
    from rich.table import Table
    from rich.text import Text

    t_lo, t_hi = IOU_THRESHOLDS
    console.print(f"{len(result.videos)} videos compared; REFERENCE {sides[0].name} is the truth for precision "
                  f"and recall; kappa and alpha on frames of {1 / fps:.3f} s ({fps:g} fps)", highlight=False,
                  markup=False)
    for level in LEVELS:
        rows = pooled_rows(result, level)
        for pair in dict.fromkeys((r["reference"], r["other"]) for r in rows):
            table = Table(title=Text(f"{LEVEL_TITLES[level]}: {pair[0]} (reference) vs {pair[1]}"),
                          title_justify="left")
            for col in ("category", "n ref", "n other", f"P@{t_lo}", f"R@{t_lo}", f"F1@{t_lo}", f"F1@{t_hi}",
                        "onset med s", "offset med s", "kappa", "alpha"):
                table.add_column(col, justify="left" if col == "category" else "right", no_wrap=col != "category")
            for r in rows:
                if (r["reference"], r["other"]) != pair:
                    continue
                label = r["category"] if r["category"] in (ALL, ANY) or level == "body_part" \
                    else f"{r['category']} {r['name']}"
                cells = [label] + [fmt(r[k], 3 if k.endswith("_s") else 2) for k in (
                    "n_reference", "n_other", f"precision@{t_lo}", f"recall@{t_lo}", f"f1@{t_lo}", f"f1@{t_hi}",
                    "onset_median_s", "offset_median_s", "kappa", "alpha")]
                table.add_row(*map(Text, cells), end_section=_last_category(rows, r, pair))  # Text: never markup
            console.print(table)
    if len(result.videos) <= MAX_VIDEO_LINES:
        for video in result.videos:
            console.print(f"{video.name}: {len(video.pairs)} pair(s) of coders; frames to {video.end_s:.2f} s, "
                          f"{video.end_from}", highlight=False, markup=False)
    else:
        known = sum(v.end_from.startswith("the video") for v in result.videos)
        console.print(f"frames to the video's end for {known} videos, to the last annotation's end for "
                      f"{len(result.videos) - known} (their length is not known); per video: agreement.csv",
                      highlight=False, markup=False)
    for line in unmatched:
        console.print(f"not compared: {line}", highlight=False, markup=False)
    for line in passed_over(sides):
        console.print(f"passed over: {line}", highlight=False, markup=False)
    for line in dict.fromkeys(notes):
        console.print(f"note: {line}", highlight=False, markup=False)


def passed_over(sides: list[Side], shown: int = 3) -> list[str]:
    """Files passed over, a line per reason with its first files (this tool's CSV and ELAN exports
    beside every record would otherwise fill the screen)."""
    by_reason: dict[str, list[Path]] = {}
    for side in sides:
        for path, why in side.skipped:
            by_reason.setdefault(why, []).append(path)
    return [f"{paths[0]}: {why}" if len(paths) == 1 else
            f"{len(paths)} files: {why} ({', '.join(map(str, paths[:shown]))}{', ...' if len(paths) > shown else ''})"
            for why, paths in by_reason.items()]


def _last_category(rows: list[dict], row: dict, pair: tuple) -> bool:
    same = [r for r in rows if (r["reference"], r["other"]) == pair and r["category"] not in (ALL, ANY)]
    return bool(same) and row is same[-1]


if __name__ == "__main__":
    sys.exit(main())
