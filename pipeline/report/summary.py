"""What the batch pages count: the categories (MMN actions, weight-free actions, MA-52 body parts, touch
targets), per video and analysed person their counts and seconds, the active, still and absent time,
and ``summary.csv``."""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from definitions.labels import ma52_labels

from ..description import BODY_PARTS
from ..motion import TARGETS
from ..record import Record, action_source, analysed_persons, contacts, weight_free_actions
from ..segments import owned_spans

TOUCH_TARGETS = tuple(TARGETS)  # face/head, torso, legs
# windows less than this apart meet halfway (a frame apart: windows of older records end before their
# last frame)
GAP_S = 0.25
SUMMARY_FIXED = ["video", "path", "status", "message", "duration_s", "person", "subject", "presence", "segments",
                 "active_s", "still_s", "absent_s"]


@dataclass
class Category:
    column: str  # summary.csv column stem
    title: str  # shown in index.html
    group: str  # action | weight-free action | body part | touch
    key: tuple = ()  # what ``person_counts`` counts it under


@dataclass
class Entry:
    """One video of a batch: its record (None when it failed before one was written, or cannot be shown)."""
    video: str
    status: str  # done | skipped | failed | unreadable
    message: str = ""
    json_path: Path | None = None
    doc: Record | None = None


@dataclass
class PersonRow:
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


def stretches(doc: Record, pid: int) -> list[tuple[float, float, str]]:
    """A person's windows as consecutive stretches of one status (active, still, absent): each window
    owns the time ``segments.owned_spans`` gives it (as segments do, from the record's times); windows
    less than ``GAP_S`` apart (a frame: windows end before their last frame) meet halfway."""
    wins = sorted((w for w in doc["windows"] if w["person"] == pid), key=lambda w: w["start_s"])
    spans = owned_spans([(w["start_s"], w["end_s"]) for w in wins])
    owned = [[lo, hi, w["status"]] for (lo, hi), w in zip(spans, wins)]
    for prev, nxt, a, b in zip(owned, owned[1:], wins, wins[1:]):
        if a["end_s"] <= b["start_s"] and b["start_s"] - a["end_s"] < GAP_S:
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


def label_set(doc: Record) -> list[tuple[str, str]]:
    """The (code, name) of every action of the label set a record was made with (records made before
    the record held its label set: MA-52's when that was their set, else none)."""
    model = doc.get("model") or {}
    if "actions" in model:
        return [(a["code"], a["name"]) for a in model["actions"]]
    if model.get("labels") == "MA-52":
        return [(a.code, a.name) for a in ma52_labels().actions]
    return []


def categories(docs: list[Record]) -> list[Category]:
    """The summary's categories: MMN actions (every action of the records' label sets when any record has
    a model, in label order, plus actions seen; a code named differently by two label sets gets a column
    per name), the weight-free actions (``kin_<code>``: every MA-52 action the weight-free recognizer can
    name), the seven MA-52 body parts, the three touch targets."""
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


def summary_columns(cats: list[Category]) -> list[str]:
    """``summary.csv``'s columns: the fixed ones, then per category ``<stem>_n`` (count), ``<stem>_per_min``
    (count per minute of video) and ``<stem>_s`` (total seconds)."""
    return SUMMARY_FIXED + [f"{c.column}_{m}" for c in cats for m in ("n", "per_min", "s")]


def person_rows(entries: list[Entry]) -> list[PersonRow]:
    """A row per video and analysed person (one row for a video with nobody analysed or no record)."""
    rows = []
    for e in entries:
        if e.doc is None:
            rows.append(PersonRow(e))
            continue
        persons = {p["id"]: p for p in e.doc["pose"]["persons"]}
        for pid in analysed_persons(e.doc) or [None]:
            rows.append(PersonRow(e, pid, persons.get(pid, {}),
                                  sum(1 for s in e.doc["segments"] if s["person"] == pid),
                                  person_counts(e.doc, pid) if pid is not None else {},
                                  e.doc["video"]["duration_s"] / 60.0))
    return rows


def summary_rows(entries: list[Entry], cats: list[Category]) -> list[dict]:
    """``summary.csv``'s rows (``summary_columns``), as text where the CSV shows rounded numbers."""
    rows = []
    for r in person_rows(entries):
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
