"""Orchestration: inputs -> per-video pose, analysis and exports -> a batch summary.

For each video: probe -> pose (from the cache when the video and settings are unchanged) ->
tracking and person choice -> windows -> MMN (when a checkpoint is configured) -> segments with
movement descriptions -> CSV, ELAN, (overlay), and last the JSON record. Models load once per run.
A failing video is reported in one line and the batch goes on.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
import threading
import time
import traceback
from collections import deque
from concurrent.futures import Future, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from common.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, terminal_line
from common.errors import is_user_error
from common.fileio import stale_parts, write_json_atomic
from common.frames import frame_rate, missing_spans
from pose.alphapose import AlphaPoseError
from pose.estimate import assemble, from_alphapose_json, make_backend
from pose.mediapipe_backend import MAX_PERSONS, MAX_SIDE
from pose.result import PoseResult, cached_pose, repair_times, save_pose, video_fingerprint
from pose.stabilize import ensure_stabilized, stabilizer_for
from pose.tracking import PersonNotFound, select_people, subject_score
from pose.types import PoseBackend

from . import export, motion, report
from .posework import (DEFAULT_POSE_FPS, BackendSpec, InlineWorkers, LocalWorkers, PartStore, chunk_tasks,
                       default_workers, done_part, every_s_for, pose_settings, stored, worth_sharing)
from .inputs import InputError, VideoJob, check_name_encoding, check_output_dir, collect_inputs  # noqa: F401 (callers import them here)
from .progress import Reporter
from .method import method_version, pose_method
from .record import FrameCount, Record, VideoAnalysis, build_record
from .segments import DEFAULT_STRIDE_S, DEFAULT_WINDOW_S, analyse_track, resolve_mode
from .cut_detection import CutDetector, detect_cuts
from .ffmpeg_tools import VideoError
from .video_probe import frame_times, probe

if TYPE_CHECKING:
    from recognizer.inference import Recognizer  # torch: imported when the models load

# the user's problems (common.errors: a bad file, option, folder or disk) explain themselves in one line; every
# other exception is a bug of ours, whose traceback is kept in OUT/errors.log (``log_traceback``)


class ModelsFailed(Exception):
    """The checkpoints, loaded while the first videos' pose began, cannot be used (``__cause__`` says
    why, in one line): the run stops before any video is finished."""


NOTE_PERSON_S = 1.0  # a track seen for less time is not mentioned in the notes (it stays in pose.persons)


class BusyError(VideoError):
    """Another run holds this video's lock: it is skipped here, not failed."""


@dataclass
class Options:
    out: Path
    mode: str = "auto"
    window_s: float = DEFAULT_WINDOW_S
    stride_s: float = DEFAULT_STRIDE_S
    still_threshold: float = motion.STILL_THRESHOLD
    person: str = "subject"
    pose: str = "mediapipe"
    alphapose_json: Path | None = None
    alphapose_config: Path | None = None
    alphapose_checkpoint: Path | None = None
    max_side: int | None = MAX_SIDE
    max_persons: int = MAX_PERSONS  # people tracked at once by the MediaPipe backend
    raw_keypoints: bool = False  # analyse the pose model's own keypoints, not stabilised ones
    checkpoint: Path | None = None
    bone_checkpoint: Path | None = None
    device: str = "auto"
    precision: str = "fp32"  # MMN arithmetic: fp32 unless reduced precision is asked for
    overlay: bool = False
    report: bool = True  # NAME.report.html per video, index.html and summary.csv per batch (pipeline.report)
    submission: bool = False
    resume: bool = False
    workers: int | None = None  # pose worker processes (None: the cores this process may use)
    pose_fps: float | None = DEFAULT_POSE_FPS  # pose on this many frames a second (None: every frame)

    PATH_FIELDS = ("out", "checkpoint", "bone_checkpoint", "alphapose_json", "alphapose_config",
                   "alphapose_checkpoint")

    def settings_key(self, checkpoints: list[dict]) -> str:
        """What the outputs depend on besides the video: a changed key means recompute. Checkpoints
        count by content (SHA-256), not by path, so moving files or another engine changes nothing."""
        relevant = {k: str(v) for k, v in asdict(self).items()
                    if k not in self.PATH_FIELDS + ("resume", "overlay", "report", "submission", "device",
                                                                     "workers")}
        relevant["checkpoints"] = sorted(c["sha256"] for c in checkpoints)
        relevant["method"] = method_constants(self)
        return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


def method_constants(opts: "Options") -> dict:
    """What the results depend on besides the options: the tool's version, its method (``pipeline.method``:
    the code that computes results and every constant of it), and the stabiliser these options choose, so
    that an upgrade or an edited constant never passes old results off as current (``--resume``)."""
    import pipeline

    return {"version": pipeline.__version__, "method": method_version(),
            "stabilizer": stabilizer_for(opts.pose, 30.0, opts.raw_keypoints).settings.to_dict()}


