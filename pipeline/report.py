"""Review reports that researchers open in a browser, built from the result records.

* Per video, ``NAME.report.html`` beside ``NAME.json``: the video in an HTML5 player (the overlay video
  when one was made, else the original, linked relatively); a timeline with one lane per person and
  kind (MMN actions with probabilities, the weight-free MA-52 body part, hand touches and resting
  contacts, still/absent stretches; camera cuts as dashed lines) where a click seeks the video; motion
  energy over time per body region; a table of the segments that sorts and filters, with a keyframe
  (the person and their skeleton) per segment; the settings, checkpoints and pose backend used. The
  file holds everything but the video (plotly.js from the plotly package, gzip-compressed and unpacked
  by the browser; figure data; keyframes as JPEG): it opens offline from the output folder.
* Per batch, in the output folder: ``summary.csv`` (one row per video and analysed person, one column
  per category and measure: see ``summary_columns``) and ``index.html`` (every video with its status,
  counts, rates and times per category, and a link to its report).

Everything comes from the JSON records, the pose caches (skeletons) and the videos (keyframes), so
``python -m pipeline.report OUT`` builds the reports of older runs too.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import functools
import gzip
import html
import io
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np

from common.cli import program_name, terminal_line, visible
from common.fileio import stale_parts, write_text_atomic

from .export import relative_path
from .record import (CONTACT_VERBS, Record, action_confidence, action_source, analysed_persons,
                     contacts, upgrade_record, weight_free_actions)

REPORT_SUFFIX = ".report.html"
TEMPLATES = Path(__file__).resolve().parent.parent / "assets" / "report"
TOOL_NAME = "microaction-finder"
BODY_PARTS = ("body", "head", "upper limb", "lower limb", "body-hand", "head-hand", "leg-hand")  # MA-52 order
TOUCH_TARGETS = ("face/head", "torso", "legs")
REGIONS = ("head", "torso", "arms/hands", "legs")
KEYFRAME_HEIGHT = 120  # px (shown at 72 px: sharp on high-density screens)
KEYFRAME_DECODE_SIDE = 480  # frames are decoded this small, then the person is cut out
MAX_KEYFRAMES = 600  # more segments than this: the first ones get keyframes, and the report says so
# one ffmpeg seek per keyframe costs about as much as decoding 5 s of the video in one pass that keeps
# only the frames wanted (1080p H.264, GOP 250: 0.28 s a seek, 0.058 s per second of video; 512 px:
# 0.05 s a seek, 0.009 s per second): with more keyframes than one per 5 s, one pass is quicker
SEEK_COST_S = 5.0
COLOURS = ["#393b79", "#8c6d31", "#843c39", "#7b4173", "#637939", "#3182bd", "#e6550d", "#756bb1", "#636363",
           "#bd9e39"]  # actions: darker than the body-part colours below, so the two lanes never look alike
PART_COLOURS = dict(zip(BODY_PARTS, ["#8c564b", "#1f77b4", "#2ca02c", "#9467bd", "#e377c2", "#ff7f0e",
                                     "#17becf"]))
TARGET_COLOURS = {"face/head": "#d62728", "torso": "#ff7f0e", "legs": "#2ca02c"}
STATUS_COLOURS = {"still": "#c7c7c7", "absent": "#f4b6b6"}
GAP_S = 0.25
# a page is written in well under a second: a temporary .part file a minute old is a killed writer's
# (younger ones may be another run's write in progress, and are left alone)
STALE_PART_S = 60.0
PERSON_COLOURS = ["#00c8ff", "#ff7800", "#00ff78", "#ff00c8"]  # as the overlay video (BGR there)


class ReportError(ValueError):
    pass


# ----------------------------------------------------------------------------------------- reading

def is_result(doc: object) -> bool:
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
    from .export import schema_problem

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


# ------------------------------------------------------------------------------------------ model

def stretches(doc: Record, pid: int) -> list[tuple[float, float, str]]:
    """A person's windows as consecutive stretches of one status (active, still, absent): each window
    owns the time nearer to its centre than to its neighbours' (windows overlap by half); windows less
    than ``GAP_S`` apart meet halfway."""
    wins = sorted((w for w in doc["windows"] if w["person"] == pid), key=lambda w: w["start_s"])
    owned = [[w["start_s"], w["end_s"], w["status"]] for w in wins]
    for prev, nxt, a, b in zip(owned, owned[1:], wins, wins[1:]):
        if a["end_s"] > b["start_s"]:  # overlapping: the boundary halfway between the centres
            mid = (a["start_s"] + a["end_s"] + b["start_s"] + b["end_s"]) / 4
            prev[1] = nxt[0] = min(max(mid, b["start_s"]), a["end_s"])
        elif b["start_s"] - a["end_s"] < GAP_S:  # a frame apart (windows end before their last frame)
            prev[1] = nxt[0] = (a["end_s"] + b["start_s"]) / 2
    merged: list[list] = []
    for lo, hi, status in owned:
        if hi <= lo:
            continue
        if merged and merged[-1][2] == status and lo - merged[-1][1] < 1e-6:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi, status])
    return [(round(a, 3), round(b, 3), s) for a, b, s in merged]


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.lower()).strip("_")


@dataclass
class Category:
    column: str  # summary.csv column stem
    title: str  # shown in index.html
    group: str  # action | weight-free action | body part | touch
    key: tuple = ()  # what ``person_counts`` counts it under


def label_set(doc: Record) -> list[tuple[str, str]]:
    """The (code, name) of every action of the label set a record was made with (records made before
    the record held its label set: MA-52's when that was their set, else none)."""
    model = doc.get("model") or {}
    if "actions" in model:
        return [(a["code"], a["name"]) for a in model["actions"]]
    if model.get("labels") == "MA-52":
        from definitions.labels import ma52_labels

        return [(a.code, a.name) for a in ma52_labels().actions]
    return []


def categories(docs: list[Record]) -> list[Category]:
    """The summary's categories: MMN actions (every action of the records' label sets when any record has
    a model, in label order, plus actions seen; a code named differently by two label sets gets a column
    per name), the weight-free actions (``kin_<code>``: every MA-52 action the weight-free recognizer can
    name), the seven MA-52 body parts, the three touch targets."""
    from definitions.labels import ma52_labels
    from recognizer.kinematics import COVERED

    cats: list[Category] = []
    if any(d.get("model") for d in docs):
        actions: dict[tuple[str, str], None] = {}
        for d in docs:
            actions.update(dict.fromkeys(label_set(d)))
        for d in docs:
            actions.update(dict.fromkeys((s["action"]["code"], s["action"]["name"]) for s in d["segments"]
                                         if s["action"] and action_source(s["action"]) == "mmn"))
        names = Counter(code for code, _ in actions)
        cats += [Category(f"action_{_slug(code)}" + (f"_{_slug(name)}" if names[code] > 1 else ""), f"{code} {name}",
                          "action", ("action", code, name)) for code, name in actions]
    cats += [Category(f"kin_{_slug(code)}", f"{code} {ma52_labels().by_code(code).name} (weight-free)",
                      "weight-free action", ("kin", code)) for code in COVERED]
    cats += [Category(f"part_{_slug(p)}", p, "body part", ("part", p)) for p in BODY_PARTS]
    cats += [Category(f"touch_{_slug(t)}", f"touch {t}", "touch", ("touch", t)) for t in TOUCH_TARGETS]
    return cats


def person_counts(doc: Record, pid: int) -> dict[tuple, tuple[int, float]]:
    """Per category key (``Category.key``): (count, total seconds) for one person of one record."""
    out: dict[tuple, list] = {}

    def add(key: tuple, seconds: float) -> None:
        n, s = out.setdefault(key, [0, 0.0])
        out[key] = [n + 1, s + seconds]

    for s in doc["segments"]:
        if s["person"] != pid:
            continue
        if s["action"] and action_source(s["action"]) == "mmn":
            add(("action", s["action"]["code"], s["action"]["name"]), s["duration_s"])
        if s["movement"]["body_part"]:
            add(("part", s["movement"]["body_part"]), s["duration_s"])
    for a in person_actions(doc, pid):
        add(("kin", a["code"]), a["end_s"] - a["start_s"])
    for c in contacts(doc, pid):
        if c["kind"] == "touch":
            add(("touch", c["target"]), c["end_s"] - c["start_s"])
    return {k: (int(n), float(s)) for k, (n, s) in out.items()}


def person_actions(doc: Record, pid: int) -> list[dict]:
    """A person's weight-free action instances, each once (a segment lists the instances it overlaps)."""
    seen, out = set(), []
    for s in doc["segments"]:
        if s["person"] != pid:
            continue
        for a in weight_free_actions(s):
            key = (a["code"], a["start_s"], a["end_s"])
            if key not in seen:
                seen.add(key)
                out.append(a)
    return sorted(out, key=lambda a: a["start_s"])


SUMMARY_FIXED = ["video", "path", "status", "message", "duration_s", "person", "subject", "presence", "segments",
                 "active_s", "still_s", "absent_s"]


def summary_columns(cats: list[Category]) -> list[str]:
    """``summary.csv``'s columns: the fixed ones, then per category ``<stem>_n`` (count), ``<stem>_per_min``
    (count per minute of video) and ``<stem>_s`` (total seconds)."""
    return SUMMARY_FIXED + [f"{c.column}_{m}" for c in cats for m in ("n", "per_min", "s")]


@dataclass
class Entry:
    """One video of a batch: its record (None when it failed before one was written)."""
    video: str
    status: str  # done | skipped | failed
    message: str = ""
    json_path: Path | None = None
    doc: Record | None = None


@dataclass
class _PersonRow:
    """One row of the batch tables: a video and an analysed person (``pid`` None for a video with nobody
    analysed; ``doc`` None for a video that failed before its record)."""
    entry: Entry
    pid: int | None = None
    person: dict = field(default_factory=dict)  # its pose.persons entry
    segments: int = 0
    counts: dict = field(default_factory=dict)  # person_counts
    minutes: float = 0.0  # of video

    @property
    def doc(self) -> Record | None:
        return self.entry.doc


def _person_rows(entries: list[Entry]) -> list[_PersonRow]:
    rows = []
    for e in entries:
        if e.doc is None:
            rows.append(_PersonRow(e))
            continue
        persons = {p["id"]: p for p in e.doc["pose"]["persons"]}
        for pid in analysed_persons(e.doc) or [None]:
            rows.append(_PersonRow(e, pid, persons.get(pid, {}),
                                   sum(1 for s in e.doc["segments"] if s["person"] == pid),
                                   person_counts(e.doc, pid) if pid is not None else {},
                                   e.doc["video"]["duration_s"] / 60.0))
    return rows


def summary_rows(entries: list[Entry], cats: list[Category]) -> list[dict]:
    rows = []
    for r in _person_rows(entries):
        row = {"video": r.entry.video, "status": r.entry.status, "message": r.entry.message}
        if r.doc is not None:
            row.update(path=r.doc["video"]["path"], duration_s=f"{r.doc['video']['duration_s']:.3f}",
                       segments=r.segments)
        if r.pid is None:
            rows.append(row)
            continue
        times = {"active": 0.0, "still": 0.0, "absent": 0.0}
        for a, b, status in stretches(r.doc, r.pid):
            times[status] += b - a
        row.update(person=r.pid, subject=int(bool(r.person.get("subject"))), presence=r.person.get("presence", ""),
                   **{f"{k}_s": f"{v:.3f}" for k, v in times.items()})
        for c in cats:
            n, secs = r.counts.get(c.key, (0, 0.0))
            row[f"{c.column}_n"] = n
            row[f"{c.column}_per_min"] = f"{n / r.minutes:.3f}" if r.minutes > 0 else ""
            row[f"{c.column}_s"] = f"{secs:.3f}"
        rows.append(row)
    return rows


def summary_csv(entries: list[Entry], cats: list[Category]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=summary_columns(cats), lineterminator="\n", restval="")
    w.writeheader()
    for row in summary_rows(entries, cats):
        w.writerow(row)
    return buf.getvalue()


# -------------------------------------------------------------------------------------- keyframes

def _decode_at(video: Path, times: list[float], info) -> dict[int, np.ndarray]:
    """Frames (RGB, longest side ``KEYFRAME_DECODE_SIDE``) at or just after each time; by index in ``times``."""
    from .video import iter_frames

    if not times:
        return {}
    half = 0.5 / (info.fps or 30.0) + 1e-4  # the first frame at or after half a frame before (times are rounded)
    order = sorted(range(len(times)), key=lambda i: times[i])
    got: dict[int, np.ndarray] = {}
    if len(times) * SEEK_COST_S > max(info.duration, 1e-3):  # dense: one pass
        k = 0
        frames = iter_frames(video, info, max_side=KEYFRAME_DECODE_SIDE, near=times, need_frames=False)
        try:
            for fr in frames:
                while k < len(order) and fr.time > times[order[k]] + 3 * half:
                    k += 1  # no frame came for this one
                while k < len(order) and fr.time >= times[order[k]] - half:
                    got[order[k]] = fr.image
                    k += 1
                if k == len(order):
                    break
        finally:
            frames.close()
        return got
    for i in order:
        frames = iter_frames(video, info, max_side=KEYFRAME_DECODE_SIDE, start_s=max(0.0, times[i] - half),
                             need_frames=False)
        try:
            fr = next(frames, None)
            if fr is not None:
                got[i] = fr.image
        finally:
            frames.close()
    return got


def _draw_keyframe(image: np.ndarray, kp: np.ndarray | None, colour: tuple, frame_size: tuple[int, int]) -> bytes:
    """The person cut out of the frame (their keypoint box with a margin; the whole frame without
    keypoints), the skeleton drawn, scaled to ``KEYFRAME_HEIGHT``: JPEG bytes."""
    import cv2

    from definitions.layout import ma52_layout

    h, w = image.shape[:2]
    sx, sy = w / frame_size[0], h / frame_size[1]
    img = np.array(image, dtype=np.uint8)  # a copy: decoded frames are read-only
    box = (0, 0, w, h)
    if kp is not None and np.isfinite(kp).all(-1).any():
        pts = kp * [sx, sy]
        ok = np.isfinite(pts).all(-1)
        for a, b in ma52_layout().bones:
            if ok[a] and ok[b]:
                cv2.line(img, tuple(int(v) for v in pts[a]), tuple(int(v) for v in pts[b]), colour, 2, cv2.LINE_AA)
        for p in pts[ok]:
            cv2.circle(img, (int(p[0]), int(p[1])), 2, colour, -1, cv2.LINE_AA)
        lo, hi = pts[ok].min(0), pts[ok].max(0)
        size = max(hi - lo) * 1.25 + 16
        cx, cy = (lo + hi) / 2
        box = (int(max(0, cx - size / 2)), int(max(0, cy - size / 2)),
               int(min(w, cx + size / 2)), int(min(h, cy + size / 2)))
    crop = img[box[1]:box[3], box[0]:box[2]]
    if crop.size == 0:
        crop = img
    scale = KEYFRAME_HEIGHT / crop.shape[0]
    crop = cv2.resize(crop, (max(1, int(round(crop.shape[1] * scale))), KEYFRAME_HEIGHT),
                      interpolation=cv2.INTER_AREA)
    ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 70])
    return jpg.tobytes() if ok else b""


