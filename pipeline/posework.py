"""Pose estimation as chunk tasks: every core busy, only the frames the model needs, nothing lost on Ctrl-C.

* **Chunks.** A video is cut into time chunks (``plan_chunks``: 10-60 s, by the video's length alone,
  so the results never depend on how many workers run them). A chunk task decodes its own stretch with
  ffmpeg seeking, starting ``WARMUP_S`` early so the pose model's tracking has settled where the chunk
  begins, and runs its own pose model (``pose.estimate.detect``). ``pose.estimate.assemble`` joins the
  chunks in order: people keep their ids across seams (matched on the warm-up frames).
* **Workers.** ``LocalWorkers`` runs chunk tasks in worker processes (spawned; each keeps its pose model
  between tasks), several videos of a batch and several chunks of one video at once; ``InlineWorkers``
  runs them in this process (one worker); ``pipeline.distributed.RayWorkers`` on a Ray cluster. All
  three run ``run_chunk``.
* **Only the frames the model needs.** With ``pose_fps`` below the video's rate, ffmpeg decodes every
  frame but scales and converts only the first of every ``1 / pose_fps`` seconds, and every frame of
  the first ``ALL_FRAMES_AT_START_S`` seconds of each decode (MediaPipe's tracking settles frame by frame,
  not second by second: at a lower rate a still person's keypoints would take longer to settle); the pose
  model sees those and ``pose.estimate.fill_skipped`` interpolates the rest (README: "Speed").
* **Parts survive interruption.** Each finished chunk is written at once (atomically) to
  ``OUT/.NAME.pose-parts/``; a rerun (``--resume`` or not) with the same video and pose settings takes
  them instead of computing them again. The folder is removed once the video's pose cache is written.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import signal
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.fileio import atomic_path
from common.frames import nominal_interval
from pose.estimate import Detections, detect
from pose.mediapipe_backend import MAX_PERSONS, MAX_SIDE

from .cut_detection import WIDTH as CUT_WIDTH, CutDetector
from .ffmpeg_tools import VideoError
from .forkserver import usable_cores, worker_context
from .video_decode import iter_frames, prefetch
from .video_probe import VideoInfo

MIN_CHUNK_S = 10.0
MAX_CHUNK_S = 60.0
CHUNKS_PER_VIDEO = 8  # a video is cut into about this many chunks (within the limits above)
WARMUP_S = 1.0
# with --pose-fps: pose on every frame for this long wherever a pose model starts (its tracking settles frame by
# frame; see above). The settings keep their old key, ``pose_settle_s``, so caches and parts stay valid.
ALL_FRAMES_AT_START_S = 1.0
# every frame by default: pose on 15 frames a second keeps keypoints within 0.004 torso lengths (median)
# and the body parts named, but a still person reads less still (MediaPipe's frame-to-frame flicker on a
# still face, sampled at 15 fps, can leave a short movement episode): README "Speed",
# benchmarks/bench_pose_fps.py
DEFAULT_POSE_FPS: float | None = None


def plan_chunks(duration: float) -> list[tuple[float, float]]:
    """(start, end) seconds of a video's chunks; the last ends at infinity (whatever the file holds)."""
    if not duration or not math.isfinite(duration) or duration < 2 * MIN_CHUNK_S:
        return [(0.0, math.inf)]
    length = min(MAX_CHUNK_S, max(MIN_CHUNK_S, duration / CHUNKS_PER_VIDEO))
    n = max(1, int(round(duration / length)))
    bounds = [round(duration * k / n, 6) for k in range(n)] + [math.inf]
    return list(zip(bounds[:-1], bounds[1:]))


default_workers = usable_cores  # pose worker processes when --workers is not given


@dataclass(frozen=True)
class BackendSpec:
    """How to make a pose backend (in whatever process runs the task)."""

    name: str
    max_side: int | None = MAX_SIDE
    max_persons: int = MAX_PERSONS
    device: str = "auto"
    alphapose_config: str | None = None
    alphapose_checkpoint: str | None = None

    def make(self):
        from pose.estimate import make_backend

        return make_backend(self.name, alphapose_config=self.alphapose_config,
                            alphapose_checkpoint=self.alphapose_checkpoint, device=self.device,
                            max_side=self.max_side, max_persons=self.max_persons)


