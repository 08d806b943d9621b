"""A batch's pages in the output folder: ``index.html`` (every video with its status, counts, rates and
times per category, and a link to its report) and ``summary.csv`` (``summary.summary_columns``)."""
from __future__ import annotations

import contextlib
from pathlib import Path

from .record_files import find_records, report_path
from .rendering import page_link, report_env, write_page
from .summary import Category, Entry, categories, person_rows, summary_csv


def batch_entries(out: Path, failures: list[tuple[str, str]] = (), records=None) -> list[Entry]:
    """Every record under ``out`` (status done; a video recorded twice, as when the input folders moved
    between runs, counts once, by its newest record), the records that cannot be shown (status
    unreadable, with the reason), then the videos that failed (``(video, message)``). ``records``:
    ``find_records(out)`` when the caller has it."""
    good, bad = records if records is not None else find_records(out)
    newest: dict[str, tuple[Path, dict]] = {}
    for path, doc in good:
        video = doc["video"].get("source") or str(path)  # the video's resolved path
        if video not in newest or path.stat().st_mtime > newest[video][0].stat().st_mtime:
            newest[video] = (path, doc)
    entries = [Entry(doc["video"]["path"], "done", "", path, doc) for path, doc in sorted(newest.values(),
                                                                                           key=lambda r: r[0])]
    entries += [Entry(path.relative_to(out).as_posix(), "unreadable", f"record skipped: {why}") for path, why in bad]
    return entries + [Entry(video, "failed", message) for video, message in failures]


def write_batch(out: Path, entries: list[Entry]) -> tuple[Path, Path]:
    """``summary.csv`` and ``index.html`` in ``out``; when they cannot be made, the old ones are removed
    (they would pass for this run's) and the error is raised."""
    docs = [e.doc for e in entries if e.doc is not None]
    try:
        cats = categories(docs)
        texts = {"summary.csv": summary_csv(entries, cats), "index.html": render_index(out, entries, cats)}
        for name, text in texts.items():
            write_page(out / name, text)
    except Exception:
        remove_batch_pages(out)
        raise
    return out / "index.html", out / "summary.csv"


def remove_batch_pages(out: Path) -> None:
    """``index.html`` and ``summary.csv`` of an earlier run, when this run's cannot be written."""
    for name in ("summary.csv", "index.html"):
        with contextlib.suppress(OSError):
            (out / name).unlink()


def render_index(out: Path, entries: list[Entry], cats: list[Category]) -> str:
    """The HTML text of ``index.html``: a row per video and analysed person; the columns of the
    actions (MMN's and the weight-free ones) that some row counts, and of every body part and touch target."""
    rows, used = [], set()
    for r in person_rows(entries):
        path = r.entry.json_path
        link = page_link(report_path(path), out) if path is not None and report_path(path).is_file() else None
        used |= set(r.counts)
        rows.append({"video": r.doc["video"]["path"] if r.doc else r.entry.video, "link": link,
                     "status": r.entry.status, "message": r.entry.message,
                     "duration": r.doc["video"]["duration_s"] if r.doc else None, "person": r.pid,
                     "subject": bool(r.person.get("subject")), "segments": r.segments if r.doc else None,
                     "cells": {c.column: _cell(*r.counts[c.key], r.minutes) for c in cats if c.key in r.counts}})
    shown = [c for c in cats if c.group not in ("action", "weight-free action") or c.key in used]
    done = sum(1 for e in entries if e.status in ("done", "skipped"))
    failed = sum(1 for e in entries if e.status == "failed")
    unreadable = sum(1 for e in entries if e.status == "unreadable")
    return report_env().get_template("index.html.j2").render(
        out=out.name or str(out), rows=rows, cats=shown, done=done, failed=failed, unreadable=unreadable)


def _cell(n: int, secs: float, minutes: float) -> dict:
    """An index.html cell: count, rate per minute of video, total seconds."""
    return {"n": n, "rate": n / minutes if minutes > 0 else 0.0, "secs": secs}