@dataclass
class Outcome:
    job: VideoJob
    status: str  # done | skipped | failed
    message: str = ""
    segments: int = 0
    seconds: float = 0.0
    doc: dict | None = None
    busy: bool = False  # skipped because another run holds the video: not done here


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def busy(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.busy]

    @property
    def exit_code(self) -> int:
        """130 interrupted; 1 when a video failed or was busy in another run (not done: a script must not
        take the batch for complete); else 0."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILED if self.failed or self.busy else EXIT_OK


@contextlib.contextmanager
def video_lock(path: Path):
    """An exclusive lock per video so two runs on one output folder never write the same files.

    ``flock`` on a lock file that is removed when released (no ``.lock`` files are left behind): the
    file is unlinked while still locked, and a process that locked a file no longer at ``path`` (it
    opened it before the holder removed it) tries again with the new one, so only one process ever
    holds the lock of ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        f = open(path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise BusyError("being processed by another run on this output folder "
                            "(rerun with --resume once it is done)") from None
        try:
            if os.stat(path).st_ino == os.fstat(f.fileno()).st_ino:
                break  # the file at ``path`` is the one locked
        except FileNotFoundError:
            pass  # removed by the holder that just released it
        f.close()
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while locked: a waiting process sees it gone and starts afresh
        f.close()


def remove_stale_parts(outs: dict[str, Path]) -> None:
    """Temporary files of this video's outputs left by a killed run (we hold the video's lock)."""
    for target in outs.values():
        for stale in stale_parts(target):
            with contextlib.suppress(OSError):
                stale.unlink()


RESULT_FILES = ("json", "report", "csv", "eaf", "overlay")  # one run's, all or nothing: the record first


def discard_results(outs: dict[str, Path]) -> None:
    """Remove a video's result files, the JSON record (the mark of a complete video) first, before a run
    writes any new one: a run stopped part-way then leaves no record beside files of two runs."""
    for key in RESULT_FILES:
        try:
            outs[key].unlink()
        except FileNotFoundError:
            pass


def output_entry(path: Path) -> dict:
    """How the record names a file written with it (``Record.outputs``)."""
    return {"file": path.name, "fingerprint": video_fingerprint(path)}


def outputs_intact(doc: dict, outs: dict[str, Path], needed: list[str]) -> bool:
    """Every file the record was written with is there, unchanged, and those of ``needed`` among them."""
    written = doc.get("outputs")
    if not isinstance(written, dict) or not set(needed) <= set(written):
        return False
    try:
        return all(key in outs and entry["file"] == outs[key].name and output_entry(outs[key]) == entry
                   for key, entry in written.items())
    except (OSError, KeyError, TypeError):
        return False


def is_complete(job: VideoJob, opts: Options, settings_key: str) -> bool:
    """--resume: the JSON record exists, is readable, matches this video and these settings, and every
    file it was written with is there unchanged."""
    outs = job.outputs(opts.out)
    try:
        doc = json.loads(outs["json"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if doc.get("settings_key") != settings_key:
        return False
    try:
        if doc["video"]["fingerprint"] != video_fingerprint(job.path):
            return False
    except OSError:
        return False
    if opts.pose == "alphapose-json":  # the results file may have changed since
        try:
            src = alphapose_json_for(opts, job)
            if doc["pose"]["settings"].get("json_sha256") != hashlib.sha256(src.read_bytes()).hexdigest()[:16]:
                return False
        except (OSError, AlphaPoseError, KeyError, TypeError):
            return False
    return outputs_intact(doc, outs, ["csv", "eaf"] + (["overlay"] if opts.overlay else []))


def alphapose_json_for(opts: Options, job: VideoJob) -> Path:
    """The AlphaPose results file of a video (``--alphapose-json`` FILE, or FOLDER/NAME.json or
    FOLDER/NAME/alphapose-results.json)."""
    src = opts.alphapose_json
    if src is None:
        raise AlphaPoseError("--pose alphapose-json needs --alphapose-json FILE_OR_FOLDER")
    if src.is_file():
        return src
    for cand in (src / job.rel.with_suffix(".json"), src / job.rel / "alphapose-results.json",
                 src / f"{job.path.stem}.json", src / job.path.stem / "alphapose-results.json"):
        if cand.is_file():
            return cand
    raise AlphaPoseError(f"{src}: no AlphaPose results for {job.path.name} "
                         f"(looked for {job.path.stem}.json and {job.path.stem}/alphapose-results.json)")


@dataclass
class VideoRun:
    """A video between ``Pipeline.start`` (locked, probed, its pose chunks submitted) and ``finish``."""

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


class Pipeline:
    """Holds the loaded models and the pose workers for a run; processes videos in two steps: ``start``
    (lock, probe, pose chunks submitted to the workers) and ``finish`` (pose assembled, analysis,
    exports), so the workers estimate pose of the next videos while this process finishes one."""

    def __init__(self, opts: Options, recognizer: Recognizer | None = None, backend: PoseBackend | None = None,
                 workers=None, loading: Future | None = None):
        self.opts = opts
        self._recognizer = recognizer
        self._loading = loading  # the recognizer, being loaded in a background thread (``from_options``)
        self._settings_key: str | None = None
        self._backend = backend
        self._backend_given = backend is not None  # pose then runs here, with that object
        self._workers = workers
        self._latest: dict[str, float] = {}  # chunk task key -> time it reached (worker progress)
        self.videos_expected: int | None = None  # the batch's size, when known (``run_batch``)

    @classmethod
    def from_options(cls, opts: Options, workers=None, background: bool = False) -> "Pipeline":
        """The pipeline with its models loaded (their errors raised here), or with ``background`` being
        loaded in a thread while the first videos' pose chunks are handed out: importing torch and
        loading the checkpoints takes ~2 s that the pose workers need not wait for. Errors then come
        from ``run_batch`` as ``ModelsFailed``, before any video is finished."""
        if not (opts.checkpoint or opts.bone_checkpoint):
            return cls(opts, None, workers=workers)

        def load() -> Recognizer:
            from recognizer.inference import Recognizer

            return Recognizer(opts.checkpoint, opts.bone_checkpoint, device=opts.device, precision=opts.precision)

        if not background:
            return cls(opts, load(), workers=workers)
        loading: Future = Future()

        def run() -> None:
            try:
                loading.set_result(load())
            except BaseException as e:  # noqa: BLE001 - handed to whoever waits for the models
                loading.set_exception(e)

        threading.Thread(target=run, name="load-models", daemon=True).start()
        return cls(opts, workers=workers, loading=loading)

    @property
    def has_models(self) -> bool:
        """Whether MMN checkpoints are configured (known without waiting for them to load)."""
        return self._recognizer is not None or self._loading is not None

    @property
    def recognizer(self) -> Recognizer | None:
        """The MMN recognizer, None without checkpoints; waits for a background load (``ModelsFailed``
        if it failed)."""
        if self._loading is not None:
            try:
                self._recognizer = self._loading.result()
            except Exception as e:  # as from_options raises them without ``background``
                raise ModelsFailed(error_line(e, self.opts.out, "loading the models")) from e
            self._loading = None
        return self._recognizer

    @property
    def settings_key(self) -> str:
        """What the outputs depend on (``Options.settings_key``), checkpoints included."""
        if self._settings_key is None:
            rec = self.recognizer
            self._settings_key = self.opts.settings_key(rec.checkpoints if rec is not None else [])
        return self._settings_key

    @property
    def backend(self):
        """The pose backend in this process (its settings and frame size; it runs pose itself only with
        one worker)."""
        if self._backend is None and self.opts.pose != "alphapose-json":
            self._backend = make_backend(self.opts.pose, alphapose_config=self.opts.alphapose_config,
                                         alphapose_checkpoint=self.opts.alphapose_checkpoint,
                                         device=self.opts.device, max_side=self.opts.max_side,
                                         max_persons=self.opts.max_persons)
        return self._backend

    @property
    def workers(self):
        if self._workers is None:
            live_gpu_model = self.opts.pose == "alphapose"  # one model on the GPU, in this process
            # (not `self._backend is not None`: ``start`` makes this process's backend for its settings
            # before the first task is submitted, and that must not turn the worker processes off)
            n = 1 if live_gpu_model or self._backend_given else (self.opts.workers or default_workers())
            self._workers = InlineWorkers(self.backend) if n <= 1 else LocalWorkers(n)
        return self._workers

    def backend_spec(self) -> BackendSpec:
        o = self.opts
        return BackendSpec(o.pose, o.max_side, o.max_persons, o.device,
                           os.path.abspath(o.alphapose_config) if o.alphapose_config else None,
                           os.path.abspath(o.alphapose_checkpoint) if o.alphapose_checkpoint else None)

    def wants_more(self, started: int) -> bool:
        """Whether to start the next video now: while the workers have less than two tasks each queued
        (never with one worker in this process: it would run that video's pose first)."""
        w = self.workers
        return not isinstance(w, InlineWorkers) and w.busy() < 2 * w.workers and started < 4 * w.workers

    def cancel(self) -> None:
        if self._workers is not None:
            self._workers.cancel()

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()
        if self._backend is not None:
            self._backend.close()

    # -- one video -------------------------------------------------------------------------------
    def stabilizer(self, info):
        """How this run stabilises keypoints (``pose.stabilize``), for a video probed as ``info``."""
        return stabilizer_for(self.opts.pose, info.fps, raw=self.opts.raw_keypoints)

    def process(self, job: VideoJob, progress=None, stage=None) -> Outcome:
        """One video from start to finish."""
        return self.finish(self.start(job, stage), progress, stage)

    def start(self, job: VideoJob, stage=None) -> VideoRun:
        """Lock the video's outputs, probe it, and submit the pose chunks the cache and an interrupted
        earlier run do not already hold."""
        check_name_encoding(job.path)
        opts = self.opts
        outs = job.outputs(opts.out)
        stack = contextlib.ExitStack()
        stack.enter_context(video_lock(outs["lock"]))
        run = VideoRun(job, outs, stack, time.perf_counter())
        try:
            remove_stale_parts(outs)
            t = time.perf_counter()
            (stage or (lambda *a: None))("probe")
            run.info = info = probe(job.path)
            run.fingerprint = video_fingerprint(job.path)
            run.timing["probe_s"] = time.perf_counter() - t
            if opts.pose == "alphapose-json":
                return run
            backend = self.backend
            every = every_s_for(opts.pose_fps, info.fps)
            run.settings = dict(pose_settings(backend.settings, every, info.duration), shots=CutDetector.settings(),
                                method=pose_method())
            run.cached = cached_pose(outs["pose"], run.fingerprint, backend.name, run.settings, outs["pose"].parent)
            if run.cached is not None:
                return run
            run.store = PartStore(outs["parts"], PartStore.key_for(run.fingerprint, run.settings))
            run.store.clean_others()
            run.tasks = chunk_tasks(str(job.path), info, every, self.backend_spec())
            if self._workers is None and not worth_sharing(self.videos_expected, len(run.tasks)):
                self._workers = InlineWorkers(self.backend)  # no worker process to start
            run.pose_handed_out = time.perf_counter()
            for task in run.tasks:
                part = run.store.load(task.index)
                if part is not None:
                    run.reused += 1
                    run.parts.append(stored(part))
                else:
                    run.parts.append(done_part(run.store, task.index, self.workers.submit(task)))
        except BaseException:
            for fut in run.parts:
                fut.cancel()
            stack.close()
            raise
        return run

    def _pose(self, run: VideoRun, progress=None):
        """The video's pose result and whether it came from the cache."""
        opts, info, outs = self.opts, run.info, run.outs
        stabilizer = self.stabilizer(info)
        if opts.pose == "alphapose-json":
            jpath = alphapose_json_for(opts, run.job)
            res = from_alphapose_json(jpath, frame_times(run.job.path, info), info.width, info.height, info.fps,
                                      scratch_dir=outs["pose"].parent, stabilizer=stabilizer,
                                      cuts=detect_cuts(run.job.path, info), rotation=info.rotation)
            res.settings["json_sha256"] = hashlib.sha256(jpath.read_bytes()).hexdigest()[:16]
            res.settings["shots"] = CutDetector.settings()
            res.settings["method"] = pose_method()
            res.fingerprint = run.fingerprint
            return res, False
        if run.cached is not None:
            repair_times(run.cached)  # caches written before times were repaired
            if ensure_stabilized(run.cached, stabilizer, outs["pose"].parent):
                self._replace(run)
                save_pose(outs["pose"], run.cached)  # the cache holds the keypoints the analysis used
            return run.cached, True
        backend = self.backend
        res = assemble(self._parts_in_order(run, progress), info.width, info.height, info.fps, backend.name,
                       run.settings, scratch_dir=outs["pose"].parent, stabilizer=stabilizer)
        res.fingerprint = run.fingerprint
        self._replace(run)
        save_pose(outs["pose"], res)
        run.store.remove()
        return res, False

    def _parts_in_order(self, run: VideoRun, progress=None):
        """The chunks' Detections in order, as they finish (showing progress while waiting)."""
        fps = run.info.fps or 30.0
        workers = self.workers
        spans = [(t.start_s, min(t.end_s, max(run.info.duration, t.start_s))) for t in run.tasks]

        def show() -> None:
            if not progress:
                return
            self._latest.update(workers.progress())
            covered = 0.0
            for (a, b), fut, task in zip(spans, run.parts, run.tasks):
                if fut is None or fut.done():
                    covered += b - a
                elif task.key in self._latest:
                    covered += max(0.0, min(b, self._latest[task.key]) - a)
            progress(int(covered * fps))

        if isinstance(workers, InlineWorkers):
            workers.on_time = lambda t: show()
        try:
            for k, fut in enumerate(run.parts):
                while not fut.done() and not isinstance(workers, InlineWorkers):
                    show()
                    wait([fut], timeout=0.25)
                part = fut.result()  # the task's own error, if it failed
                run.parts[k] = None  # memory: each chunk is let go once assembled
                show()
                yield part
        finally:
            if isinstance(workers, InlineWorkers):
                workers.on_time = None

    def finish(self, run: VideoRun, progress=None, stage=None) -> Outcome:
        """Assemble the pose, analyse, export; the JSON record last. Releases the video's lock."""
        stage = stage or (lambda name, total=None: None)
        with run.stack:
            try:
                pose = self._finish_pose(run, progress, stage)
                frames = count_frames(run.job.path, run.info, pose)
                analysis = self._analyse(run, pose, stage, progress)
                doc = self._export(run, pose, analysis, stage, progress, frames)
            except BaseException:
                if run.replacing and not run.complete:  # all or nothing: no file of a run that did not finish
                    with contextlib.suppress(OSError):
                        discard_results(run.outs)
                raise
            warnings = [w for w in [missing_warning(frames, pose, run.info)] if w]
            if self.opts.report:
                stage("report")
                warnings += self._report(run.outs["json"], doc, run.job, pose, run.info)
        return Outcome(run.job, "done", "; ".join(f"warning: {w}" for w in warnings), segments=len(doc["segments"]),
                       seconds=doc["timing"]["total_s"], doc=doc)

    @staticmethod
    def _replace(run: VideoRun) -> None:
        """Before this run writes the first file of the video (pose cache included): the earlier results go."""
        if not run.replacing:
            discard_results(run.outs)
            run.replacing = True

    def _finish_pose(self, run: VideoRun, progress, stage) -> PoseResult:
        """The video's pose: its chunks assembled (or the cache, or AlphaPose's results)."""
        info, timing = run.info, run.timing
        try:
            t = time.perf_counter()
            stage("pose", info.num_frames or int(info.duration * (info.fps or 30)) or None)
            pose, cached = self._pose(run, progress)
            # worker processes start on a video's chunks as soon as ``start`` hands them out, while this
            # process may still be finishing the video before: pose time counts from then
            timing["pose_s"] = time.perf_counter() - (run.pose_handed_out or t)
            timing["pose_cached"] = cached
            if run.tasks:
                timing["pose_chunks"], timing["pose_chunks_reused"] = len(run.tasks), run.reused
                # the worker processes the chunks were shared among; 0: this process ran them
                timing["pose_workers"] = 0 if isinstance(self.workers, InlineWorkers) else self.workers.workers
        finally:
            for fut in run.parts:
                if fut is not None:
                    fut.cancel()
        return pose

    def _analyse(self, run: VideoRun, pose: PoseResult, stage, progress=None) -> VideoAnalysis:
        """Windows, segments and their descriptions for every person analysed."""
        opts, timing = self.opts, run.timing
        spent = dict(self.recognizer.seconds) if self.recognizer is not None else {}
        t = time.perf_counter()
        self._share_cores()
        mode = resolve_mode(opts.mode, pose.duration if pose.num_frames else run.info.duration)
        people = select_people(pose.tracks, opts.person)
        stage("recognize (persons)" if self.recognizer is not None else "describe (persons)", len(people))
        subject = max(pose.tracks, key=subject_score).id if any(t.num_frames_seen for t in pose.tracks) else None
        segments, windows = [], []
        for done, track in enumerate(people, 1):
            segs, wins = analyse_track(track, pose.times, (pose.width, pose.height), mode, self.recognizer,
                                       opts.window_s, opts.stride_s, opts.still_threshold,
                                       scratch_dir=run.outs["pose"].parent, cuts=pose.cuts)
            segments += [export.segment_record(s, self.recognizer) for s in segs]
            windows += [dict(export.window_record(w), person=track.id) for w in wins]
            if progress is not None:
                progress(done)
        segments.sort(key=lambda s: (s["start_s"], s["person"]))
        timing["analysis_s"] = time.perf_counter() - t
        for name, before in spent.items():
            timing[f"{name}_s"] = self.recognizer.seconds[name] - before
        return VideoAnalysis(mode, people, subject, segments, windows)

    def _notes(self, run: VideoRun, pose: PoseResult, analysis: VideoAnalysis, frames: FrameCount) -> list[str]:
        """What a reader of the results must know (no checkpoint, nobody found, frames missing, ...)."""
        notes = []
        if self.recognizer is None:
            notes.append(export.NO_CHECKPOINT_NOTE)
        if not analysis.people:
            notes.append("No person was found in this video: no segments.")
        still = [w for w in analysis.windows if w["status"] == "still"]
        if analysis.mode == "clip" and still and len(still) == len(analysis.windows):
            notes.append(f"The clip's motion energy ({max(w['motion_energy'] for w in still):.3f}) is below the still "
                         f"threshold ({self.opts.still_threshold:g}): it is reported as still, with no segment "
                         "(--still-threshold 0 classifies every clip).")
        notes += missing_notes(frames, pose, run.info)
        notes += timestamp_notes(pose, frames.missing)
        notes += picture_notes(run.info, pose)
        if pose.backend == "alphapose-json":
            notes += alphapose_coverage(pose)
        unmeasured = [tr.id for tr in analysis.people if motion.body_scale(tr.keypoints) is None]
        if unmeasured:
            notes.append(f"Person {', '.join(map(str, unmeasured))}: no torso, shoulders or face was seen, so their "
                         "movement cannot be measured in torso lengths: every window is absent, no segment.")
        others = people_note(pose.tracks, analysis.people, frame_rate(pose.times, run.info.fps or 30.0))
        if others:
            notes.append(others)
        if self.opts.pose == "mediapipe" and self.recognizer is not None:
            notes.append("Pose from MediaPipe: the released MMN weights were trained on AlphaPose keypoints; "
                         "expect lower accuracy than the paper's.")
        return notes

    def _export(self, run: VideoRun, pose: PoseResult, analysis: VideoAnalysis, stage, progress=None,
                frames: FrameCount | None = None) -> Record:
        """The record, its CSV, ELAN (and overlay) files; the JSON record written last."""
        opts, outs, timing = self.opts, run.outs, run.timing
        t = time.perf_counter()
        stage("export (files)", 3 + opts.overlay)  # CSV, ELAN, [overlay,] JSON
        doc = build_record(run.job, run.fingerprint, run.info, pose, analysis, opts=opts, recognizer=self.recognizer,
                           cache=outs["pose"].name if opts.pose != "alphapose-json" else None,
                           notes=self._notes(run, pose, analysis, frames or FrameCount(None, [])),
                           settings_key=self.settings_key, frames=frames,
                           smooth_s=motion.SMOOTH_S)
        steps = {"csv": lambda: export.write_csv(outs["csv"], doc),
                 "eaf": lambda: export.write_eaf(outs["eaf"], doc, run.job.path)}
        if opts.overlay:
            steps["overlay"] = lambda: export.write_overlay(outs["overlay"], run.job.path, run.info, pose,
                                                            analysis.people, doc["segments"])
        self._replace(run)
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

    def _report(self, json_path: Path, doc: dict, job: VideoJob, pose, info) -> list[str]:
        """The video's browser report (after its record: a report that fails is a warning, the results stand)."""
        try:
            report.write_video_report(json_path, doc, video=job.path, pose=pose, info=info, out=self.opts.out)
        except Exception as e:  # noqa: BLE001 - reported, never fatal
            return [f"no report ({one_line(e)}); `python -m pipeline.report {self.opts.out}` retries"]
        return []

    def _share_cores(self) -> None:
        """MMN in this process takes the cores the pose workers leave free (one at least)."""
        if self.recognizer is None or not isinstance(self._workers, LocalWorkers):
            return
        import torch

        torch.set_num_threads(max(1, default_workers() - min(self._workers.busy(), self._workers.workers)))


def count_frames(path: Path, info, pose: PoseResult) -> FrameCount:
    """The frames the file holds (its video packets, read without decoding) and the stretches of them that
    were not decoded (``common.frames.missing_spans``); expected None when the packets cannot be read."""
    try:
        expected = frame_times(path, info)
    except VideoError:
        return FrameCount(None, [])
    return FrameCount(len(expected), missing_spans(expected, pose.times))


MAX_SPANS_NAMED = 5  # missing stretches named one by one in the notes (the record lists them all)


def missing_notes(frames: FrameCount, pose: PoseResult, info) -> list[str]:
    """A note per stretch of frames that could not be decoded (or, when the packets could not be read, when
    far fewer frames were decoded than the header declares)."""
    short = cut_off(frames, pose, info)
    if frames.expected is None:
        return [short] if short else []
    notes = [short] if short else []
    notes += [f"{n} frame{'s' if n > 1 else ''} from {a:.2f} s to {b:.2f} s could not be decoded (the file is damaged "
             "there?): nothing in that stretch is analysed." for a, b, n in frames.missing[:MAX_SPANS_NAMED]]
    if len(frames.missing) > MAX_SPANS_NAMED:
        rest = frames.missing[MAX_SPANS_NAMED:]
        notes.append(f"{sum(n for *_, n in rest)} more frames in {len(rest)} more stretches could not be decoded "
                     "(the record's video.missing lists them).")
    return notes


def missing_warning(frames: FrameCount, pose: PoseResult, info) -> str:
    """The run summary's warning when frames the file holds could not be decoded ('' when none)."""
    short = cut_off(frames, pose, info)
    lost = sum(n for *_, n in frames.missing) if frames.expected is not None else 0
    if not lost:
        return short
    where = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b, _ in frames.missing[:3]) + (", ..." if len(frames.missing) > 3 else "")
    damaged = f"{lost} of the {frames.expected} frames could not be decoded ({where}): nothing there is analysed"
    return f"{short}; {damaged}" if short else damaged


def cut_off(frames: FrameCount, pose: PoseResult, info) -> str:
    """``decoded_short`` where the file ends before its header says: far fewer frames decoded than declared
    when the packets could not be counted, or far fewer packets in the file than declared (a copy cut off);
    frames missing inside the file are named by ``missing_notes`` instead."""
    declared = info.num_frames
    if frames.expected is not None and not (declared and frames.expected < 0.9 * declared):
        return ""
    return decoded_short(pose.num_frames, declared)


def decoded_short(decoded: int, declared: int | None) -> str:
    """A warning when far fewer frames could be decoded than the container declares (a file cut off
    while it was copied or recorded), else ''."""
    if declared and decoded < 0.9 * declared:
        return (f"only {decoded} of the {declared} frames the file declares could be decoded "
                "(cut off or damaged?): the results cover those frames only")
    return ""


def picture_notes(info, pose) -> list[str]:
    """Notes on the video stream analysed: the file's other video streams, and changes of picture size."""
    notes = []
    if getattr(info, "other_streams", None):
        notes.append(f"Analysed video stream #{info.stream} ({info.width}x{info.height} {info.codec}), the largest; the "
                     f"file's other video stream{'s' if len(info.other_streams) > 1 else ''} "
                     f"({', '.join(info.other_streams)}) not analysed.")
    for frame, w, h in pose.extra.get("size_changes", []):
        notes.append(f"The picture changes size at {float(pose.times[frame]):.2f} s (to {w}x{h}; the video is "
                     f"{info.width}x{info.height}): later frames are fitted into that size (not stretched), and the "
                     "change counts as a shot boundary.")
    return notes


def timestamp_notes(pose, missing=()) -> list[str]:
    """Notes on frame times that had to be repaired (``pose.result.repair_times``); a hole where frames could
    not be decoded (``missing``) is named by ``missing_notes`` instead."""
    notes = []
    spread = pose.extra.get("times_spread", 0)
    if spread:
        notes.append(f"{spread} frames had the same timestamp as the frame before (or an earlier one): their "
                     "times were spread evenly up to the next frame's.")
    for k in pose.extra.get("holes", []):
        a, b = float(pose.times[k - 1]), float(pose.times[k])
        if any(s < b and e > a for s, e, _ in missing):
            continue
        notes.append(f"No frame from {a:.2f} s to {b:.2f} s (a hole of {b - a:.1f} s in the video's timestamps): "
                     "nothing is measured across it (it counts as a shot boundary) and its windows are absent.")
    return notes


def people_note(tracks: list, analysed: list, fps: float) -> str:
    """'N persons were seen ...' when people seen for at least ``NOTE_PERSON_S`` were not analysed
    (a track of a few frames, a pose model's flicker, is not worth the user's attention); else ''."""
    seen = [tr for tr in tracks if tr.num_frames_seen >= NOTE_PERSON_S * fps]
    if len(seen) < 2 or {t.id for t in seen} <= {t.id for t in analysed}:
        return ""
    return (f"{len(seen)} persons were seen (ids {', '.join(str(t.id) for t in seen)}); analysed: "
            f"{', '.join(str(t.id) for t in analysed) or 'none'}. --person all analyses everyone.")


def alphapose_coverage(pose) -> list[str]:
    """Notes when AlphaPose's results are empty or end well before the video: AlphaPose reads at most
    OpenCV's frame count and stops at the first frame it cannot read (a cut tail looks like nobody)."""
    if "alphapose_last_frame" not in pose.extra:
        return []
    last, n = pose.extra["alphapose_last_frame"], pose.num_frames
    if last is None:
        return ["The AlphaPose results hold no detection at all (did AlphaPose read this video?)."]
    fps = frame_rate(pose.times)
    if n - 1 - last > max(0.1 * n, 2 * fps):
        return [f"The AlphaPose results end at frame {last} of {n} ({(n - 1 - last) / fps:.1f} s before the end): "
                "AlphaPose may have stopped reading early (it trusts OpenCV's frame count); the rest shows nobody."]
    return []


def one_line(e: BaseException) -> str:
    msg = " ".join(str(e).split()) or type(e).__name__
    return msg if is_user_error(e) else f"{type(e).__name__}: {msg}"


def error_line(e: BaseException, out: Path, what: str) -> str:
    """``e`` on one line; for a bug (not a user error), with its type, and its traceback appended to
    ``OUT/errors.log`` under ``what`` (said where)."""
    msg = one_line(e)
    if not is_user_error(e):
        log = log_traceback(out, what, e)
        msg += f" (traceback in {log})" if log else ""
    return msg


def guarded(job: VideoJob, opts: Options, step) -> Outcome | VideoRun:
    """``step()``, with any failure turned into a one-line failed outcome (KeyboardInterrupt passes)."""
    try:
        return step()
    except KeyboardInterrupt:
        raise
    except BusyError as e:
        return Outcome(job, "skipped", str(e), busy=True)
    except Exception as e:  # one video's failure never stops the batch
        msg = error_line(e, opts.out, str(job.path))
        named = " ".join(str(job.path).split()) in msg  # (as one_line left it)
        return Outcome(job, "failed", msg if named else f"{job.path}: {msg}")


def skip_if_complete(job: VideoJob, pipeline: Pipeline) -> Outcome | None:
    """--resume: an outcome "skipped" (with the finished record) when the outputs are complete (the
    settings key, and so the models, are only waited for with --resume)."""
    opts = pipeline.opts
    if not (opts.resume and is_complete(job, opts, pipeline.settings_key)):
        return None
    outs = job.outputs(opts.out)
    try:
        doc = json.loads(outs["json"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = None
    with contextlib.suppress(BusyError):  # temporary files a killed run left (unless a run is writing now)
        with video_lock(outs["lock"]):
            remove_stale_parts(outs)
    return Outcome(job, "skipped", "complete (--resume)", doc=doc)


def finish(summary: Summary, opts: Options) -> Summary:
    if opts.submission and not summary.interrupted:
        export.write_submission(opts.out, [o.doc for o in summary.outcomes if o.doc])
    if opts.report and not summary.interrupted:
        write_reports(summary, opts)
    return summary


def write_reports(summary: Summary, opts: Options) -> None:
    """The batch's ``index.html`` and ``summary.csv`` (every record in ``--out``, and this run's failures);
    reports of videos skipped as complete (--resume) that have none yet. Failures here are printed
    warnings: the results stand."""
    for o in summary.outcomes:
        if o.status == "skipped" and o.doc and report.is_result(o.doc):
            path = o.job.outputs(opts.out)["json"]
            if not report.report_path(path).is_file():
                try:
                    report.write_video_report(path, o.doc, video=o.job.path, out=opts.out)
                except Exception as e:  # noqa: BLE001
                    warn(f"{o.job.path}: no report ({one_line(e)})")
    try:
        failures = [(str(o.job.rel.parent / o.job.path.name), o.message) for o in summary.failed]
        records = report.find_records(opts.out)
        for path, why in records[1]:  # listed in the index as unreadable
            warn(f"{path}: record skipped ({why})")
        report.write_batch(opts.out, report.batch_entries(opts.out, failures, records))
    except Exception as e:  # noqa: BLE001
        report.remove_batch_pages(opts.out)  # they would pass for this run's
        warn(f"{opts.out / 'index.html'} and summary.csv not written ({one_line(e)}); the old ones are removed")


def warn(message: str) -> None:
    """``warning: MESSAGE`` on one line of stderr (names shown safely: ``common.cli.terminal_line``)."""
    print(f"warning: {terminal_line(message)}", file=sys.stderr)


def run_batch(jobs: list[VideoJob], pipeline: Pipeline, reporter: Reporter | None = None) -> Summary:
    """Process every job; failures are recorded and the batch goes on; Ctrl-C stops cleanly (finished
    pose chunks are kept for the rerun). The next videos are started (their pose chunks queued for the
    workers) while this process finishes the current one."""
    summary = Summary()
    reporter = reporter or NullReporter()
    opts = pipeline.opts
    todo, started = deque(jobs), deque()
    pipeline.videos_expected = len(jobs)

    def start(job: VideoJob):
        return skip_if_complete(job, pipeline) or guarded(job, opts, lambda: pipeline.start(job))

    try:
        while todo or started:
            while todo and (not started or pipeline.wants_more(len(started))):
                job = todo.popleft()
                started.append((job, start(job)))
            pipeline.recognizer  # noqa: B018 - the models (loading while pose began): none finishes without them
            job, item = started.popleft()
            reporter.start_video(job)
            if isinstance(item, VideoRun):
                item = guarded(job, opts, lambda: pipeline.finish(item, progress=reporter.frame, stage=reporter.stage))
            summary.outcomes.append(item)
            reporter.end_video(item)
    except (KeyboardInterrupt, ModelsFailed) as e:
        pipeline.cancel()
        for _, item in started:
            if isinstance(item, VideoRun):
                item.stack.close()
        if isinstance(e, ModelsFailed):
            raise
        summary.interrupted = True
    return finish(summary, pipeline.opts)


def log_traceback(out: Path, what: str, e: BaseException) -> Path | None:
    """Append the traceback of ``e`` (raised while doing ``what``: a video's path, "loading the models") to
    ``OUT/errors.log``; its path (None when it cannot be written)."""
    path = out / "errors.log"
    try:
        out.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {what}\n")
            f.write("".join(traceback.format_exception(type(e), e, e.__traceback__)))
        return path
    except OSError:
        return None


class NullReporter:
    def start_video(self, job): ...
    def stage(self, name, total=None): ...
    def frame(self, n): ...
    def end_video(self, outcome): ...
