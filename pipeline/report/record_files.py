"""The result records a report is built from: finding them in an output folder, telling apart those that
can be shown from those that cannot (and why), and where a record's report and video are."""
from __future__ import annotations

import json
from pathlib import Path

from common.errors import UserError

from ..export import schema_problem
from ..record import TOOL, Record, upgrade_record
from .summary import Entry, categories, summary_rows

REPORT_SUFFIX = ".report.html"
TOOL_NAME = TOOL["name"]


class ReportError(UserError, ValueError):
    """A record that cannot be summarised (cut off, a field missing or of the wrong type): one line."""


def is_result(doc: object) -> bool:
    """Whether a parsed JSON document is a result record of this tool (a ``NAME.json`` of a run)."""
    return isinstance(doc, dict) and isinstance(doc.get("tool"), dict) and doc["tool"].get("name") == TOOL_NAME \
        and "segments" in doc and "video" in doc


def find_records(out: Path) -> tuple[list[tuple[Path, dict]], list[tuple[Path, str]]]:
    """The result records (``NAME.json`` written by the pipeline) under ``out``, in path order: those that
    can be shown, and those that cannot, with the reason in one line (cut off, a field missing or of the
    wrong type, times before 0 or reversed). Hidden folders and other JSON files (AlphaPose results, ...)
    are passed over."""
    good, bad = [], []
    for path in sorted(out.rglob("*.json")):
        rel = path.relative_to(out)
        if any(part.startswith(".") for part in rel.parts):
            continue
        try:
            with open(path, "rb") as f:
                head = f.read(256)  # records start with these; big foreign files are skipped unread
            if b'"schema_version"' not in head or TOOL_NAME.encode() not in head:
                continue
            doc = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            bad.append((path, f"cannot be read ({e.strerror or e})"))
            continue
        except ValueError as e:
            bad.append((path, f"not valid JSON, cut off? ({' '.join(str(e).split())})"))
            continue
        if not is_result(doc):
            continue
        doc = upgrade_record(doc)
        try:
            check_record(doc)
        except ReportError as e:
            bad.append((path, str(e)))
            continue
        good.append((path, doc))
    return good, bad


def find_results(out: Path) -> list[tuple[Path, dict]]:
    """The result records under ``out`` that can be shown (``find_records``)."""
    return find_records(out)[0]


def check_record(doc: dict) -> None:
    """``ReportError`` (one line: where and what) unless the record fits the schema, every time span runs
    forwards, and its summary can be made."""
    problem = schema_problem(doc)
    if problem:
        raise ReportError(problem)
    spans = [("shots", doc["shots"]), ("segments", doc["segments"]), ("windows", doc["windows"])]
    spans += [(f"segments/{n}/movement/{kind}", s["movement"][kind]) for n, s in enumerate(doc["segments"])
              for kind in ("touch_events", "resting_contacts")]
    for name, items in spans:
        for n, item in enumerate(items):
            if item["end_s"] < item["start_s"]:
                raise ReportError(f"{name}/{n}: end_s {item['end_s']} is before start_s {item['start_s']}")
    try:
        summary_rows([Entry(doc["video"]["path"], "done", "", None, doc)], categories([doc]))
    except (KeyError, TypeError, ValueError, AttributeError) as e:  # a record the schema lets through
        raise ReportError(f"cannot be summarised ({type(e).__name__}: {' '.join(str(e).split())[:200]})") from None


def report_path(json_path: Path) -> Path:
    """``NAME.report.html`` beside the record ``NAME.json``."""
    return json_path.with_name(json_path.name[:-len(".json")] + REPORT_SUFFIX)


def find_video(doc: Record, json_path: Path, video_root: Path | None = None) -> Path | None:
    """The video a record was made from: where it was processed (``video.source``), else under
    ``video_root`` by its path relative to the input folder, else beside the record."""
    candidates = []
    if doc["video"].get("source"):
        candidates.append(Path(doc["video"]["source"]))
    if video_root is not None:
        candidates.append(video_root / doc["video"]["path"])
        candidates.append(video_root / doc["video"]["file"])
    candidates.append(json_path.with_name(doc["video"]["file"]))
    return next((p for p in candidates if p.is_file()), None)