def keyframes(doc: Record, video: Path | None, pose=None, info=None) -> list[str | None]:
    """A ``data:`` JPEG URI per segment (None where there is none: no video, more than ``MAX_KEYFRAMES``
    segments, or a frame that could not be decoded)."""
    segments = doc["segments"]
    out: list[str | None] = [None] * len(segments)
    if video is None or not segments:
        return out
    from .video import probe

    info = info or probe(video)
    wanted = segments[:MAX_KEYFRAMES]
    frames = _decode_at(video, [(s["start_s"] + s["end_s"]) / 2 for s in wanted], info)
    tracks = {t.id: t for t in pose.tracks} if pose is not None else {}
    order = {pid: n for n, pid in enumerate(analysed_persons(doc))}
    for i, seg in enumerate(wanted):
        if i not in frames:
            continue
        kp = None
        track = tracks.get(seg["person"])
        if track is not None and pose.num_frames:
            t = (seg["start_s"] + seg["end_s"]) / 2
            f = int(np.clip(np.searchsorted(pose.times, t), 0, pose.num_frames - 1))
            kp = np.asarray(track.keypoints[f], dtype=float) if track.present[f] else None
        hexcol = PERSON_COLOURS[order.get(seg["person"], 0) % len(PERSON_COLOURS)]
        rgb = tuple(int(hexcol[k:k + 2], 16) for k in (1, 3, 5))
        jpg = _draw_keyframe(frames[i], kp, rgb, (doc["video"]["width"], doc["video"]["height"]))
        if jpg:
            out[i] = "data:image/jpeg;base64," + base64.b64encode(jpg).decode("ascii")
    return out


