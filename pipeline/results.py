"""A video's results written: the record built, its CSV, ELAN (and overlay) files, the JSON record last
(the mark of a complete video), then its browser report."""
from __future__ import annotations

import time
from pathlib import Path

from common.fileio import write_json_atomic
from pose.result import PoseResult

from . import export, motion, report
from .failures import one_line_error
from .notes import video_notes
from .options import Options
from .outputs import output_entry
from .record import FrameCount, Record, VideoAnalysis, build_record
from .videopose import VideoRun


def write_results(run: VideoRun, pose: PoseResult, analysis: VideoAnalysis, frames: FrameCount, opts: Options,
                  recognizer, stage, progress=None, settings_key: str = "") -> Record:
    """The record, its CSV, ELAN (and overlay) files; the JSON record written last."""
    outs, timing = run.outs, run.timing
    t = time.perf_counter()
    stage("export (files)", 3 + opts.overlay)  # CSV, ELAN, [overlay,] JSON
    doc = build_record(run.job, run.fingerprint, run.info, pose, analysis, opts=opts, recognizer=recognizer,
                       cache=outs["pose"].name if opts.pose != "alphapose-json" else None,
                       notes=video_notes(opts, recognizer is not None, run.info, pose, analysis, frames),
                       settings_key=settings_key, frames=frames, smooth_s=motion.SMOOTH_S)
    steps = {"csv": lambda: export.write_csv(outs["csv"], doc),
             "eaf": lambda: export.write_eaf(outs["eaf"], doc, run.job.path)}
    if opts.overlay:
        steps["overlay"] = lambda: export.write_overlay(outs["overlay"], run.job.path, run.info, pose,
                                                        analysis.people, doc["segments"])
    run.replace_earlier_results()
    for done, (key, step) in enumerate(steps.items(), 1):
        step()
        doc["outputs"][key] = output_entry(outs[key])
        if progress is not None:
            progress(done)
    timing["export_s"] = time.perf_counter() - t
    timing["total_s"] = time.perf_counter() - run.t_start
    doc["timing"] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in timing.items()}
    write_json_atomic(outs["json"], doc)  # last: the record that the video is complete
    run.complete = True
    if progress is not None:
        progress(len(steps) + 1)
    return doc


def write_video_report(json_path: Path, doc: dict, run: VideoRun, pose, out: Path) -> list[str]:
    """The video's browser report (after its record: a report that fails is a warning, the results stand)."""
    try:
        report.write_video_report(json_path, doc, video=run.job.path, pose=pose, info=run.info, out=out)
    except Exception as e:  # noqa: BLE001 - reported, never fatal
        return [f"no report ({one_line_error(e)}); `microaction-report {out}` retries"]
    return []
