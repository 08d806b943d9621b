"""Output files for one video (JSON, CSV, ELAN, overlay video) and for a batch (MA-52 submission CSV).

Every file is written atomically (``common.fileio``): a reader never sees half a file, and an
interrupted run leaves none behind. The JSON document is the record of a finished video: it is
written last, and ``--resume`` looks for it.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import re
from pathlib import Path

from common.fileio import atomic_path, write_text_atomic

from .drawing import draw_skeleton, person_rgb
from .record import (CONTACT_VERBS, Record, action_label, action_source, analysed_persons,
                     contacts, weight_free_actions)

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "assets" / "result.schema.json"
CSV_COLUMNS = ["video", "person", "start_s", "end_s", "duration_s", "action_id", "action_code", "action_name",
               "body_id", "body_name", "action_source", "probability", "action_score", "top5", "weight_free_actions",
               "body_part", "body_part_score", "motion_energy", "touch_events", "resting_contacts"]
OVERLAY_JOINT_RADIUS = 3  # px, on the full-size frame
NO_CHECKPOINT_NOTE = (
    "No MMN checkpoint configured: segments carry the weight-free actions (49 of the 52 MA-52 micro-actions, "
    "named from the skeleton with their evidence) and the movement description. For MMN's recognition, "
    "download the MMN authors' MA-52 checkpoints (joint and bone .pt files, research licence) "
    "and pass --checkpoint JOINT.pt [--bone-checkpoint BONE.pt], or train one with `microaction-train`."
)


def segment_record(seg, recognizer) -> dict:
    """A segment's record: MMN's action and body part with a checkpoint (``source: mmn``), else the best
    weight-free action (``source: kinematics``); the weight-free actions always in ``movement.actions``."""
    actions = [a.record() for a in seg.actions]
    record = {"person": int(seg.person), "start_s": round(seg.start_s, 3), "end_s": round(seg.end_s, 3),
           "duration_s": round(seg.end_s - seg.start_s, 3), "windows": len(seg.windows),
           "action": None, "body": None, "top5": [], "movement": dict(seg.movement, actions=actions)}
    if seg.probabilities is None or recognizer is None:
        if actions:
            best = actions[0]
            record["action"] = {"id": best["id"], "code": best["code"], "name": best["name"], "score": best["score"],
                                "source": "kinematics"}
            record["body"] = {"id": best["body_id"], "name": best["body_name"], "source": "kinematics"}
        return record
    if seg.probabilities is not None and recognizer is not None:
        pred = recognizer.prediction(seg.probabilities)
        record["action"] = {k: pred.top5[0][k] for k in ("id", "code", "name")}
        record["action"]["probability"] = round(pred.top5[0]["probability"], 6)
        record["action"]["source"] = "mmn"
        record["body"] = {"id": pred.body_id, "name": pred.body_name, "source": "mmn"}
        record["top5"] = [dict(t, probability=round(t["probability"], 6),
                            body_id=recognizer.labels[t["id"]].body_id) for t in pred.top5]
    return record


def window_record(w) -> dict:
    record = {"start_s": round(w.start_s, 3), "end_s": round(w.end_s, 3), "status": w.status,
           "motion_energy": round(float(w.energy), 4)}
    if w.regions:
        record["region_energy"] = {k: round(float(v), 4) for k, v in w.regions.items()}
    if w.prediction is not None:
        record["action_code"] = w.prediction.top5[0]["code"]
        record["probability"] = round(w.prediction.top5[0]["probability"], 6)
    return record


def schema_problem(doc: object) -> str | None:
    """The first way ``doc`` breaks ``assets/result.schema.json``, in one line (``segments/0/start_s: "0.1"
    is not of type "number"``); None when it fits. jsonschema-rs: 8 ms for a 2-hour record (jsonschema:
    1 s), so the batch pages check every record they show."""
    error = next(_schema_validator().iter_errors(doc), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.instance_path) or "the record"
    return f"{where}: {' '.join(error.message.split())[:200]}"


def validate(doc: Record) -> None:
    """Check a result document against ``assets/result.schema.json`` (``ValueError`` on a mismatch)."""
    problem = schema_problem(doc)
    if problem:
        raise ValueError(problem)


@functools.lru_cache(maxsize=1)
def _schema_validator():
    import jsonschema_rs

    return jsonschema_rs.validator_for(json.loads(SCHEMA_PATH.read_text()))


def _fmt_top5(top5: list[dict]) -> str:
    return ";".join(f"{t['code']}:{t['probability']:.4f}" for t in top5)


def _fmt_actions(items: list[dict]) -> str:
    """``B1:0.62@2.10-2.97`` per weight-free action, ``;``-separated, best first."""
    return ";".join(f"{a['code']}:{a['score']:.2f}@{a['start_s']:.2f}-{a['end_s']:.2f}" for a in items)


def _fmt_contacts(items: list[dict]) -> str:
    """``left-face/head@1.20-2.05`` (touch events) / ``left-legs@...:leave``; ``;``-separated."""
    return ";".join(f"{c['hand']}-{c['target']}@{c['start_s']:.2f}-{c['end_s']:.2f}"
                    + (f":{c['kind']}" if c.get("kind", "touch") != "touch" else "") for c in items)


def csv_text(doc: Record) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    video = doc["video"]["file"]
    for s in doc["segments"]:
        a, b, mv = s["action"] or {}, s["body"] or {}, s["movement"]
        w.writerow({"video": video, "person": s["person"], "start_s": f"{s['start_s']:.3f}",
                    "end_s": f"{s['end_s']:.3f}", "duration_s": f"{s['duration_s']:.3f}",
                    "action_id": a.get("id", ""), "action_code": a.get("code", ""), "action_name": a.get("name", ""),
                    "body_id": b.get("id", ""), "body_name": b.get("name", ""),
                    "action_source": action_source(s["action"]),
                    "probability": f"{a['probability']:.4f}" if "probability" in a else "",
                    "action_score": f"{a['score']:.4f}" if "score" in a else "", "top5": _fmt_top5(s["top5"]),
                    "weight_free_actions": _fmt_actions(weight_free_actions(s)),
                    "body_part": mv["body_part"] or "",
                    "body_part_score": f"{mv['body_part_scores'][mv['body_part']]:.4f}" if mv["body_part"] else "",
                    "motion_energy": mv["motion_energy"], "touch_events": _fmt_contacts(mv["touch_events"]),
                    "resting_contacts": _fmt_contacts(mv["resting_contacts"])})
    return buf.getvalue()


def write_csv(path: Path, doc: Record) -> None:
    write_text_atomic(path, csv_text(doc))


def _eaf_value(s: dict) -> str:
    if s["action"]:
        return action_label(s["action"])
    return f"movement: {_body_part_value(s)}"


def _actions_value(s: dict) -> str:
    """The weight-free actions of a segment with their scores and the key evidence."""
    return "; ".join(f"{a['code']} {a['name']} ({a['score']:.2f}{_evidence_brief(a['evidence'])})"
                     for a in weight_free_actions(s))


def _evidence_brief(ev: dict) -> str:
    keys = [("amplitude_deg", "{} deg"), ("rate_hz", "{} Hz"), ("target", "at {}"), ("hand", "{} hand")]
    parts = [fmt.format(ev[k]) for k, fmt in keys if ev.get(k) not in (None, "")]
    return (", " + ", ".join(parts)) if parts else ""


def _body_part_value(s: dict) -> str:
    mv = s["movement"]
    if not mv["body_part"]:
        return f"none (energy {mv['motion_energy']:.2f})"
    return f"{mv['body_part']} ({mv['body_part_scores'][mv['body_part']]:.2f}; energy {mv['motion_energy']:.2f})"


def _contact_annotations(doc: Record, pid: int) -> dict[str, list[tuple[float, float, str]]]:
    """Per hand: touch/leave events and resting contacts of one person (each once: segments may
    share them)."""
    out = {"left": [], "right": []}
    for c in contacts(doc, pid):
        out[c["hand"]].append((c["start_s"], c["end_s"], f"{CONTACT_VERBS[c['kind']]} {c['target']}"))
    return {hand: sorted(items) for hand, items in out.items()}


# characters XML 1.0 does not allow (C0 controls but tab and line ends, surrogates, U+FFFE/U+FFFF):
# ElementTree writes them as they are, and the file is then no XML that ELAN can open
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` with the characters XML cannot hold replaced by U+FFFD (a label or file name with an
    escape character, say)."""
    return _NOT_XML.sub("\ufffd", text)


