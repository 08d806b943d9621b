"""The pose workers of a run: the backend in this process, the worker processes (or one in this process,
or a Ray cluster's), handing out a video's chunks and collecting them in order with progress, and
sharing the cores between the workers and MMN."""
from __future__ import annotations

import os
from concurrent.futures import wait

from pose.estimate import make_backend
from pose.types import PoseBackend

from .options import Options
from .posework import BackendSpec, InlineWorkers, LocalWorkers, default_workers, worth_sharing


class PosePool:
    def __init__(self, opts: Options, backend: PoseBackend | None = None, workers=None):
        self.opts = opts
        self._backend = backend
        self._backend_given = backend is not None  # pose then runs here, with that object
        self._workers = workers
        self._latest: dict[str, float] = {}  # chunk task key -> time it reached (worker progress)

    @property
    def backend(self):
        """The pose backend in this process (its settings and frame size; it runs pose itself only with
        one worker)."""
        o = self.opts
        if self._backend is None and o.pose != "alphapose-json":
            self._backend = make_backend(o.pose, alphapose_config=o.alphapose_config,
                                         alphapose_checkpoint=o.alphapose_checkpoint, device=o.device,
                                         max_side=o.max_side, max_persons=o.max_persons)
        return self._backend

    @property
    def workers(self):
        if self._workers is None:
            live_gpu_model = self.opts.pose == "alphapose"  # one model on the GPU, in this process
            # (not `self._backend is not None`: a video's start makes this process's backend for its settings
            # before the first task is submitted, and that must not turn the worker processes off)
            n = 1 if live_gpu_model or self._backend_given else (self.opts.workers or default_workers())
            self._workers = InlineWorkers(self.backend) if n <= 1 else LocalWorkers(n)
        return self._workers

    @property
    def worker_processes(self) -> int:
        """The worker processes chunks are shared among; 0: this process runs them."""
        return 0 if isinstance(self.workers, InlineWorkers) else self.workers.workers

    def backend_spec(self) -> BackendSpec:
        o = self.opts
        return BackendSpec(o.pose, o.max_side, o.max_persons, o.device,
                           os.path.abspath(o.alphapose_config) if o.alphapose_config else None,
                           os.path.abspath(o.alphapose_checkpoint) if o.alphapose_checkpoint else None)

    def inline_unless_worth_sharing(self, videos_expected: int | None, chunks: int) -> None:
        """Before the first chunk: no worker process to start when sharing would not pay."""
        if self._workers is None and not worth_sharing(videos_expected, chunks):
            self._workers = InlineWorkers(self.backend)

    def wants_more(self, started: int) -> bool:
        """Whether to start the next video now: while the workers have less than two tasks each queued
        (never with one worker in this process: it would run that video's pose first)."""
        w = self.workers
        return not isinstance(w, InlineWorkers) and w.busy() < 2 * w.workers and started < 4 * w.workers

    def share_cores(self, recognizer) -> None:
        """MMN in this process takes the cores the pose workers leave free (one at least)."""
        if recognizer is None or not isinstance(self._workers, LocalWorkers):
            return
        import torch

        torch.set_num_threads(max(1, default_workers() - min(self._workers.busy(), self._workers.workers)))

    def chunks_in_order(self, tasks: list, parts: list, info, progress=None):
        """The chunks' Detections in order, as they finish (showing progress while waiting); each entry of
        ``parts`` (the chunks' futures) is let go once its chunk is handed on."""
        fps = info.fps or 30.0
        workers = self.workers
        spans = [(t.start_s, min(t.end_s, max(info.duration, t.start_s))) for t in tasks]

        def show() -> None:
            if not progress:
                return
            self._latest.update(workers.progress())
            covered = 0.0
            for (a, b), fut, task in zip(spans, parts, tasks):
                if fut is None or fut.done():
                    covered += b - a
                elif task.key in self._latest:
                    covered += max(0.0, min(b, self._latest[task.key]) - a)
            progress(int(covered * fps))

        if isinstance(workers, InlineWorkers):
            workers.on_time = lambda t: show()
        try:
            for k, fut in enumerate(parts):
                while not fut.done() and not isinstance(workers, InlineWorkers):
                    show()
                    wait([fut], timeout=0.25)
                part = fut.result()  # the task's own error, if it failed
                parts[k] = None  # memory: each chunk is let go once assembled
                show()
                yield part
        finally:
            if isinstance(workers, InlineWorkers):
                workers.on_time = None

    def cancel(self) -> None:
        if self._workers is not None:
            self._workers.cancel()

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()
        if self._backend is not None:
            self._backend.close()