# ---------------------------------------------------------------------------------------- figures

def _segment_label(s: dict) -> str:
    return f"{s['action']['code']} {s['action']['name']}" if s["action"] else (s["movement"]["body_part"] or "movement")


def _evidence_html(ev: dict) -> str:
    from html import escape

    return "<br>".join(f"{escape(str(k))}: {escape(str(v))}" for k, v in ev.items())


def _lanes(doc: Record) -> list[str]:
    lanes = []
    for pid in analysed_persons(doc):
        if doc.get("model"):
            lanes.append(f"#{pid} action")
        lanes += [f"#{pid} weight-free", f"#{pid} body part", f"#{pid} hands", f"#{pid} still/absent"]
    return lanes


def _fmt_time(t: float) -> str:
    m, s = divmod(max(t, 0.0), 60)
    return f"{int(m)}:{s:05.2f}"


class _Bars:
    """Timeline bars by trace (legend group, name); ``customdata`` [start, end, segment number or -1]."""

    def __init__(self):
        self.traces: dict[tuple[str, str], dict] = {}

    def add(self, lane: str, name: str, colour: str, start: float, end: float, text: str, seg: int = -1,
            group: str = "") -> None:
        t = self.traces.setdefault((group, name), {"y": [], "base": [], "x": [], "customdata": [], "text": [],
                                                   "colour": colour})
        t["y"].append(lane)
        t["base"].append(start)
        t["x"].append(max(end - start, 0.04))  # a very short event stays visible
        t["customdata"].append([round(start, 3), round(end, 3), seg])
        t["text"].append(f"{text}<br>{_fmt_time(start)}-{_fmt_time(end)} ({end - start:.2f} s)")


