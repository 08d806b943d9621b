"""The record of one video: what a run produces, typed, and built here only.

``Record`` (and the types below it) is the JSON document ``NAME.json`` (schema
``assets/result.schema.json``, held to these types by ``tests/test_record.py``). Every exporter
(CSV, ELAN, overlay, submission, browser report) reads a ``Record``; ``build_record`` makes it from
the analysis of a video, so the document's knowledge lives in this module and the schema.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, TypedDict

from common.frames import frame_rate
from pose.result import PoseResult
from pose.types import PersonTrack

from . import __version__
from .method import method_version
from .cut_detection import shot_records

SCHEMA_VERSION = 3
TOOL = {"name": "microaction-finder", "version": __version__}


class Ranked(TypedDict):
    id: int
    code: str
    name: str
    probability: float
    body_id: int


class Contact(TypedDict, total=False):
    hand: str  # left | right
    target: str  # face/head | torso | legs
    start_s: float
    end_s: float
    kind: str  # touch | leave (touch events only)


class ActionEntry(TypedDict):
    """A weight-free action instance (``recognizer.kinematics``) in a segment's ``movement.actions``."""
    id: int
    code: str
    name: str
    body_id: int
    body_name: str
    start_s: float
    end_s: float
    score: float
    evidence: dict[str, Any]


class Movement(TypedDict):
    body_part: Optional[str]
    body_part_scores: dict[str, float]
    part_energy: dict[str, float]
    motion_energy: float
    region_energy: dict[str, float]
    touch_events: list[Contact]
    resting_contacts: list[Contact]
    actions: list[ActionEntry]  # weight-free actions, best first (schema 3)


class SegmentRecord(TypedDict):
    person: int
    start_s: float
    end_s: float
    duration_s: float
    windows: int
    action: Optional[dict[str, Any]]  # id, code, name, source; probability (mmn) or score (kinematics)
    body: Optional[dict[str, Any]]  # id, name, source (MMN's body part, or the weight-free action's)
    top5: list[Ranked]
    movement: Movement


class WindowRecord(TypedDict, total=False):
    person: int
    start_s: float
    end_s: float
    status: str  # active | still | absent
    motion_energy: float
    region_energy: dict[str, float]
    action_code: str
    probability: float


class VideoInfoRecord(TypedDict, total=False):
    file: str
    path: str  # relative to the input folder
    fingerprint: str
    duration_s: float
    fps: float
    num_frames: int
    width: int
    height: int
    rotation: int
    codec: str
    source: str  # absolute path when processed
    frames_expected: Optional[int]  # the video stream's packets (None: unknown); num_frames were decoded
    frames_analysed: int  # decoded frames the pose model ran on
    missing: list[dict]  # start_s, end_s, frames: stretches the file holds that could not be decoded


class PersonRecord(TypedDict):
    id: int
    frames_seen: int
    presence: float
    mean_area_px: float
    subject: bool
    analysed: bool


class PoseRecord(TypedDict):
    backend: str
    settings: dict
    stabilizer: dict
    cache: Optional[str]
    persons: list[PersonRecord]


class ModelRecord(TypedDict):
    checkpoints: list[dict]
    fusion: str
    labels: str  # the label set's name
    actions: list[dict]  # the label set: id, code, name, body_id, body_name per class
    device: str
    precision: str


class AnalysisRecord(TypedDict):
    mode: str
    requested_mode: str
    window_s: float
    stride_s: float
    still_threshold: float
    smooth_s: float
    person: str


class ShotRecord(TypedDict):
    start_s: float
    end_s: float
    first_frame: int


class OutputFile(TypedDict):
    file: str  # beside the record
    fingerprint: str  # its size and SHA-256 (pose.result.video_fingerprint)


class Record(TypedDict):
    schema_version: int
    tool: dict[str, str]
    video: VideoInfoRecord
    pose: PoseRecord
    model: Optional[ModelRecord]
    analysis: AnalysisRecord
    shots: list[ShotRecord]
    segments: list[SegmentRecord]
    windows: list[WindowRecord]
    notes: list[str]
    settings_key: str
    outputs: dict[str, OutputFile]  # csv, eaf[, overlay]: the files this record was written with
    timing: dict[str, Any]


@dataclass
class VideoAnalysis:
    """What the analysis of one video found (before it becomes a record)."""
    mode: str  # clip | long
    people: list[PersonTrack]  # the persons analysed
    subject: Optional[int]  # the interviewee's track id
    segments: list[SegmentRecord]
    windows: list[WindowRecord]


def video_record(job, fingerprint: str, info, pose: PoseResult, duration: float, fps: float,
                 frames: Optional["FrameCount"]) -> VideoInfoRecord:
    rec: VideoInfoRecord = {
        "file": job.path.name, "path": job.rel.parent.joinpath(job.path.name).as_posix(),
        "fingerprint": fingerprint, "duration_s": round(duration, 3), "fps": round(fps, 4),
        "num_frames": pose.num_frames, "width": info.width, "height": info.height, "rotation": info.rotation,
        "codec": info.codec, "source": str(job.path.resolve()),
        "frames_analysed": int(pose.extra.get("pose_frames", pose.num_frames))}
    if frames is not None:
        rec["frames_expected"] = frames.expected
        rec["missing"] = [{"start_s": round(a, 3), "end_s": round(b, 3), "frames": n} for a, b, n in frames.missing]
    return rec


@dataclass
class FrameCount:
    """The frames a video's file holds against those decoded (``pipeline.frame_notes.count_frames``)."""
    expected: Optional[int]  # its video packets; None when they could not be read
    missing: list[tuple[float, float, int]]  # (start, end, frames) that could not be decoded


