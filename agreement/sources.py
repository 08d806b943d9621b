"""Annotation sources -> codings (one coder's timed labels of one video).

* This tool's records ``NAME.json`` (and its ``NAME.csv``): the segments of the interviewee (``--person``);
  what a segment says at each level is read by ``tool_labels``, the one place to change when the record
  changes.
* ELAN ``.eaf`` files: the annotations of the tiers chosen by name or pattern (several tiers: several
  coders, in one file or not); times in ELAN's milliseconds plus the linked video's time origin.
* CSV files with one row per annotation: ``start_s,end_s,label`` (or ``start_ms,end_ms``, or
  ``start,end`` with ``--time-unit``; times as seconds or ``[h:]mm:ss.fff``), optionally ``video`` (the
  video's file name; else the CSV's name; ``pose``, as in the training CSV, works too) and ``coder``.

Codings are paired by video name: the file name without extension of the record's video, the ELAN
file's linked video (else the ``.eaf``'s own name), or the CSV's ``video`` column (else its file name).
Every problem is an ``AgreementError`` naming the file and line, tier and annotation id, or segment.
"""
from __future__ import annotations

import csv
import fnmatch
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from .errors import AgreementError
from .measures import Span, overlapping
from .vocabulary import Label, Vocabulary

SUFFIXES = (".json", ".eaf", ".csv")
TOOL_CSV_COLUMNS = ("video", "person", "start_s", "end_s", "action_code", "body_name", "body_part")
TIME_COLUMNS = {"start_s": ("end_s", 1.0), "start_ms": ("end_ms", 1e-3), "start": ("end", None)}
TIME_UNITS = {"s": 1.0, "ms": 1e-3}
REPORT_SUFFIX = ".report.html"  # the tool's video report beside a record
EXPORT = "this tool's export of the record beside it (the record is read)"
NOT_RECORD = "not a record of this tool"


@dataclass(frozen=True)
class Event:
    start_s: float
    end_s: float
    label: Label
    where: str  # file and line / tier and annotation id / segment, for messages


@dataclass
class Coding:
    """One coder's annotations of one video."""
    video: str  # the video's name: what pairs codings of two sources
    coder: str  # the source's name, with the ELAN tier or the CSV's coder when there is one
    path: Path
    kind: str  # tool record | tool CSV | ELAN | CSV
    events: list[Event]
    duration_s: float | None = None  # the video's length, when the source knows it
    duration_from: str = ""
    report: Path | None = None  # the tool's report of the video, when there is one beside the source
    notes: list[str] = field(default_factory=list)
    model: bool = False  # this tool's record made with an action model (its actions count even when none was found)

    @property
    def names_actions(self) -> bool:
        """Whether this coder codes actions (else body parts only)."""
        return self.model or any(e.label.action is not None for e in self.events)

    @property
    def identity(self) -> tuple[str, str]:
        return str(self.path.resolve()), self.coder


@dataclass(frozen=True)
class ReadOptions:
    vocabulary: Vocabulary
    tier: str | None = None  # ELAN: a tier name or pattern
    tier_option: str = "--reference-tier"  # for messages
    person: str = "subject"  # tool records: subject, a person id, or all
    time_unit: str | None = None  # CSV columns start,end: s or ms


@dataclass
class Side:
    """What REFERENCE or OTHER gave: codings, files passed over (and why), files that failed."""
    path: Path
    name: str
    codings: list[Coding] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def video_key(name: str) -> str:
    """``interviews/P01.mp4`` -> ``P01``; a pose cache ``P01.pose.npz`` -> ``P01``."""
    base = Path(name.replace("\\", "/")).name
    return base[:-len(".pose.npz")] if base.endswith(".pose.npz") else Path(base).stem


# ------------------------------------------------------------------------------------------- sides