def write_eaf(path: Path, doc: Record, video_path: Path) -> None:
    """ELAN annotation file linked to the video (relative and absolute URL). Per person: ``person_<id>``
    (the segments: action, or movement body part), ``person_<id> weight-free actions`` (the actions
    named from the keypoints, with score and evidence), ``person_<id> body part`` (the weight-free MA-52
    body part of every segment) and ``person_<id> left hand`` / ``right hand`` (touch and leave events,
    resting contacts)."""
    import pympi

    eaf = pympi.Elan.Eaf(author="micro-action finder")
    mime = "video/mp4" if video_path.suffix.lower() in (".mp4", ".m4v", ".mov") else "video/*"
    rel = Path(relative_path(video_path, path.parent))
    eaf.add_linked_file(video_path.resolve().as_uri(), relpath=xml_text(rel.as_posix()), mimetype=mime)
    if "default" in eaf.tiers:
        eaf.remove_tier("default")
    persons = analysed_persons(doc)
    for pid in persons:
        tier, kin, parts = f"person_{pid}", f"person_{pid} weight-free actions", f"person_{pid} body part"
        for t in (tier, kin, parts):
            eaf.add_tier(t)
        for s in doc["segments"]:
            start, end = int(round(s["start_s"] * 1000)), int(round(s["end_s"] * 1000))
            if s["person"] == pid and end > start:
                eaf.add_annotation(tier, start, end, xml_text(_eaf_value(s)))
                eaf.add_annotation(parts, start, end, xml_text(_body_part_value(s)))
                if weight_free_actions(s):
                    eaf.add_annotation(kin, start, end, xml_text(_actions_value(s)))
        for hand, items in _contact_annotations(doc, pid).items():
            last_end: dict[str, int] = {}
            for a, b, text in items:  # an ELAN tier holds no overlapping annotations: overflow tiers
                start, end = int(round(a * 1000)), int(round(b * 1000))
                name, k = f"person_{pid} {hand} hand", 2
                while last_end.get(name, -1) > start:
                    name, k = f"person_{pid} {hand} hand {k}", k + 1
                if name not in eaf.tiers:
                    eaf.add_tier(name)
                if end > start:
                    eaf.add_annotation(name, start, end, xml_text(text))
                    last_end[name] = end
    with atomic_path(path) as tmp:
        tmp.unlink()  # pympi renames an existing file to .bak before writing
        eaf.to_file(str(tmp))