def plain(text: object) -> str:
    """Text from a record (label names, codes) for a Plotly figure, where ``<b>``, ``<span style>`` and
    ``<a href>`` are markup: shown as written, never as markup (Plotly turns the entities back into
    characters)."""
    return html.escape(str(text), quote=False)


def _segment_bars(doc: Record, bars: _Bars) -> None:
    """The action lane (MMN, with a checkpoint), the weight-free actions' lane (each instance at its own
    times, coloured by its MA-52 body part, the evidence on hover) and the body-part lane of every
    segment."""
    action_colour: dict[str, str] = {}
    drawn = set()
    for n, s in enumerate(doc["segments"]):
        pid, mv = s["person"], s["movement"]
        for a in weight_free_actions(s):
            if (pid, a["code"], a["start_s"], a["end_s"]) in drawn:
                continue
            drawn.add((pid, a["code"], a["start_s"], a["end_s"]))
            bars.add(f"#{pid} weight-free", f"{a['code']} {a['name']}", PART_COLOURS.get(a["body_name"], "#7f7f7f"),
                     a["start_s"], a["end_s"], f"<b>{a['code']} {a['name']}</b> score {a['score']:.2f}<br>"
                     + _evidence_html(a["evidence"]), n, "weight-free")
        if s["action"] and action_source(s["action"]) == "mmn":
            code, name = s["action"]["code"], s["action"]["name"]
            col = action_colour.setdefault(code, COLOURS[len(action_colour) % len(COLOURS)])
            top = "<br>".join(plain(f"{t['code']} {t['name']}: {t['probability']:.2f}") for t in s["top5"][:3])
            label = plain(f"{code} {name}")
            bars.add(f"#{pid} action", label, col, s["start_s"], s["end_s"],
                     f"<b>{label}</b> p={s['action']['probability']:.2f}<br>{top}", n, "action")
        part = mv["body_part"]
        text = (f"<b>{plain(part)}</b> ({mv['body_part_scores'][part]:.2f}), " if part else "movement, ") + \
            f"energy {mv['motion_energy']:.2f}"
        bars.add(f"#{pid} body part", plain(part or "movement"), PART_COLOURS.get(part, "#bbbbbb"), s["start_s"],
                 s["end_s"], text, n, "body part")