@dataclass(frozen=True)
class ChunkTask:
    video: str
    info: dict  # VideoInfo.to_dict()
    index: int  # chunk number
    count: int  # chunks of the video
    start_s: float
    end_s: float
    every_s: float | None  # pose on the first frame of every so many seconds (None: every frame)
    backend: BackendSpec
    warmup_s: float = WARMUP_S
    all_frames_s: float = ALL_FRAMES_AT_START_S

    @property
    def key(self) -> str:
        return f"{self.video}#{self.index}"


def pose_settings(backend_settings: dict, every_s: float | None, duration: float) -> dict:
    """What the pose result depends on besides the video: the backend's settings, which frames the model
    sees, and the chunk geometry (never the number of workers)."""
    return dict(backend_settings, pose_every_s=every_s, chunks={
        "min_s": MIN_CHUNK_S, "max_s": MAX_CHUNK_S, "per_video": CHUNKS_PER_VIDEO, "warmup_s": WARMUP_S,
        "count": len(plan_chunks(duration))}, **({"pose_settle_s": ALL_FRAMES_AT_START_S} if every_s else {}))


def every_s_for(pose_fps: float | None, fps: float) -> float | None:
    """Seconds between the frames pose sees: None (every frame) when ``pose_fps`` is unset or not below
    the video's own rate."""
    if not pose_fps or not fps or pose_fps >= fps * 0.999:
        return None
    return 1.0 / pose_fps


# -- the task ---------------------------------------------------------------------------------------------
_BACKENDS: dict[BackendSpec, object] = {}
_PROGRESS = None  # a queue to the main process (LocalWorkers)


def run_chunk(task: ChunkTask, backend=None, on_time=None) -> Detections:
    """Decode one chunk and run the pose model on it (in any process). ``backend``: an existing backend
    object (else one made from ``task.backend`` and kept for the next task)."""
    if backend is None:
        backend = _BACKENDS.get(task.backend)
        if backend is None:
            backend = _BACKENDS[task.backend] = task.backend.make()
    info = VideoInfo(**task.info)
    warm = max(0.0, task.start_s - task.warmup_s)
    last_report = [0.0]

    def report(t: float) -> None:
        if on_time is not None:
            on_time(t)
        elif _PROGRESS is not None and time.monotonic() - last_report[0] > 0.5:
            last_report[0] = time.monotonic()
            _PROGRESS.put((task.key, t))

    def run(seek: bool) -> Detections:
        frames = prefetch(iter_frames(task.video, info, max_side=backend.max_side, start_s=warm if seek else None,
                                      every_s=task.every_s, all_until_s=warm + task.all_frames_s, small_width=CUT_WIDTH,
                                      need_frames=task.index == 0))
        return detect(frames, backend, info.width, info.height, info.fps, start_s=task.start_s,
                      end_s=task.end_s, from_s=warm if task.index else -math.inf, cuts=CutDetector(info.fps),
                      on_frame=report)

    part = run(seek=warm > 0)
    late = task.start_s + nominal_interval(info.fps)
    if task.index > 0 and len(part.times) and part.warmup == 0 and part.times[0] > late:
        part = run(seek=False)  # the seek landed after the chunk's start (some containers): decode from 0
    if task.index == 0 and not part.owned:
        raise VideoError(f"{task.video}: no decodable video frame")
    return part


_BEGUN: str | None = None  # a folder where a worker marks each task it begins (LocalWorkers)


def worth_sharing(videos: int | None, chunks: int) -> bool:
    """Whether pose work is worth worker processes: not for one video of one chunk (nothing to share out;
    ``videopose.start_pose`` then poses it in this process, the same task a second or two sooner)."""
    return not (videos == 1 and chunks == 1)


def will_use_workers(paths: list, workers: int) -> bool:
    """Whether a local run of ``paths`` with ``workers`` will start worker processes."""
    if workers <= 1 or not paths:
        return False
    if len(paths) > 1:
        return True
    try:
        from .video_probe import probe

        return worth_sharing(1, len(plan_chunks(probe(paths[0]).duration)))
    except Exception:  # an unreadable file is reported when it is processed
        return False


def _worker_init(progress, begun: str | None = None) -> None:
    global _PROGRESS, _BEGUN
    _PROGRESS, _BEGUN = progress, begun
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides what Ctrl-C stops
    with contextlib.suppress(Exception):
        import cv2

        cv2.setNumThreads(1)