def read_side(path: Path, name: str, opts: ReadOptions, exclude: Path | None = None) -> Side:
    """Every coding in a file or under a folder (recursively; hidden folders and ``exclude`` passed over).
    In a folder, this tool's ``NAME.csv`` and ``NAME.eaf`` beside its record ``NAME.json`` are the
    record's exports: the record is read, they are passed over."""
    side = Side(path, name)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = [p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUFFIXES
                 and not any(part.startswith(".") for part in p.relative_to(path).parts)
                 and not (exclude is not None and _inside(p, exclude))]
    else:
        side.failed.append((path, f"{path}: no such file or folder"))
        return side
    records = {p.with_suffix("") for p in files if p.suffix.lower() == ".json" and _is_record_file(p)}
    for p in files:
        in_folder = p != path
        if in_folder and p.suffix.lower() == ".json" and p.with_suffix("") not in records:
            side.skipped.append((p, NOT_RECORD))  # not read: AlphaPose results beside the records can be big
            continue
        if in_folder and p.suffix.lower() != ".json" and p.with_suffix("") in records:
            side.skipped.append((p, EXPORT))
            continue
        try:
            side.codings.extend(read_file(p, name, opts))
        except NotAnnotations as e:  # passed over in a folder; named on the command line, a mistake
            if in_folder:
                side.skipped.append((p, str(e)))
            else:
                side.failed.append((p, f"{p}: {e}"))
        except AgreementError as e:
            side.failed.append((p, str(e)))
    return side


def _inside(p: Path, folder: Path) -> bool:
    try:
        p.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


class NotAnnotations(Exception):
    """A file in a folder that holds no annotations (passed over and listed, not an error)."""


def read_file(path: Path, side_name: str, opts: ReadOptions) -> list[Coding]:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return [read_record(path, side_name, opts)]
    if suffix == ".eaf":
        return read_eaf(path, side_name, opts)
    if suffix == ".csv":
        return read_csv(path, side_name, opts)
    raise NotAnnotations("not an annotation file (a record .json, an ELAN .eaf or a .csv)")


# --------------------------------------------------------------------------------- tool's records

