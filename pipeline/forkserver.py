"""The process pose workers are forked from, started first thing by the command line.

A forkserver (a fresh Python process, never a copy of the main one, whose torch and threads are not
fork-safe) imports what a pose worker needs (``WORKER_PRELOAD``) once; each worker process is a fork of
it and starts with mediapipe already imported. The command line starts it before its own imports
(~2.5 s: scipy, OpenCV, torch, the checkpoints) so that both run side by side and workers can begin
as soon as chunks are handed out. This module imports nothing heavy for that reason.
"""
from __future__ import annotations

import multiprocessing
import os

WORKER_PRELOAD = ["pipeline.posework", "mediapipe"]


def usable_cores() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def worker_context():
    """The multiprocessing context of pose workers: the forkserver with ``WORKER_PRELOAD``, or spawned
    processes where there is no forkserver (Windows)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(WORKER_PRELOAD)
    return ctx


def start_worker_server() -> bool:
    """Start the forkserver now rather than when the first worker is needed. True if there is one."""
    if worker_context().get_start_method() != "forkserver":
        return False
    from multiprocessing import forkserver

    forkserver.ensure_running()
    return True
