"""Keeping the CPU busy while pose estimation runs: decoding ahead, and MMN on finished windows.

* ``prefetch``: frames are decoded in a thread, a few frames ahead of the pose model.
* ``StreamingWindows``: in long mode, every window whose frames are all past, and the frames its
  stabilised keypoints depend on (``pose.stabilize``, ``context_frames()`` beyond its end), is
  stabilised and sent to MMN in a background thread (batches of ``batch`` windows, one torch thread)
  while the pose model works on later frames. ``analyse_track`` then takes these logits instead of computing them again; windows
  the stream did not cover (the last one, or windows of people whose ids changed) are computed
  afterwards as usual. Results are the same as without streaming (same inputs, same model).
"""
from __future__ import annotations

import queue
import threading
from array import array
from typing import Iterable, Iterator

import numpy as np

from pose.stabilize import Stabilizer, stabilize_window

from .segments import MIN_PRESENT
from .shots import LAG

_DONE = object()


def prefetch(items: Iterable, depth: int = 4) -> Iterator:
    """Iterate ``items`` in a background thread, ``depth`` items ahead (exceptions are re-raised)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work():
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
        except BaseException as e:  # handed to the consumer
            q.put(e)
        finally:
            q.put(_DONE)
            close = getattr(items, "close", None)
            if stop.is_set() and close:
                close()

    t = threading.Thread(target=work, daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get(timeout=0.1)
            except queue.Empty:
                pass
        t.join()


class StreamingWindows:
    """MMN logits for long-mode windows, computed while frames are still arriving."""

    def __init__(self, recognizer, window_s: float, stride_s: float, stabilizer: Stabilizer, batch: int = 16,
                 cuts: list[int] | None = None):
        import torch

        self.rec, self.window_s, self.stride_s, self.batch = recognizer, window_s, stride_s, batch
        self.stabilizer, self.context = stabilizer, stabilizer.context_frames()
        self.cuts = cuts if cuts is not None else []  # camera cuts found so far (filled by the decoder's detector)
        self.times = array("d")  # 8 bytes a frame
        self.lo = 0  # no window to come starts before this frame
        self.next_k = 0
        self.waiting: list[tuple[int, int]] = []  # windows (a, b) waiting for their context frames
        self.pending: list[tuple[tuple[int, int, int], np.ndarray]] = []
        self.logits: dict[tuple[int, int, int], np.ndarray] = {}
        self.q: queue.Queue = queue.Queue()
        self._torch = torch
        self._threads = torch.get_num_threads()
        self.error: BaseException | None = None
        self.worker = threading.Thread(target=self._work, daemon=True)
        self.worker.start()

    def _work(self) -> None:
        self._torch.set_num_threads(1)  # leave the other cores to the pose model
        while True:
            item = self.q.get()
            if item is None:
                return
            keys, clips = item
            try:
                for key, row in zip(keys, self.rec.logits(clips)):
                    self.logits[key] = row
            except BaseException as e:  # recomputed later in the main thread, which reports errors
                self.error = e

    def on_frame(self, tracker, index: int, time: float) -> None:
        self.times.append(time)
        t0 = self.times[0]
        while True:  # windows whose frames are all past
            start = t0 + self.next_k * self.stride_s
            end = start + self.window_s
            if time < end:
                break
            recent = np.array(self.times[self.lo:])  # only the frames since the last window's start
            a = self.lo + int(np.searchsorted(recent, start - 1e-9))
            b = self.lo + int(np.searchsorted(recent, end - 1e-9))
            self.lo = a
            if b - a >= 1:
                self.waiting.append((a, b))
            self.next_k += 1
        n = len(self.times)
        while self.waiting and self.waiting[0][1] + self.context + LAG <= n:  # ... their context, and cuts
            self._cut(tracker, *self.waiting.pop(0))
        if len(self.pending) >= self.batch:
            self._flush()

    def _cut(self, tracker, a: int, b: int) -> None:
        before = [c for c in self.cuts if c <= a]
        if any(a < c < b for c in self.cuts):
            return  # spans a camera cut: not a window of the analysis
        first = max(before, default=0)
        last = min((c for c in self.cuts if c >= b), default=b + self.context)
        lo, hi = max(first, a - self.context), min(last, b + self.context)
        times = np.array(self.times[lo:hi])
        for tid in tracker.track_ids():
            kp, sc, src = tracker.window(tid, lo, hi)
            present = float(np.isfinite(kp[a - lo:b - lo]).all(-1).any(-1).mean())
            if present >= MIN_PRESENT:
                clip = stabilize_window(kp, sc, src, times, a - lo, b - lo, self.stabilizer, shot=(0, hi - lo))
                self.pending.append(((tid, a, b), clip))

    def _flush(self) -> None:
        if self.pending:
            self.q.put(([k for k, _ in self.pending], [c for _, c in self.pending]))
            self.pending = []

    def close(self) -> dict[tuple[int, int, int], np.ndarray]:
        self._flush()
        self.q.put(None)
        self.worker.join()
        self._torch.set_num_threads(self._threads)
        return self.logits