def _is_record_file(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return b'"schema_version"' in f.read(64)  # records start with it
    except OSError:
        return False


def tool_labels(segment: dict) -> tuple[str | None, str | None]:
    """What a segment of this tool's record says at the two levels: the action's code (the segment's
    ``action``, whatever made it: MMN or the weight-free kinematics) and the body part (the segment's
    ``body``, else the weight-free description's ``movement.body_part``)."""
    action, body = segment.get("action"), segment.get("body")
    code = action.get("code") if isinstance(action, dict) else None
    body_name = body.get("name") if isinstance(body, dict) else (segment.get("movement") or {}).get("body_part")
    return code or None, body_name or None


def _tool_event(segment: dict, where: str, vocab: Vocabulary) -> Event | None:
    """None: the segment names neither an action nor a body part (a movement too small to say)."""
    code, body_name = tool_labels(segment)
    if code is None and body_name is None:
        return None
    action = vocab.read(code, f"{where}: action") if code else None
    body = vocab.read(body_name, f"{where}: body part") if body_name else None
    if action is None and body is None:  # both left out by the mapping
        return None
    label = Label(action.action if action else None, body.body_id if body else action.body_id)
    return _event(segment.get("start_s"), segment.get("end_s"), label, where)


def _persons(persons: list[int], subject: int | None, person: str, where: str) -> set[int] | None:
    """The persons whose segments are compared; None: everyone's."""
    if person == "all":
        return None
    if person == "subject":
        if subject is not None:
            return {subject}
        if len(persons) <= 1:
            return set(persons)
        raise AgreementError(f"{where}: holds persons {', '.join(map(str, persons))} and no subject: say whose "
                             "segments to compare with --person ID (or --person all)")
    if int(person) not in persons:
        raise AgreementError(f"{where}: no person {person} (persons: {', '.join(map(str, persons)) or 'none'})")
    return {int(person)}


def read_record(path: Path, side_name: str, opts: ReadOptions) -> Coding:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise AgreementError(f"{path}: not a readable JSON file ({type(e).__name__})") from None
    if not (isinstance(doc, dict) and isinstance(doc.get("segments"), list) and isinstance(doc.get("video"), dict)):
        raise NotAnnotations(f"{NOT_RECORD} (JSON without video and segments)")
    people = doc.get("pose", {}).get("persons", [])
    analysed = sorted({int(s["person"]) for s in doc["segments"]} | {p["id"] for p in people if p.get("analysed")})
    subject = next((p["id"] for p in people if p.get("subject")), None)
    chosen = _persons(analysed, subject, opts.person, str(path))
    events, without = [], 0
    for n, s in enumerate(doc["segments"]):
        if chosen is not None and int(s.get("person", -1)) not in chosen:
            continue
        event = _tool_event(s, f"{path}: segment {n + 1} ({s.get('start_s')}-{s.get('end_s')} s)", opts.vocabulary)
        if event is None:
            without += 1
        else:
            events.append(event)
    video = doc["video"]
    coding = Coding(video_key(video.get("file") or path.name), side_name, path, "tool record", events,
                    float(video["duration_s"]) if video.get("duration_s") else None, f"{path.name}",
                    _existing(path.with_name(path.stem + REPORT_SUFFIX)), model=bool(doc.get("model")))
    if without:
        coding.notes.append(f"{path}: {without} segments name neither an action nor a body part: left out")
    return _checked(coding)


def _existing(p: Path) -> Path | None:
    return p if p.is_file() else None


# ------------------------------------------------------------------------------------------- ELAN

def _choose_tiers(path: Path, tiers: dict, opts: ReadOptions) -> list[str]:
    names = list(tiers)
    filled = [t for t in names if tiers[t][0] or tiers[t][1]]
    listing = ", ".join(repr(t) for t in names) or "none"
    if opts.tier is None:
        if len(filled) == 1:
            return filled
        if not filled:
            raise AgreementError(f"{path}: no tier holds annotations (tiers: {listing})")
        raise AgreementError(f"{path}: holds the tiers {', '.join(repr(t) for t in filled)}: choose with "
                             f"{opts.tier_option} NAME (or a pattern such as 'coder*': one coder per tier)")
    chosen = [opts.tier] if opts.tier in tiers else [t for t in names if fnmatch.fnmatchcase(t, opts.tier)]
    if not chosen:
        raise AgreementError(f"{path}: no tier {opts.tier!r} (tiers: {listing})")
    for t in chosen:
        if not (tiers[t][0] or tiers[t][1]):
            raise AgreementError(f"{path}: tier {t!r} holds no annotations (an empty tier: wrong tier? tiers with "
                                 f"annotations: {', '.join(repr(x) for x in filled) or 'none'})")
    return chosen


def _tier_annotations(eaf, path: Path, tier: str) -> list[tuple[str, int, int, str]]:
    """(annotation id, start ms, end ms, value) of a tier; a reference tier's annotations take the times
    of the time-aligned annotation they refer to."""
    aligned, refs = eaf.tiers[tier][0], eaf.tiers[tier][1]
    out = []
    for aid, (ts1, ts2, value, _) in aligned.items():
        out.append((aid, eaf.timeslots.get(ts1), eaf.timeslots.get(ts2), value))
    for aid, (ref, value, _, _) in refs.items():
        try:
            ts1, ts2, *_ = eaf.get_parent_aligned_annotation(ref)
        except (KeyError, TypeError):
            raise AgreementError(f"{path}: tier {tier!r} annotation {aid} refers to {ref!r}, "
                                 "which is not there") from None
        out.append((aid, eaf.timeslots.get(ts1), eaf.timeslots.get(ts2), value))
    for aid, a, b, _ in out:
        if a is None or b is None:
            raise AgreementError(f"{path}: tier {tier!r} annotation {aid} has no time (an unaligned slot of a "
                                 "subdivided tier): compare a time-aligned tier")
    return sorted(out, key=lambda x: (x[1], x[2]))


def _linked_video(eaf, path: Path) -> tuple[str | None, Path | None, float]:
    """The first linked video: its name, where it is when it is on this machine, its time origin (s)."""
    for media in eaf.get_linked_files():
        url, rel = media.get("MEDIA_URL") or "", media.get("RELATIVE_MEDIA_URL") or ""
        origin = float(media.get("TIME_ORIGIN") or 0) / 1000
        candidates = []
        if rel:
            candidates.append(path.parent / unquote(urlparse(rel).path if rel.startswith("file:") else rel))
        if url.startswith("file:"):
            candidates.append(Path(unquote(urlparse(url).path)))
        name = unquote(urlparse(url).path) if url else rel
        return (name or None, next((p for p in candidates if p.is_file()), None), origin)
    return None, None, 0.0


def _video_duration(video: Path | None) -> float | None:
    if video is None:
        return None
    from pipeline.ffmpeg_tools import VideoError
    from pipeline.video_probe import probe

    try:
        return probe(video).duration or None
    except (VideoError, OSError):
        return None


def read_eaf(path: Path, side_name: str, opts: ReadOptions) -> list[Coding]:
    import pympi

    try:
        eaf = pympi.Elan.Eaf(str(path))
    except Exception as e:  # pympi raises whatever its XML parser does
        raise AgreementError(f"{path}: not a readable ELAN file ({type(e).__name__})") from None
    tiers = _choose_tiers(path, eaf.tiers, opts)
    media, video, origin = _linked_video(eaf, path)
    duration = _video_duration(video)
    codings = []
    for tier in tiers:
        events, left_out = [], 0
        for aid, a, b, value in _tier_annotations(eaf, path, tier):
            start, end = a / 1000 + origin, b / 1000 + origin
            where = f"{path}: tier {tier!r} annotation {aid} ({start:.3f}-{end:.3f} s)"
            label = opts.vocabulary.read(value, where)
            if label is None:
                left_out += 1
            else:
                events.append(_event(start, end, label, where))
        coding = Coding(video_key(media) if media else path.stem, f"{side_name} [{tier}]", path, "ELAN", events,
                        duration, video.name if duration else "", _existing(path.with_name(
                            (video_key(media) if media else path.stem) + REPORT_SUFFIX)))
        if origin:
            coding.notes.append(f"{path}: the linked video's time origin ({origin:.3f} s) is added to the times")
        if left_out:
            coding.notes.append(f"{path}: tier {tier!r}: {left_out} annotations mapped to nothing: left out")
        codings.append(_checked(coding))
    return codings


# -------------------------------------------------------------------------------------------- CSV

def parse_time(text: str, scale: float) -> float:
    """A number (times ``scale``: seconds per unit) or ``[h:]mm:ss[.fff]``; ValueError otherwise."""
    text = text.strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) > 3 or not all(re.fullmatch(r"\d+(\.\d*)?", p) for p in parts):
            raise ValueError(text)
        return sum(float(p) * 60 ** k for k, p in enumerate(reversed(parts)))
    value = float(text) * scale
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _time_columns(path: Path, header: list[str], opts: ReadOptions) -> tuple[str, str, float]:
    for start, (end, scale) in TIME_COLUMNS.items():
        if start in header and end in header:
            if scale is None:
                if opts.time_unit is None:
                    raise AgreementError(f"{path}:1: columns {start}/{end} do not say their unit: name them "
                                         "start_s/end_s (seconds) or start_ms/end_ms, or give --time-unit s|ms")
                scale = TIME_UNITS[opts.time_unit]
            return start, end, scale
    raise NotAnnotations("not an annotation CSV (no start_s/end_s, start_ms/end_ms or start/end columns)")


