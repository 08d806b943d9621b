"""Pose chunk tasks on a Ray cluster (``--engine ray``), with the same outputs as a local run.

The batch runs exactly as locally (``pipeline.batch.run_batch``): this process locks, probes, assembles,
analyses and writes every output; only the pose chunk tasks (``pipeline.posework.run_chunk``, the
costly part) go to the cluster's CPUs, so one long video spreads over the cluster as well as a folder
of videos. Each Ray worker process keeps its pose model between tasks. ``--resume``, finished chunks
kept across interruptions, and Ctrl-C (queued and running tasks cancelled) behave as locally.

The videos must be readable at the same path on every node (a shared file system); outputs are written
by this process only.

Ray is optional: ``pip install -r requirements-ray.txt``.
"""
from __future__ import annotations

import logging
from concurrent.futures import Future
from pathlib import Path

from common.errors import UserError

from .posework import ChunkTask, run_chunk

ROOT = Path(__file__).resolve().parent.parent
# The code travels to the workers; videos stay on the shared file system.
RUNTIME_ENV = {"working_dir": str(ROOT), "excludes": [".git", ".venv", "tests", "benchmarks", "*.mp4", "*.pt", "*.npz"]}


class RayUnavailable(UserError, RuntimeError):
    pass


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


class RayWorkers:
    """Chunk tasks as Ray tasks (one CPU each); the same interface as ``pipeline.posework.LocalWorkers``."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        self.ray, self._started = _init_ray(address, num_cpus)
        self.workers = max(1, int(self.ray.cluster_resources().get("CPU", 1)))
        self._remote = self.ray.remote(num_cpus=1, max_retries=0)(run_chunk)
        self._refs: dict[Future, object] = {}

    def submit(self, task: ChunkTask) -> Future:
        ref = self._remote.remote(task)
        fut = ref.future()
        self._refs[fut] = ref
        fut.add_done_callback(lambda f: self._refs.pop(f, None))
        return fut

    def progress(self) -> dict[str, float]:
        return {}  # chunk by chunk only

    def busy(self) -> int:
        return len(self._refs)

    def cancel(self) -> None:
        for ref in list(self._refs.values()):
            try:
                self.ray.cancel(ref, force=True)
            except Exception:
                pass
        self._refs.clear()

    def close(self) -> None:
        self.cancel()
        if self._started:
            self.ray.shutdown()
            self._started = False
