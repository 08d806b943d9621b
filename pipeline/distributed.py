"""Run a batch on a Ray cluster (``--engine ray``) with the same outputs as a local run.

One task per video. Each worker is a long-lived Ray actor that loads the pose model and MMN once
and then processes video after video with exactly the code of a local run (``Pipeline.process``):
the same files, atomic writes, per-video locks and completion records. The driver checks
``--resume`` against the same records, shows progress and the summary, and on Ctrl-C cancels the
running tasks (each stops like a local run does: no partial files) and shuts the workers down.

Inputs and ``--out`` must be paths that every node can read and write (a shared file system
mounted at the same place everywhere); a worker that cannot write ``--out`` fails its videos with a
message naming the folder and the node.

Ray is optional: ``pip install -r requirements-ray.txt``.
"""
from __future__ import annotations

import logging
import socket
from dataclasses import replace
from pathlib import Path

from .run import (Options, Outcome, Pipeline, Summary, VideoJob, check_output_dir, finish, process_one,
                  skip_if_complete)

ROOT = Path(__file__).resolve().parent.parent
# The code travels to the workers; videos, checkpoints and caches stay on the shared file system.
RUNTIME_ENV = {"working_dir": str(ROOT), "excludes": [".git", ".venv", "tests", "benchmarks", "*.mp4", "*.pt", "*.npz"]}


class RayUnavailable(RuntimeError):
    pass


class VideoWorker:
    """The actor body: one Pipeline (models loaded once) per worker process."""

    def __init__(self, opts: Options):
        self.node = socket.gethostname()
        self.error = None
        try:
            check_output_dir(opts.out)
            self.pipeline = Pipeline.from_options(opts)
        except Exception as e:  # reported per video, so the driver names the node and the cause
            self.error = f"worker on {self.node}: {' '.join(str(e).split())}"
            if "cannot be written" in self.error or "No such file" in self.error:
                self.error += " (is --out on a file system every node shares?)"

    def process(self, job: VideoJob) -> Outcome:
        if self.error:
            return Outcome(job, "failed", f"{job.path}: {self.error}")
        return process_one(self.pipeline, job)


REACH_TIMEOUT_S = 5.0


def check_reachable(address: str, timeout: float = REACH_TIMEOUT_S) -> None:
    """A cluster address (``host:port`` or ``ray://host:port``) must answer within ``timeout`` seconds
    (Ray itself retries an unreachable address for minutes); ``auto`` is left to Ray."""
    import socket

    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise RayUnavailable(f"--ray-address {address!r}: expected host:port, ray://host:port or auto")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as e:
        raise RayUnavailable(f"--ray-address {address}: cannot reach the Ray cluster "
                             f"({e.strerror or type(e).__name__}; tried for {timeout:g} s)") from None


def _init_ray(address: str | None, num_cpus: int | None):
    try:
        import ray
    except ImportError:
        raise RayUnavailable("--engine ray needs Ray: pip install -r requirements-ray.txt") from None
    if address:
        check_reachable(address)
    started = not ray.is_initialized()
    if started:
        kwargs = dict(logging_level=logging.ERROR, log_to_driver=False, include_dashboard=False,
                      runtime_env=RUNTIME_ENV)
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=num_cpus, **kwargs)
    return ray, started


def run_batch_ray(jobs: list[VideoJob], opts: Options, settings_key: str, address: str | None = None,
                  reporter=None, num_cpus: int | None = None, cpus_per_worker: float = 1.0) -> Summary:
    """``address``: None starts a local instance; "auto" joins the running cluster; or host:port.
    ``settings_key``: the driver's ``Pipeline.settings_key`` (for --resume)."""
    from .run import NullReporter

    reporter = reporter or NullReporter()
    ray, started = _init_ray(address, num_cpus)
    try:
        return _run(ray, jobs, opts, settings_key, reporter, cpus_per_worker)
    finally:
        if started:
            ray.shutdown()


def _run(ray, jobs: list[VideoJob], opts: Options, settings_key: str, reporter, cpus_per_worker: float) -> Summary:
    # paths travel to other processes (whose working folder differs): make them absolute
    opts = replace(opts, **{k: Path(getattr(opts, k)).resolve() for k in Options.PATH_FIELDS if getattr(opts, k)})
    jobs = [VideoJob(Path(j.path).resolve(), j.rel) for j in jobs]

    summary = Summary()
    todo = []
    for job in jobs:
        skipped = skip_if_complete(job, opts, settings_key)
        if skipped:
            summary.outcomes.append(skipped)
            reporter.start_video(job)
            reporter.end_video(skipped)
        else:
            todo.append(job)
    if not todo:
        return finish(summary, opts)

    resources = ray.cluster_resources()
    gpus = resources.get("GPU", 0) > 0 and opts.device != "cpu"
    n_workers = max(1, min(len(todo), int(resources.get("CPU", 1) // cpus_per_worker)))
    actor_cls = ray.remote(num_cpus=cpus_per_worker, num_gpus=1 if gpus else 0)(VideoWorker)
    workers = [actor_cls.remote(opts) for _ in range(n_workers)]
    running: dict = {}
    queue = list(todo)
    results: dict[int, Outcome] = {}
    order = {id(j): i for i, j in enumerate(todo)}

    def submit(w) -> None:
        if queue:
            job = queue.pop(0)
            reporter.start_video(job)
            running[w.process.remote(job)] = (w, job)

    try:
        for w in workers:
            submit(w)
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            ref = done[0]
            w, job = running.pop(ref)
            try:
                outcome = ray.get(ref)
                outcome.job = job
            except Exception as e:  # the worker process died
                outcome = Outcome(job, "failed", f"{job.path}: worker failed ({' '.join(str(e).split())[:200]})")
            results[order[id(job)]] = outcome
            reporter.end_video(outcome)
            submit(w)
    except KeyboardInterrupt:
        summary.interrupted = True
        for ref in running:
            ray.cancel(ref)  # raises KeyboardInterrupt in the task: it stops like a local run
        ray.wait(list(running), num_returns=len(running), timeout=30)
    finally:
        for w in workers:
            ray.kill(w)
    summary.outcomes += [results[i] for i in sorted(results)]
    return finish(summary, opts)