def read_csv(path: Path, side_name: str, opts: ReadOptions) -> list[Coding]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise AgreementError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    if all(c in header for c in TOOL_CSV_COLUMNS):
        return _tool_csv(path, rows, side_name, opts)
    start_col, end_col, scale = _time_columns(path, header, opts)
    if "label" not in header:
        raise AgreementError(f"{path}:1: no column 'label' (an annotation CSV has {start_col}, {end_col}, label, "
                             "and optionally video and coder)")
    if not rows:
        raise AgreementError(f"{path}: no annotations (only a header line?)")
    video_col = next((c for c in ("video", "pose") if c in header), None)
    groups: dict[tuple[str, str], list[Event]] = {}
    left_out: dict[tuple[str, str], int] = {}
    for n, row in enumerate(rows, start=2):
        where = f"{path}:{n}"
        times = []
        for col in (start_col, end_col):
            try:
                times.append(parse_time(row.get(col) or "", scale))
            except ValueError:
                raise AgreementError(f"{where}: column {col}: {(row.get(col) or '').strip()!r} is not a time "
                                     f"({'milliseconds' if scale == 1e-3 else 'seconds'}, or h:mm:ss.fff)") from None
        video = (row.get(video_col) or "").strip() if video_col else ""
        key = (video_key(video) if video else path.stem, (row.get("coder") or "").strip())
        label = opts.vocabulary.read(row.get("label") or "", where)
        if label is None:
            left_out[key] = left_out.get(key, 0) + 1
            groups.setdefault(key, [])
            continue
        groups.setdefault(key, []).append(_event(times[0], times[1], label, where))
    codings = []
    for (video, coder), events in groups.items():
        coding = Coding(video, f"{side_name} [{coder}]" if coder else side_name, path, "CSV", events,
                        report=_existing(path.with_name(video + REPORT_SUFFIX)))
        if left_out.get((video, coder)):
            coding.notes.append(f"{path}: {video}: {left_out[(video, coder)]} annotations mapped to nothing: left out")
        codings.append(_checked(coding))
    return codings