def pose_record(pose: PoseResult, cache: Optional[str], analysis: VideoAnalysis) -> PoseRecord:
    analysed = {tr.id for tr in analysis.people}
    persons: list[PersonRecord] = [
        {"id": tr.id, "frames_seen": tr.num_frames_seen, "presence": round(tr.num_frames_seen / max(pose.num_frames, 1), 4),
         "mean_area_px": round(tr.mean_area(), 1), "subject": tr.id == analysis.subject, "analysed": tr.id in analysed}
        for tr in pose.tracks if tr.num_frames_seen]
    return {"backend": pose.backend, "settings": pose.settings, "stabilizer": pose.stabilizer, "cache": cache,
            "persons": persons}


def model_record(recognizer) -> Optional[ModelRecord]:
    if recognizer is None:
        return None
    return {"checkpoints": recognizer.checkpoints,
            "fusion": "mean of joint and bone logits" if len(recognizer.streams) == 2 else "single stream",
            "labels": recognizer.labels.name, "actions": recognizer.labels.to_list(), "device": str(recognizer.device), "precision": recognizer.precision}


def analysis_record(opts, mode: str, smooth_s: float) -> AnalysisRecord:
    return {"mode": mode, "requested_mode": opts.mode, "window_s": opts.window_s, "stride_s": opts.stride_s,
            "still_threshold": opts.still_threshold, "smooth_s": smooth_s, "person": opts.person}


def decoded_rate(pose: PoseResult, info) -> float:
    """The frames' usual rate: the container's own when the decoded frames agree with it (within 1 %: the
    times are rounded to microseconds), else the decoded frames' (holes and equal timestamps put the
    container's average off)."""
    if pose.num_frames < 2:
        return info.fps
    rate = frame_rate(pose.times, info.fps or 30.0)
    return info.fps if info.fps and abs(rate - info.fps) <= 0.01 * info.fps else rate


def build_record(job, fingerprint: str, info, pose: PoseResult, analysis: VideoAnalysis, *, opts, recognizer,
                 cache: Optional[str], notes: list[str], settings_key: str, smooth_s: float,
                 frames: Optional[FrameCount] = None) -> Record:
    """The record of a video (``outputs`` and ``timing`` are added when the run ends)."""
    duration = pose.duration if pose.num_frames else info.duration  # the decoded frames, not the header
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": dict(TOOL, method=method_version()),  # the method's version: pipeline.method
        "video": video_record(job, fingerprint, info, pose, duration, decoded_rate(pose, info), frames),
        "pose": pose_record(pose, cache, analysis),
        "model": model_record(recognizer),
        "analysis": analysis_record(opts, analysis.mode, smooth_s),
        "shots": shot_records(pose.cuts, pose.times, duration),
        "segments": analysis.segments,
        "windows": analysis.windows,
        "notes": notes,
        "settings_key": settings_key,
        "outputs": {},  # filled in as the files are written (pipeline.results)
        "timing": {},
    }


# -- reading a record (the exporters and the report) -------------------------------------------------
def action_confidence(action: Optional[dict]) -> Optional[float]:
    """MMN's probability or the weight-free score of a segment's action (None without one)."""
    if not action:
        return None
    value = action.get("probability", action.get("score"))
    return None if value is None else float(value)


def action_source(action: Optional[dict]) -> str:
    """``mmn`` or ``kinematics`` (records before schema 3 had MMN actions only)."""
    return action.get("source", "mmn") if action else ""


def action_label(action: dict) -> str:
    """``B1 nodding (0.62)`` for MMN, ``B1 nodding [weight-free 0.62]`` for the kinematics."""
    value = action_confidence(action)
    if action_source(action) == "kinematics":
        return f"{action['code']} {action['name']} [weight-free {value:.2f}]"
    return f"{action['code']} {action['name']} ({value:.2f})"


def upgrade_record(doc: dict) -> dict:
    """A record of an earlier schema in the current one's shape, so that older output folders still open
    in the report. Version 2 -> 3: segments' actions and body parts were MMN's (``source: mmn``) and
    there were no weight-free actions. Records of the current version are returned as they are."""
    if doc.get("schema_version") != 2:
        return doc
    doc = dict(doc, schema_version=SCHEMA_VERSION, segments=[dict(s) for s in doc.get("segments", [])])
    for s in doc["segments"]:
        for key in ("action", "body"):
            if isinstance(s.get(key), dict):
                s[key] = dict(s[key], source="mmn")
        if isinstance(s.get("movement"), dict):
            s["movement"] = dict(s["movement"], actions=s["movement"].get("actions", []))
    return doc


def weight_free_actions(segment: dict) -> list[dict]:
    """A segment's weight-free actions (empty in records before schema 3)."""
    return segment["movement"].get("actions", [])

CONTACT_VERBS = {"touch": "touches", "leave": "leaves", "resting": "rests on"}


def analysed_persons(doc: Record) -> list[int]:
    """The ids of the persons a record analysed."""
    ids = {p["id"] for p in doc["pose"]["persons"] if p.get("analysed")}
    ids |= {s["person"] for s in doc["segments"]} | {w["person"] for w in doc["windows"]}
    return sorted(ids)


def contacts(doc: Record, pid: int) -> list[dict]:
    """A person's touch/leave events and resting contacts, each once (segments may share them);
    ``kind`` is touch, leave or resting."""
    seen, out = set(), []
    for s in doc["segments"]:
        if s["person"] != pid:
            continue
        items = [(c, c.get("kind", "touch")) for c in s["movement"]["touch_events"]]
        for c, kind in items + [(c, "resting") for c in s["movement"]["resting_contacts"]]:
            key = (c["hand"], c["target"], c["start_s"], c["end_s"], kind)
            if key not in seen:
                seen.add(key)
                out.append(dict(c, kind=kind))
    return sorted(out, key=lambda c: (c["start_s"], c["hand"]))