def _person_bars(doc: Record, bars: _Bars) -> None:
    """Per person: hand contacts, and the still/absent stretches."""
    for pid in analysed_persons(doc):
        for c in contacts(doc, pid):
            bars.add(f"#{pid} hands", plain(f"{c['kind']} {c['target']}"), TARGET_COLOURS.get(c["target"], "#7f7f7f"),
                     c["start_s"], c["end_s"], plain(f"{c['hand']} hand {CONTACT_VERBS[c['kind']]} {c['target']}"),
                     -1, "hands")
        for a, b, status in stretches(doc, pid):
            if status != "active":
                bars.add(f"#{pid} still/absent", status, STATUS_COLOURS[status], a, b, status, -1, "status")


def timeline_figure(doc: Record) -> dict:
    """Plotly figure (as a dict): horizontal bars, one lane per person and kind; a click seeks the video
    to the bar's start (``customdata``)."""
    import plotly.graph_objects as go

    bars = _Bars()
    _segment_bars(doc, bars)
    _person_bars(doc, bars)
    fig = go.Figure()
    for (group, name), t in bars.traces.items():
        resting = name.startswith("resting")
        fig.add_trace(go.Bar(
            orientation="h", y=t["y"], base=t["base"], x=t["x"], customdata=t["customdata"], name=name,
            legendgroup=group, legendgrouptitle_text=group, hovertext=t["text"],
            hovertemplate="%{hovertext}<extra></extra>",
            marker=dict(color=t["colour"], opacity=0.45 if resting else 0.9,
                        pattern_shape="/" if resting else "", line_width=0)))
    lanes = _lanes(doc)
    cuts = [dict(type="line", xref="x", yref="paper", x0=s["start_s"], x1=s["start_s"], y0=0, y1=1,
                 line=dict(color="#444", dash="dash", width=1)) for s in doc["shots"][1:]]
    fig.update_layout(
        barmode="overlay", height=90 + 34 * max(len(lanes), 1), margin=dict(l=10, r=10, t=30, b=40),
        xaxis=dict(title="time (s)", range=[0, max(doc["video"]["duration_s"], 1e-3)], showgrid=True,
                   zeroline=False),
        yaxis=dict(categoryorder="array", categoryarray=list(reversed(lanes)), type="category",
                   range=[-0.5, len(lanes) - 0.5], automargin=True),
        legend=dict(orientation="h", y=-0.25, groupclick="toggleitem"), shapes=[_marker_shape()] + cuts,
        hovermode="closest", title=dict(text="Timeline (click a bar to play from there)", font_size=14),
        template="plotly_white")
    return fig.to_plotly_json()


