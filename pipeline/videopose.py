"""A video's pose within a run, in two steps: ``start_pose`` (lock the outputs, probe, hand the pose chunks
that the cache and an interrupted earlier run do not hold to the workers) and ``finish_pose`` (the
chunks assembled, or the cache, or AlphaPose's results)."""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from pose.estimate import assemble, from_alphapose_json
from pose.result import PoseResult, cached_pose, repair_times, save_pose, video_fingerprint
from pose.stabilize import ensure_stabilized, stabilizer_for

from .alphapose_input import alphapose_json_for, results_digest
from .inputs import VideoJob
from .lock import video_lock
from .method import pose_method
from .options import Options
from .outputs import discard_results, remove_stale_parts
from .pool import PosePool
from .posework import PartStore, chunk_tasks, done_part, every_s_for, pose_settings, stored
from .cut_detection import CutDetector, detect_cuts
from .video_probe import frame_times, probe


@dataclass
class VideoRun:
    """A video between ``start_pose`` (locked, probed, its pose chunks submitted) and the end of its
    ``Pipeline.finish_video``."""

    job: VideoJob
    outs: dict[str, Path]
    stack: contextlib.ExitStack  # holds the video's lock
    t_start: float
    info: object = None
    fingerprint: str = ""
    settings: dict = field(default_factory=dict)
    cached: object = None  # PoseResult from the cache
    tasks: list = field(default_factory=list)
    parts: list = field(default_factory=list)  # futures of the chunks' Detections, in order
    store: PartStore | None = None
    reused: int = 0  # chunks taken from an earlier, interrupted run
    timing: dict = field(default_factory=dict)
    pose_handed_out: float | None = None  # when its pose chunks went to the workers (perf_counter)
    replacing: bool = False  # the earlier results are removed: this run writes the video's files
    complete: bool = False  # the JSON record is written

    def replace_earlier_results(self) -> None:
        """Before this run writes the first file of the video (pose cache included): the earlier results go."""
        if not self.replacing:
            discard_results(self.outs)
            self.replacing = True


def start_pose(job: VideoJob, opts: Options, pool: PosePool, videos_expected: int | None, stage) -> VideoRun:
    """Lock the video's outputs, probe it, and submit the pose chunks the cache and an interrupted earlier
    run do not already hold."""
    outs = job.outputs(opts.out)
    stack = contextlib.ExitStack()
    stack.enter_context(video_lock(outs["lock"]))
    run = VideoRun(job, outs, stack, time.perf_counter())
    try:
        remove_stale_parts(outs)
        t = time.perf_counter()
        stage("probe")
        run.info = info = probe(job.path)
        run.fingerprint = video_fingerprint(job.path)
        run.timing["probe_s"] = time.perf_counter() - t
        if opts.pose == "alphapose-json":
            return run
        backend = pool.backend
        every = every_s_for(opts.pose_fps, info.fps)
        run.settings = dict(pose_settings(backend.settings, every, info.duration), shots=CutDetector.settings(),
                            method=pose_method())
        run.cached = cached_pose(outs["pose"], run.fingerprint, backend.name, run.settings, outs["pose"].parent)
        if run.cached is not None:
            return run
        run.store = PartStore(outs["parts"], PartStore.key_for(run.fingerprint, run.settings))
        run.store.clean_others()
        run.tasks = chunk_tasks(str(job.path), info, every, pool.backend_spec())
        pool.inline_unless_worth_sharing(videos_expected, len(run.tasks))
        run.pose_handed_out = time.perf_counter()
        for task in run.tasks:
            part = run.store.load(task.index)
            if part is not None:
                run.reused += 1
                run.parts.append(stored(part))
            else:
                run.parts.append(done_part(run.store, task.index, pool.workers.submit(task)))
    except BaseException:
        for fut in run.parts:
            fut.cancel()
        stack.close()
        raise
    return run


def finish_pose(run: VideoRun, opts: Options, pool: PosePool, progress, stage) -> PoseResult:
    """The video's pose: its chunks assembled (or the cache, or AlphaPose's results), with its timing."""
    info, timing = run.info, run.timing
    try:
        t = time.perf_counter()
        stage("pose", info.num_frames or int(info.duration * (info.fps or 30)) or None)
        pose, cached = _pose(run, opts, pool, progress)
        # worker processes start on a video's chunks as soon as ``start_pose`` hands them out, while this
        # process may still be finishing the video before: pose time counts from then
        timing["pose_s"] = time.perf_counter() - (run.pose_handed_out or t)
        timing["pose_cached"] = cached
        if run.tasks:
            timing["pose_chunks"], timing["pose_chunks_reused"] = len(run.tasks), run.reused
            # the worker processes the chunks were shared among; 0: this process ran them
            timing["pose_workers"] = pool.worker_processes
    finally:
        for fut in run.parts:
            if fut is not None:
                fut.cancel()
    return pose


def _pose(run: VideoRun, opts: Options, pool: PosePool, progress=None) -> tuple[PoseResult, bool]:
    """The video's pose result and whether it came from the cache."""
    info, outs = run.info, run.outs
    stabilizer = stabilizer_for(opts.pose, info.fps, raw=opts.raw_keypoints)
    if opts.pose == "alphapose-json":
        jpath = alphapose_json_for(opts.alphapose_json, run.job)
        res = from_alphapose_json(jpath, frame_times(run.job.path, info), info.width, info.height, info.fps,
                                  scratch_dir=outs["pose"].parent, stabilizer=stabilizer,
                                  cuts=detect_cuts(run.job.path, info), rotation=info.rotation)
        res.settings["json_sha256"] = results_digest(jpath)
        res.settings["shots"] = CutDetector.settings()
        res.settings["method"] = pose_method()
        res.fingerprint = run.fingerprint
        return res, False
    if run.cached is not None:
        repair_times(run.cached)  # caches written before times were repaired
        if ensure_stabilized(run.cached, stabilizer, outs["pose"].parent):
            run.replace_earlier_results()
            save_pose(outs["pose"], run.cached)  # the cache holds the keypoints the analysis used
        return run.cached, True
    backend = pool.backend
    res = assemble(pool.chunks_in_order(run.tasks, run.parts, info, progress), info.width, info.height, info.fps,
                   backend.name, run.settings, scratch_dir=outs["pose"].parent, stabilizer=stabilizer)
    res.fingerprint = run.fingerprint
    run.replace_earlier_results()
    save_pose(outs["pose"], res)
    run.store.remove()
    return res, False
