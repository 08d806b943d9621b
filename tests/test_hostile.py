"""What a hostile user tried (issue 30, second half): each case asserts the exact outcome (exit code, the
one-line message, what is on disk). Bad inputs of the first passes are in test_robustness.py and
test_adversarial.py."""
from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

from pipeline.run import BusyError, video_lock


# -- 6. the per-video lock is exclusive under contention -------------------------------------------------
def _contend(lock: str, marker: str, seconds: float, results) -> None:
    """Take the lock as often as possible for ``seconds``; while holding it, create ``marker`` exclusively
    (a second holder finds it there)."""
    held = overlaps = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with video_lock(Path(lock)):
                try:
                    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    overlaps += 1
                    continue
                held += 1
                os.close(fd)
                os.unlink(marker)
        except BusyError:
            pass
    results.put((held, overlaps))


def test_video_lock_is_held_by_one_process_at_a_time(tmp_path):
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    lock, marker = tmp_path / ".v.lock", tmp_path / "holder"
    procs = [ctx.Process(target=_contend, args=(str(lock), str(marker), 2.0, results)) for _ in range(3)]
    for p in procs:
        p.start()
    counts = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(10)
    assert sum(o for _, o in counts) == 0, counts  # never two holders at once
    assert all(h > 20 for h, _ in counts), counts  # each process held it many times: real contention
    assert not lock.exists() and not marker.exists()  # nothing left behind