def _marker_shape() -> dict:
    """The playback position (moved by the page's script: always the first shape)."""
    return dict(type="line", xref="x", yref="paper", x0=0, x1=0, y0=0, y1=1, line=dict(color="#d62728", width=2))


def energy_figure(doc: Record) -> dict:
    """Motion energy per body region over time (window centres), per analysed person; the still
    threshold as a dashed line."""
    import plotly.graph_objects as go

    fig = go.Figure()
    dashes = ["solid", "dot", "dash", "longdash"]
    region_colours = dict(zip(REGIONS, ["#1f77b4", "#7f7f7f", "#ff7f0e", "#2ca02c"]))
    persons = analysed_persons(doc)
    for n, pid in enumerate(persons):
        wins = sorted((w for w in doc["windows"] if w["person"] == pid), key=lambda w: w["start_s"])
        x = [round((w["start_s"] + w["end_s"]) / 2, 3) for w in wins]
        has_regions = any("region_energy" in w for w in wins)
        series = ({r: [w["region_energy"].get(r) if w["status"] != "absent" and "region_energy" in w else None
                       for w in wins] for r in REGIONS} if has_regions
                  else {"largest region": [w["motion_energy"] if w["status"] != "absent" else None for w in wins]})
        for r, y in series.items():
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines+markers" if len(x) < 60 else "lines", name=(f"#{pid} " if len(persons) > 1
                                                                              else "") + r,
                line=dict(color=region_colours.get(r, "#333"), dash=dashes[n % len(dashes)], width=1.6),
                marker_size=4, customdata=[[a, a, -1] for a in x], connectgaps=False,
                hovertemplate=f"{r}: %{{y:.3f}} torso lengths/s at %{{x:.1f}} s<extra></extra>"))
    shapes = [_marker_shape()]
    if doc["analysis"]["mode"] == "long":
        thr = doc["analysis"]["still_threshold"]
        shapes.append(dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=thr, y1=thr,
                           line=dict(color="#999", dash="dash", width=1)))
    fig.update_layout(
        height=260, margin=dict(l=10, r=10, t=30, b=40), shapes=shapes, hovermode="closest",
        xaxis=dict(title="time (s)", range=[0, max(doc["video"]["duration_s"], 1e-3)]),
        yaxis=dict(title="torso lengths / s", rangemode="tozero", automargin=True),
        title=dict(text="Motion energy per body region (per window; dashed: still threshold)", font_size=14),
        legend=dict(orientation="h", y=-0.3), template="plotly_white")
    return fig.to_plotly_json()


