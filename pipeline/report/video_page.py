"""One video's ``NAME.report.html``: the video in a player, the figures, the table of segments with
their keyframes, the settings used; one file that opens offline (everything but the video inside)."""
from __future__ import annotations

import json
from pathlib import Path

from ..drawing import person_colour
from ..record import Record, action_confidence, action_source, analysed_persons, weight_free_actions
from .figures import energy_figure, timeline_figure
from .keyframes import MAX_KEYFRAMES, keyframes, pose_from_cache
from .record_files import find_video, report_path
from .rendering import page_link, plotly_js_packed, report_env, write_page


def write_video_report(json_path: Path, doc: Record, video: Path | None = None, pose=None, info=None,
                       video_root: Path | None = None, with_keyframes: bool = True, out: Path | None = None) -> Path:
    """Write ``NAME.report.html`` beside the record. ``pose`` (a ``PoseResult``) draws skeletons on
    the keyframes; without it the pose cache named in the record is read when it is there."""
    video = video if video is not None and Path(video).is_file() else find_video(doc, json_path, video_root)
    thumbs: list[str | None] = [None] * len(doc["segments"])
    if with_keyframes and video is not None and doc["segments"]:
        if pose is None and doc["pose"].get("cache"):
            pose = pose_from_cache(json_path.with_name(doc["pose"]["cache"]), doc)
        thumbs = keyframes(doc, video, pose, info)
    overlay = json_path.with_name(json_path.name[:-len(".json")] + ".overlay.mp4")
    path = report_path(json_path)
    write_page(path, render_video_report(doc, json_path, video, thumbs, overlay, out))
    return path


def render_video_report(doc: Record, json_path: Path, video: Path | None, thumbs: list[str | None],
                        overlay: Path | None = None, out: Path | None = None) -> str:
    """The HTML text of one video's report (``out``: the batch folder, for the link to its index)."""
    folder = json_path.parent
    index_link = page_link(out / "index.html", folder) if out is not None else None
    player = overlay if overlay is not None and overlay.is_file() else video
    persons = {p["id"]: p for p in doc["pose"]["persons"]}
    shown = [dict(persons.get(pid, {"id": pid}), colour=person_colour(n))
             for n, pid in enumerate(analysed_persons(doc))]
    settings = {"pose backend": doc["pose"]["backend"], "pose settings": doc["pose"]["settings"],
                "keypoint stabiliser": doc["pose"]["stabilizer"], "analysis": doc["analysis"],
                "model": doc["model"], "tool": doc["tool"], "timing": doc.get("timing", {}),
                "settings key": doc.get("settings_key")}
    missing_thumbs = sum(1 for t in thumbs if t is None)
    return report_env().get_template("video.html.j2").render(
        doc=doc, name=json_path.name[:-len(".json")], video_src=page_link(player, folder) if player else None,
        video_is_overlay=player is not None and player == overlay, video_missing=video is None,
        timeline=timeline_figure(doc), energy=energy_figure(doc), rows=_segment_rows(doc, thumbs),
        has_model=bool(doc.get("model")), persons=shown, settings=json.dumps(settings, indent=1, default=str),
        checkpoints=(doc["model"] or {}).get("checkpoints", []), plotly_js=plotly_js_packed(),
        missing_thumbs=missing_thumbs if video is not None else 0, max_keyframes=MAX_KEYFRAMES,
        index_link=index_link)


def _segment_rows(doc: Record, thumbs: list[str | None]) -> list[dict]:
    """The segments table's rows (the template formats the numbers)."""
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