# -- where tasks run -------------------------------------------------------------------------------------
class _Lazy(Future):
    """A future computed in this process when its result is first asked for."""

    def __init__(self, fn):
        super().__init__()
        self._fn = fn

    def result(self, timeout=None):
        if not self.done():
            try:
                self.set_result(self._fn())
            except BaseException as e:
                if isinstance(e, (KeyboardInterrupt, SystemExit)):
                    raise
                self.set_exception(e)
        return super().result(timeout)


class InlineWorkers:
    """Chunk tasks in this process, one at a time, when their results are needed (``--workers 1``)."""

    workers = 1

    def __init__(self, backend=None):
        self._backend = backend
        self.on_time = None  # callback(time) while a chunk runs

    def backend_for(self, spec: BackendSpec):
        if self._backend is None:
            self._backend = spec.make()
        return self._backend

    def submit(self, task: ChunkTask) -> Future:
        return _Lazy(lambda: run_chunk(task, self.backend_for(task.backend), on_time=self.on_time))

    def progress(self) -> dict[str, float]:
        return {}

    def busy(self) -> int:
        return 0

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


class LocalWorkers:
    """Chunk tasks in ``n`` worker processes of this machine (started on first use).

    A worker process that dies (killed for memory, a crash in the pose model's native code) breaks the
    whole process pool: every task in it fails. The pool is then started afresh and those tasks are run
    again. A task that had begun in a broken pool has used one of its ``RETRIES + 1`` tries (the pool
    cannot tell which running task's process died, so the others running with it use one too); one that
    was only queued has not (up to ``QUEUED_RETRIES`` times). A task out of tries makes its video fail in
    one line, and the batch goes on with a working pool."""

    RETRIES = 2
    QUEUED_RETRIES = 20

    def __init__(self, n: int, fn=None):
        self.workers = n
        self._fn = fn or run_chunk  # what a task runs (tests give a stand-in)
        self._pool = None
        self._queue = None
        self._pending: set[Future] = set()
        self._lock = threading.RLock()
        self._stopping = False
        self._begun: str | None = None  # the folder of begun-marks (see _begin)
        self.restarts = 0  # pools started again after a worker died (for tests and benchmarks)

    def _start(self):
        import tempfile
        from concurrent.futures import ProcessPoolExecutor

        ctx = worker_context()
        if self._queue is None:
            self._queue = ctx.Queue()
        if self._begun is None:
            self._begun = tempfile.mkdtemp(prefix="pose-workers-")
        self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_init,
                                         initargs=(self._queue, self._begun))

    def _restart(self, broken) -> None:
        """A fresh pool in place of ``broken`` (once, however many of its tasks report the breakage)."""
        with self._lock:
            if self._pool is broken and not self._stopping:
                with contextlib.suppress(Exception):
                    broken.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                self.restarts += 1

    def submit(self, task: ChunkTask) -> Future:
        outer: Future = Future()
        self._pending.add(outer)
        outer.add_done_callback(self._pending.discard)
        self._run(task, outer, tries=0, queued=0)
        return outer

    def _run(self, task: ChunkTask, outer: Future, tries: int, queued: int) -> None:
        import uuid
        from concurrent.futures.process import BrokenProcessPool

        token = uuid.uuid4().hex
        with self._lock:
            if self._stopping:
                outer.cancel()
                return
            if self._pool is None:
                self._start()
            pool = self._pool
            try:
                inner = pool.submit(_begin, self._fn, task, token)
            except BrokenProcessPool:
                self._restart(pool)
                self._start()
                pool = self._pool
                inner = pool.submit(_begin, self._fn, task, token)
            mark = os.path.join(self._begun, token)

        def done(f: Future) -> None:
            if outer.done():
                return  # cancelled meanwhile
            if f.cancelled():
                outer.cancel()
                return
            exc = f.exception()
            began = os.path.exists(mark)
            with contextlib.suppress(OSError):
                os.unlink(mark)
            if isinstance(exc, BrokenProcessPool) and not self._stopping:
                self._restart(pool)
                n, q = (tries + 1, queued) if began else (tries, queued + 1)
                if n <= self.RETRIES and q <= self.QUEUED_RETRIES:
                    self._run(task, outer, n, q)
                    return
                why = (f"the pose worker process stopped abruptly {n} times while working on {_span(task)}"
                       if n > self.RETRIES else
                       f"the pose worker processes stopped abruptly {q} times while {_span(task)} waited for one")
                exc = VideoError(f"{task.video}: {why} (killed by the system, e.g. for lack of memory, or a crash "
                                 f"in the pose model)")
            with contextlib.suppress(Exception):  # InvalidStateError: cancelled just now
                outer.set_exception(exc) if exc is not None else outer.set_result(f.result())

        inner.add_done_callback(done)

    def progress(self) -> dict[str, float]:
        """Latest time reached by each running task, by task key."""
        out = {}
        if self._queue is None:
            return out
        with contextlib.suppress(Exception):
            while True:
                key, t = self._queue.get_nowait()
                out[key] = t
        return out

    def busy(self) -> int:
        return len(self._pending)

    def cancel(self) -> None:
        """Stop everything now (Ctrl-C): queued tasks are dropped, running ones killed."""
        pool = self._stop()
        for fut in list(self._pending):
            fut.cancel()
        if pool is None:
            return
        procs = list((getattr(pool, "_processes", None) or {}).values())
        for p in procs:
            with contextlib.suppress(Exception):
                p.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        pool = self._stop()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _stop(self):
        """No more tasks or restarts from now on; the pool (or None), for the caller to shut down."""
        with self._lock:
            self._stopping = True
            pool, self._pool = self._pool, None
        if self._begun is not None:
            shutil.rmtree(self._begun, ignore_errors=True)
        return pool