# --------------------------------------------------------------------------------------- rendering

@functools.lru_cache(maxsize=1)
def plotly_js_packed() -> str:
    """plotly.js from the installed plotly package, gzip-compressed, base64 (about a third of its size;
    the page unpacks it with the browser's DecompressionStream)."""
    from plotly.offline import get_plotlyjs

    return base64.b64encode(gzip.compress(get_plotlyjs().encode("utf-8"), 9, mtime=0)).decode("ascii")


def template_env(**filters):
    """The pages' Jinja environment (``assets/report``): autoescaped, strict, with ``tojson_script`` and
    the given filters (the agreement page uses it too)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson_script"] = json_for_script
    env.filters.update(filters)
    return env


@functools.lru_cache(maxsize=1)
def _env():
    return template_env(mmss=_fmt_time)


def json_for_script(obj, allow_nan: bool = True) -> str:
    """JSON safe inside a <script> element (``allow_nan=False``: NaN refused, as JSON has none)."""
    from markupsafe import Markup

    text = json.dumps(obj, separators=(",", ":"), default=_json_default, allow_nan=allow_nan)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _link(target: Path, start: Path) -> str:
    """A link to ``target`` from a page in ``start``: relative, URL-quoted (absolute on another drive)."""
    path = Path(relative_path(target, start))
    return path.as_uri() if path.is_absolute() else quote(path.as_posix())


def _segment_rows(doc: Record, thumbs: list[str | None]) -> list[dict]:
    rows = []
    for n, s in enumerate(doc["segments"]):
        mv = s["movement"]
        touches = [f"{c['hand']} {c['target']}" + (" (leave)" if c.get("kind") == "leave" else "")
                   for c in mv["touch_events"]]
        rows.append({
            "n": n + 1, "person": s["person"], "start": s["start_s"], "end": s["end_s"], "duration": s["duration_s"],
            "action": f"{s['action']['code']} {s['action']['name']}" if s["action"] else "",
            "source": action_source(s["action"]),
            "probability": action_confidence(s["action"]),
            "weight_free": "; ".join(f"{a['code']} {a['name']} {a['score']:.2f}" for a in weight_free_actions(s)),
            "top5": ", ".join(f"{t['code']} {t['probability']:.2f}" for t in s["top5"]),
            "mmn_body": s["body"]["name"] if s["body"] else "",
            "body_part": mv["body_part"] or "", "body_part_score": mv["body_part_scores"].get(mv["body_part"])
            if mv["body_part"] else None,
            "energy": mv["motion_energy"], "touches": "; ".join(touches),
            "resting": "; ".join(f"{c['hand']} {c['target']}" for c in mv["resting_contacts"]),
            "thumb": thumbs[n] if n < len(thumbs) else None})
    return rows


def render_video_report(doc: Record, json_path: Path, video: Path | None, thumbs: list[str | None],
                        overlay: Path | None = None, out: Path | None = None) -> str:
    """The HTML text of one video's report (``out``: the batch folder, for the link to its index)."""
    folder = json_path.parent
    index_link = _link(out / "index.html", folder) if out is not None else None
    player = overlay if overlay is not None and overlay.is_file() else video
    persons = {p["id"]: p for p in doc["pose"]["persons"]}
    shown = [dict(persons.get(pid, {"id": pid}), colour=PERSON_COLOURS[n % len(PERSON_COLOURS)])
             for n, pid in enumerate(analysed_persons(doc))]
    settings = {"pose backend": doc["pose"]["backend"], "pose settings": doc["pose"]["settings"],
                "keypoint stabiliser": doc["pose"]["stabilizer"], "analysis": doc["analysis"],
                "model": doc["model"], "tool": doc["tool"], "timing": doc.get("timing", {}),
                "settings key": doc.get("settings_key")}
    missing_thumbs = sum(1 for t in thumbs if t is None)
    return _env().get_template("video.html.j2").render(
        doc=doc, name=json_path.name[:-len(".json")], video_src=_link(player, folder) if player else None,
        video_is_overlay=player is not None and player == overlay, video_missing=video is None,
        timeline=timeline_figure(doc), energy=energy_figure(doc), rows=_segment_rows(doc, thumbs),
        has_model=bool(doc.get("model")), persons=shown, settings=json.dumps(settings, indent=1, default=str),
        checkpoints=(doc["model"] or {}).get("checkpoints", []), plotly_js=plotly_js_packed(),
        missing_thumbs=missing_thumbs if video is not None else 0, max_keyframes=MAX_KEYFRAMES,
        index_link=index_link)


