"""The analysis of a video's pose: the people analysed, their windows, segments and movement descriptions
(``pipeline.segments.analyse_track``), timed."""
from __future__ import annotations

import time

from pose.result import PoseResult
from pose.tracking import select_people, subject_score

from . import export
from .options import Options
from .pool import PosePool
from .record import VideoAnalysis
from .segments import analyse_track, resolve_mode
from .videopose import VideoRun


def analyse_video(run: VideoRun, pose: PoseResult, opts: Options, recognizer, pool: PosePool, stage,
                  progress=None) -> VideoAnalysis:
    """Windows, segments and their descriptions for every person analysed (MMN's when ``recognizer``)."""
    timing = run.timing
    spent = dict(recognizer.seconds) if recognizer is not None else {}
    t = time.perf_counter()
    pool.share_cores(recognizer)
    mode = resolve_mode(opts.mode, pose.duration if pose.num_frames else run.info.duration)
    people = select_people(pose.tracks, opts.person)
    stage("recognize (persons)" if recognizer is not None else "describe (persons)", len(people))
    subject = max(pose.tracks, key=subject_score).id if any(t.num_frames_seen for t in pose.tracks) else None
    segments, windows = [], []
    for done, track in enumerate(people, 1):
        segs, wins = analyse_track(track, pose.times, (pose.width, pose.height), mode, recognizer,
                                   opts.window_s, opts.stride_s, opts.still_threshold,
                                   scratch_dir=run.outs["pose"].parent, cuts=pose.cuts)
        segments += [export.segment_record(s, recognizer) for s in segs]
        windows += [dict(export.window_record(w), person=track.id) for w in wins]
        if progress is not None:
            progress(done)
    segments.sort(key=lambda s: (s["start_s"], s["person"]))
    timing["analysis_s"] = time.perf_counter() - t
    for name, before in spent.items():
        timing[f"{name}_s"] = recognizer.seconds[name] - before
    return VideoAnalysis(mode, people, subject, segments, windows)