def relative_path(target: Path, start: Path) -> str:
    """``target`` relative to the folder ``start`` (absolute when on another drive)."""
    import os

    try:
        return os.path.relpath(target.resolve(), start.resolve())
    except ValueError:  # another drive on Windows
        return str(target.resolve())


def submission_rows(docs: list[Record]) -> list[tuple]:
    """Per video with a checkpoint's segments: the top-5 of its longest segment (``recognizer.submission``)."""
    rows = []
    for doc in docs:
        segs = [s for s in doc["segments"] if s["top5"]]
        if not segs:
            continue
        best = max(segs, key=lambda s: s["duration_s"])
        rows.append((doc["video"]["file"], [t["id"] for t in best["top5"]], [t["body_id"] for t in best["top5"]]))
    return rows


def write_submission(out_dir: Path, docs: list[Record]) -> Path:
    """MA-52 test-server ``prediction.csv`` (and ``prediction.zip`` for upload)."""
    from recognizer.submission import write_submission as write

    return write(out_dir, submission_rows(docs))


def write_overlay(path: Path, video_path: Path, info, pose, tracks, segments: list[dict]) -> None:
    """Overlay video at the source frame rate: skeletons (a colour per person) and the current segments'
    labels (with the person's id when there are several)."""
    import cv2

    from .video_decode import iter_frames
    from .video_write import write_video

    def frames():
        for fr in iter_frames(video_path, info):
            img = fr.image.copy()
            for n, tr in enumerate(tracks):
                if fr.index < len(tr.keypoints) and tr.present[fr.index]:
                    draw_skeleton(img, tr.keypoints[fr.index], person_rgb(n), OVERLAY_JOINT_RADIUS, smooth=False)
            label = [(f"#{s['person']} " if len(tracks) > 1 else "") + _eaf_value(s)
                     for s in segments if s["start_s"] <= fr.time < s["end_s"]]
            text = f"{fr.time:6.2f}s  " + (" | ".join(label) if label else "-")
            scale = max(0.5, info.width / 1400)
            cv2.putText(img, text, (10, int(30 * scale + 10)), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 4)
            cv2.putText(img, text, (10, int(30 * scale + 10)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1)
            yield img

    write_video(path, frames(), info.fps or 30.0, (info.width, info.height))