def write_video_report(json_path: Path, doc: Record, video: Path | None = None, pose=None, info=None,
                       video_root: Path | None = None, with_keyframes: bool = True, out: Path | None = None) -> Path:
    """Write ``NAME.report.html`` beside the record. ``pose`` (a ``PoseResult``) draws skeletons on
    the keyframes; without it the pose cache named in the record is read when it is there."""
    video = video if video is not None and Path(video).is_file() else find_video(doc, json_path, video_root)
    thumbs: list[str | None] = [None] * len(doc["segments"])
    if with_keyframes and video is not None and doc["segments"]:
        if pose is None and doc["pose"].get("cache"):
            pose = _load_cache(json_path.with_name(doc["pose"]["cache"]), doc)
        thumbs = keyframes(doc, video, pose, info)
    overlay = json_path.with_name(json_path.name[:-len(".json")] + ".overlay.mp4")
    path = report_path(json_path)
    write_text_atomic(path, render_video_report(doc, json_path, video, thumbs, overlay, out))
    remove_stale_parts(path)
    return path


def remove_stale_parts(page: Path) -> None:
    """Temporary files of ``page`` that a killed writer left (``STALE_PART_S``)."""
    for part in stale_parts(page, STALE_PART_S):
        with contextlib.suppress(OSError):
            part.unlink()


def _load_cache(path: Path, doc: Record):
    from pose.result import load_pose

    if not path.is_file():
        return None
    try:
        pose = load_pose(path)
    except (OSError, ValueError):
        return None
    return pose if pose.fingerprint == doc["video"]["fingerprint"] else None


def render_index(out: Path, entries: list[Entry], cats: list[Category]) -> str:
    rows, used = [], set()
    for r in _person_rows(entries):
        path = r.entry.json_path
        link = _link(report_path(path), out) if path is not None and report_path(path).is_file() else None
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
    return _env().get_template("index.html.j2").render(
        out=out.name or str(out), rows=rows, cats=shown, done=done, failed=failed, unreadable=unreadable)


def _cell(n: int, secs: float, minutes: float) -> dict:
    """An index.html cell: count, rate per minute of video, total seconds."""
    return {"n": n, "rate": n / minutes if minutes > 0 else 0.0, "secs": secs}


def write_batch(out: Path, entries: list[Entry]) -> tuple[Path, Path]:
    """``summary.csv`` and ``index.html`` in ``out``; when they cannot be made, the old ones are removed
    (they would pass for this run's) and the error is raised."""
    docs = [e.doc for e in entries if e.doc is not None]
    try:
        cats = categories(docs)
        texts = {"summary.csv": summary_csv(entries, cats), "index.html": render_index(out, entries, cats)}
        for name, text in texts.items():
            write_text_atomic(out / name, text)
            remove_stale_parts(out / name)
    except Exception:
        remove_batch_pages(out)
        raise
    return out / "index.html", out / "summary.csv"


def remove_batch_pages(out: Path) -> None:
    """``index.html`` and ``summary.csv`` of an earlier run, when this run's cannot be written."""
    for name in ("summary.csv", "index.html"):
        with contextlib.suppress(OSError):
            (out / name).unlink()


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


# -------------------------------------------------------------------------------------------- CLI

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
            except Exception as e:  # one bad record never stops the others
                failed += 1
                _say(f"error: {path}: report not written ({type(e).__name__}: {e})")
    try:
        index, summary = write_batch(args.out, batch_entries(args.out, records=records))
    except Exception as e:  # noqa: BLE001 - a bug of ours or the disk: said in one line, no stale pages left
        _say(f"error: {args.out / 'index.html'} and summary.csv not written ({type(e).__name__}: {e}); the old "
             "ones are removed")
        return 1
    print(visible(index))
    print(visible(summary))
    return 1 if failed else 0


def _say(message: object) -> None:
    """One line on stderr (names shown safely: ``common.cli.terminal_line``)."""
    print(terminal_line(message), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