def _tool_csv(path: Path, rows: list[dict], side_name: str, opts: ReadOptions) -> list[Coding]:
    """This tool's ``NAME.csv``: as its record, less what only the record knows (the subject, the
    video's length)."""
    by_video: dict[str, list[tuple[int, dict]]] = {}
    for n, row in enumerate(rows, start=2):
        by_video.setdefault(video_key(row["video"] or path.name), []).append((n, row))
    if not by_video:
        by_video[path.stem] = []
    codings = []
    for video, numbered in by_video.items():
        persons = sorted({int(r["person"]) for _, r in numbered if (r["person"] or "").isdigit()})
        chosen = _persons(persons, None, opts.person, str(path))
        events, without = [], 0
        for n, row in numbered:
            if chosen is not None and (not row["person"].isdigit() or int(row["person"]) not in chosen):
                continue
            segment = {"start_s": _number(row, "start_s", f"{path}:{n}"), "end_s": _number(row, "end_s", f"{path}:{n}"),
                       "action": {"code": row["action_code"]} if row["action_code"] else None,
                       "body": {"name": row["body_name"]} if row["body_name"] else None,
                       "movement": {"body_part": row["body_part"] or None}}
            event = _tool_event(segment, f"{path}:{n}", opts.vocabulary)
            if event is None:
                without += 1
            else:
                events.append(event)
        coding = Coding(video, side_name, path, "tool CSV", events,
                        report=_existing(path.with_name(video + REPORT_SUFFIX)))
        if without:
            coding.notes.append(f"{path}: {without} segments name neither an action nor a body part: left out")
        codings.append(_checked(coding))
    return codings


def _number(row: dict, col: str, where: str) -> float:
    try:
        return parse_time(row[col] or "", 1.0)
    except ValueError:
        raise AgreementError(f"{where}: column {col}: {row[col]!r} is not a number (seconds)") from None


# ------------------------------------------------------------------------------------------ checks

def _event(start, end, label: Label, where: str) -> Event:
    if not (isinstance(start, (int, float)) and isinstance(end, (int, float))
            and math.isfinite(start) and math.isfinite(end)):
        raise AgreementError(f"{where}: start and end must be numbers (seconds); got {start!r}, {end!r}")
    if start < 0:
        raise AgreementError(f"{where}: starts before 0 s ({start} s)")
    if end <= start:
        raise AgreementError(f"{where}: ends at {end} s, not after its start ({start} s)")
    return Event(float(start), float(end), label, where)


def _checked(coding: Coding) -> Coding:
    """Notes on what a coding holds that the measures count in a particular way."""
    spans = [Span(e.start_s, e.end_s, 0) for e in coding.events]
    if not coding.events and coding.kind in ("ELAN", "CSV"):
        raise AgreementError(f"{coding.path}: {coding.coder}: no annotations left (all mapped to nothing)")
    over = overlapping(spans)
    if over:
        shown = ", ".join(_short(coding.events[i].where) for i in over[:5]) + (", ..." if len(over) > 5 else "")
        coding.notes.append(f"{coding.coder}, {coding.video}: {len(over)} annotations overlap an earlier one on the "
                            f"same tier ({shown}): each counts as an event; frames they share take the label of "
                            "the one that started later")
    return coding


def _short(where: str) -> str:
    """``file: tier 'x' annotation a5 (1.0-2.0 s)`` -> ``annotation a5 (1.0-2.0 s)``; ``file:12`` -> ``line 12``."""
    m = re.search(r"(annotation .*|segment .*)$", where)
    if m:
        return m.group(1)
    line = where.rsplit(":", 1)[-1]
    return f"line {line}" if line.isdigit() else where