def _begin(fn, task: ChunkTask, token: str):
    """``fn(task)`` in a worker, after marking (a file, on disk before anything can crash) that this try
    began: a pool that breaks fails the tasks merely queued in it too, and those are not to blame."""
    if _BEGUN is not None:
        with contextlib.suppress(OSError):
            open(os.path.join(_BEGUN, token), "wb").close()
    return fn(task)


def _span(task: ChunkTask) -> str:
    end = "the end" if math.isinf(task.end_s) else f"{task.end_s:.1f} s"
    return f"{task.start_s:.1f} s to {end}"


# -- finished chunks on disk ----------------------------------------------------------------------------
class PartStore:
    """A video's finished chunks (``OUT/.NAME.pose-parts/``), valid only for one video content and pose
    setting (``key``); written atomically, so a file there is always complete."""

    def __init__(self, folder: Path, key: str):
        self.folder, self.key = folder, key
        self._lock = threading.Lock()

    @staticmethod
    def key_for(fingerprint: str, settings: dict) -> str:
        text = json.dumps({"video": fingerprint, "settings": settings}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def path(self, index: int) -> Path:
        return self.folder / f"{self.key}-{index:04d}.npz"

    def clean_others(self) -> None:
        """Parts of another video content or setting (we hold the video's lock)."""
        if self.folder.is_dir():
            for p in self.folder.iterdir():
                if not p.name.startswith(self.key + "-"):
                    with contextlib.suppress(OSError):
                        p.unlink()

    def load(self, index: int) -> Detections | None:
        p = self.path(index)
        if not p.exists():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                return Detections.from_arrays(z)
        except Exception:
            return None  # unreadable: computed again

    def save(self, index: int, part: Detections) -> None:
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.path(index)) as tmp, open(tmp, "wb") as f:
                np.savez_compressed(f, **part.to_arrays())

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def chunk_tasks(video: str, info: VideoInfo, every_s: float | None, spec: BackendSpec) -> list[ChunkTask]:
    plan = plan_chunks(info.duration)
    video = os.path.abspath(video)  # tasks may run in another folder or on another machine
    return [ChunkTask(video, info.to_dict(), i, len(plan), a, b, every_s, spec) for i, (a, b) in enumerate(plan)]


def done_part(store: PartStore, index: int, fut: Future) -> Future:
    """Save the chunk to the store as soon as its task finishes (in whichever thread that happens)."""
    def save(f: Future) -> None:
        if not f.cancelled() and f.exception() is None:
            with contextlib.suppress(OSError):
                store.save(index, f.result())

    fut.add_done_callback(save)
    return fut


def stored(part: Detections) -> Future:
    fut: Future = Future()
    fut.set_result(part)
    return fut

