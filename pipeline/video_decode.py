"""Streaming decode of a video with each frame's own timestamp (ffmpeg in a subprocess).

* ``iter_frames(path)``: decoded RGB frames one at a time, each with the presentation time from
  the container (``showinfo``'s pts_time, so variable frame rates give correct times), rotation
  metadata applied. Only one frame is held at a time: memory does not grow with video length.
* ``prefetch(frames)``: decoding in a thread, a few frames ahead of the pose model.
"""
from __future__ import annotations

import contextlib
import math
import os
import queue
import re
import subprocess
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

import ffmpeg
import numpy as np

from common.frames import nominal_interval

from .ffmpeg_tools import VideoError, as_arg, ffmpeg_exe, last_line
from .video_probe import VideoInfo, probe


class DecoderCrash(RuntimeError):
    """ffmpeg died of a signal while reading a video: a fault of the decoder build (a bug to report with the
    file), not a bad video."""


def _check_crash(returncode: int | None, path) -> None:
    """An ffmpeg process killed by a signal (a segfault of the ffmpeg build, the out-of-memory killer) is
    not the file's fault: said so, never reported as a bad video (the error is not a user error)."""
    if returncode is not None and (returncode < 0 or returncode in (134, 137, 139)):  # a signal, or 128 + it
        sig = -returncode if returncode < 0 else returncode - 128
        raise DecoderCrash(f"{path}: ffmpeg ({ffmpeg_exe()}) was killed by signal {sig} while decoding it: a fault "
                           "of that ffmpeg build or the machine (memory?), not necessarily of the file")



@dataclass
class Frame:
    index: int  # position among all decoded frames (also those ``every_s`` leaves out)
    time: float  # seconds from the start of the video
    image: np.ndarray | None  # [H, W, 3] uint8 RGB; None for a frame ``every_s`` leaves out
    small: np.ndarray | None = None  # [h, small_width, 3] uint8 RGB when asked for (cut detection)
    size: tuple[int, int] | None = None  # the decoded picture's own (w, h), when known (with ``small``)


_SIZE = re.compile(r"\bs:(\d+)x(\d+)")
_SHOWINFO = re.compile(r"\[Parsed_showinfo_(\d+)\b.*?\bn:\s*(\d+)\s+pts:\s*(-?\d+|NOPTS)\s+pts_time:\s*(\S+)")


def _scaled_size(w: int, h: int, max_side: int | None, enlarge: bool = False) -> tuple[int, int]:
    """(w, h) scaled to fit a ``max_side`` square (even sides, at least 2), keeping the aspect ratio;
    smaller frames stay as they are unless ``enlarge``. Both sides are bounded: a 2 x 2000 picture's
    thumbnail is 2 x 256, never 256 x 256000 (12 MB of memory per frame against 1.5 KB)."""
    if not max_side or (max(w, h) <= max_side and not enlarge):
        return w, h
    s = max_side / max(w, h)
    return max(2, int(round(w * s / 2)) * 2), max(2, int(round(h * s / 2)) * 2)


SLOT_EPS = 1e-4  # of a slot: a frame on a slot's edge (25 fps, 10 a second) falls the same way for both


@dataclass(frozen=True)
class Sampling:
    """Which frames come at full size when not all do (``iter_frames``' ``every_s``/``all_until_s``): every
    frame before ``all_until_s`` (video seconds), then the first frame of every ``every_s``-second slot,
    slots counted from the video's start (so the choice does not depend on where decoding starts). Half
    a frame of margin at every edge, so ffmpeg's container times and ours never disagree about a frame.
    One rule, written twice: as an ffmpeg ``select`` expression and in Python."""

    every_s: float
    fps: float
    all_until_s: float | None = None

    def _slot(self, t: float) -> int:
        return math.floor((t + 0.5 / self.fps) / self.every_s + SLOT_EPS)

    def _until(self) -> float:
        return -math.inf if self.all_until_s is None else self.all_until_s - 0.5 / self.fps

    def wanted(self, t: float, prev_t: float | None) -> bool:
        """Whether the frame at ``t`` comes at full size (``prev_t``: the decoded frame before it)."""
        return prev_t is None or t < self._until() or self._slot(t) > self._slot(prev_t)

    def select_expr(self, start_time: float) -> str:
        """The same rule on ffmpeg's container times (``start_time``: the container's first time)."""
        shift, e = 0.5 / self.fps - start_time, self.every_s
        expr = (f"isnan(prev_t)+gt(floor((t+{shift:.9f})/{e:.9f}+{SLOT_EPS}),"
                f"floor((prev_t+{shift:.9f})/{e:.9f}+{SLOT_EPS}))")
        if self.all_until_s is not None:
            expr = f"lt(t,{self._until() + start_time:.9f})+" + expr
        return expr

    def mask(self, times) -> np.ndarray:
        """Which of the decoded frames at ``times`` (all of them, in order) come at full size."""
        return np.array([self.wanted(float(t), None if i == 0 else float(times[i - 1])) for i, t in enumerate(times)],
                        bool)


@lru_cache(maxsize=None)
def _showinfo_options() -> dict:
    """``showinfo`` without its per-frame checksums (ffmpeg 5+ has the option): we read only frame
    numbers and times, and the checksums of every full-size frame cost about as much CPU as decoding."""
    try:
        helptext = subprocess.run([ffmpeg_exe(), "-hide_banner", "-h", "filter=showinfo"], capture_output=True,
                                  text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"checksum": 0} if re.search(r"^\s*checksum\b", helptext, re.M) else {}


def _scale(stream, w: int, h: int, pix_fmt: str):
    """Scale to fit ``w`` x ``h`` without stretching (a picture whose size changes mid-stream is fitted into
    the first size and padded, never distorted), in the decoder's own pixel format when it is a YUV one, so
    that the conversion to RGB that follows is the cheap same-size one: swscale's combined scale-and-convert
    path costs about 2.5x as much CPU (1080x1296 -> 800x960: 7.8 ms against 2.8 ms a frame here)."""
    fit = f"min({w}/iw,{h}/ih)"  # the largest scale at which the picture fits; even sides of at least 2 px
    stream = stream.filter("scale", w=f"max(2,min({w},round(iw*{fit}/2)*2))", h=f"max(2,min({h},round(ih*{fit}/2)*2))")
    stream = stream.filter("pad", w, h, "(ow-iw)/2", "(oh-ih)/2")
    if pix_fmt.startswith(("yuv", "nv")):
        stream = stream.filter("format", pix_fmt)
    return stream


def _any_of(terms: list[str]) -> str:
    """An ffmpeg expression true when any of ``terms`` is: their sum as a balanced tree (FFmpeg 9 refuses a
    chain of a few hundred terms: "Cannot allocate memory")."""
    if not terms:
        return "0"
    if len(terms) == 1:
        return terms[0]
    half = len(terms) // 2
    return f"({_any_of(terms[:half])}+{_any_of(terms[half:])})"


@dataclass
class _Decode:
    """An ffmpeg decode, as ``iter_frames`` asked for it."""
    cmd: list[str]
    size: tuple[int, int]  # main frames (w, h)
    small_size: tuple[int, int] | None  # every decoded frame, small (w, h), on a second pipe
    sampling: Sampling | None  # which frames come at full size (None: all)


def _decode_command(path, info: VideoInfo, max_side, start_s, sampling, small_width, near, small_fd) -> _Decode:
    ffmpeg_bin = ffmpeg_exe()
    fps = info.fps or 30.0
    w, h = _scaled_size(info.width, info.height, max_side)
    seek = {} if not start_s or start_s <= 0 else {"ss": f"{start_s:.6f}"}  # from the first frame, as our times
    source = ffmpeg.input(as_arg(path), **seek)
    base = source.video if info.stream is None else source[str(info.stream)]
    small_size = None
    if small_width:
        small_size = _scaled_size(info.width, info.height, int(small_width), enlarge=True)
        branches = base.filter("showinfo", **_showinfo_options()).filter_multi_output("split")
        small_stream, main = _scale(branches.stream(0), *small_size, info.pix_fmt), branches.stream(1)
    else:
        main = base
    if sampling is not None:
        main = main.filter("select", sampling.select_expr(info.start_time))
    if near is not None and not small_width:
        step = 1.0 / fps
        main = main.filter("select", _any_of([f"between(t,{t + info.start_time - step:.6f},{t + info.start_time + step:.6f})"
                                              for t in sorted(near)]))
    main = _scale(main, w, h, info.pix_fmt)  # also at full size: a later change of size is fitted, not stretched
    main = main.filter("showinfo", **_showinfo_options())
    raw = dict(format="rawvideo", pix_fmt="rgb24", fps_mode="passthrough", an=None, sn=None)
    outputs = [main.output("pipe:", **raw)]
    if small_width:
        outputs.append(small_stream.output(f"pipe:{small_fd}", **raw))
    cmd = (ffmpeg.merge_outputs(*outputs)
           # -copyts: showinfo reports the container's own times (from which start_time is taken)
           .global_args("-nostdin", "-nostats", "-hide_banner", "-loglevel", "info", "-copyts")
           .compile(cmd=ffmpeg_bin))
    return _Decode(cmd, (w, h), small_size, sampling)


class _FrameTimes(threading.Thread):
    """Reads ffmpeg's stderr: the time of every frame on stdout (``chosen``, a queue), of every decoded
    frame when there is a small stream (``every``, a list: the small stream has them all), and the
    last lines of anything else (``log``, for error messages)."""

    def __init__(self, stderr, info: VideoInfo, small: bool):
        super().__init__(daemon=True)
        self.stderr, self.start_time, self.small = stderr, info.start_time, small
        self.nominal = nominal_interval(info.fps)
        self.chosen: queue.Queue = queue.Queue()
        self.every: list[float | None] = []
        self.sizes: list[tuple[int, int] | None] = []  # every decoded frame's own size (with ``every``)
        self.every_cv = threading.Condition()
        self.log: list[str] = []

    def run(self) -> None:
        last = last_all = None
        for raw_line in iter(self.stderr.readline, b""):
            line = raw_line.decode("utf-8", "replace")
            m = _SHOWINFO.search(line)
            if not m:
                self.log.append(line)
                del self.log[:-20]
                continue
            t = float("nan") if m.group(3) == "NOPTS" else float(m.group(4)) - self.start_time
            if self.small and m.group(1) == "0":  # every decoded frame
                if not np.isfinite(t):  # no timestamp: continue from the previous one at the nominal rate
                    t = 0.0 if last_all is None else last_all + self.nominal
                last_all = t
                size = _SIZE.search(line)
                with self.every_cv:
                    self.every.append(t)
                    self.sizes.append((int(size.group(1)), int(size.group(2))) if size else None)
                    self.every_cv.notify_all()
                continue
            if not np.isfinite(t):
                t = 0.0 if last is None else last + self.nominal
            last = t
            self.chosen.put(t)
        self.chosen.put(None)
        with self.every_cv:
            self.every.append(None)
            self.every_cv.notify_all()

    def time_of(self, count: int) -> float | None:
        """The time of decoded frame ``count`` (None at the end)."""
        with self.every_cv:
            if not self.every_cv.wait_for(lambda: len(self.every) > count, timeout=FRAME_TIME_WAIT_S):
                raise DecodeStopped(f"ffmpeg gave no time for frame {count} in {FRAME_TIME_WAIT_S:.0f} s")
            return self.every[count]

    def size_of(self, count: int) -> tuple[int, int] | None:
        """The picture size of decoded frame ``count`` (once ``time_of`` has seen it)."""
        with self.every_cv:
            return self.sizes[count] if len(self.sizes) > count else None


class DecodeStopped(RuntimeError):
    """Reading ffmpeg's frames failed part way (a frame without its time for ``FRAME_TIME_WAIT_S``, a broken
    pipe): the frames after it would be silently missing, so the video fails instead."""


FRAME_TIME_WAIT_S = 60.0  # ffmpeg prints a frame's time as it writes the frame: this long without one is a fault


@dataclass
class _Failed:
    """What a reader thread hands the consumer instead of a frame when reading failed."""
    error: BaseException


def _pump(pipe, size: int, shape: tuple, q: queue.Queue, times: queue.Queue | None, stop: threading.Event) -> None:
    """Raw frames from a pipe into ``q`` as (time or None, image); ``_Failed`` if reading fails; None at the
    end."""
    try:
        while not stop.is_set():
            buf = _read_exact(pipe, size)
            if buf is None:
                break
            t = times.get(timeout=FRAME_TIME_WAIT_S) if times is not None else None
            _put(q, (t, np.frombuffer(buf, np.uint8).reshape(shape)), stop)
    except queue.Empty:
        _put(q, _Failed(DecodeStopped(f"ffmpeg gave no frame time for {FRAME_TIME_WAIT_S:.0f} s")), stop)
    except Exception as e:  # noqa: BLE001 - handed to the consumer, which raises it: never a silent end
        _put(q, _Failed(e), stop)
    finally:
        q.put(None) if not stop.is_set() else None


def _frame_or_raise(item, path, count: int):
    """A queue item, or the reader's failure raised with the file and the frames read so far."""
    if isinstance(item, _Failed):
        e = item.error
        raise DecodeStopped(f"{path}: reading the decoded frames stopped after {count} frames "
                            f"({type(e).__name__}: {' '.join(str(e).split())})") from e
    return item


def _merged(big_q: queue.Queue, small_q: queue.Queue, times: _FrameTimes, sampling: Sampling | None,
            path) -> Iterator[Frame]:
    """Every decoded frame (small), with its full-size image where one came (the full-size stream is
    a subset, matched by time)."""
    pending, big_done, prev_t, count = None, False, None, 0
    while (item := _frame_or_raise(small_q.get(), path, count)) is not None:
        t = times.time_of(count)
        if t is None:
            break
        image = None
        wanted = sampling is None or sampling.wanted(t, prev_t)
        prev_t = t
        while wanted and not big_done:
            if pending is None:
                got = _frame_or_raise(big_q.get(), path, count)
                if got is None:
                    big_done = True
                    break
                pending = got
            if pending[0] < t - 1e-6:
                pending = None  # a frame we did not expect: dropped
                continue
            if abs(pending[0] - t) <= 1e-6:
                image, pending = pending[1], None
            break
        yield Frame(count, t, image, item[1], times.size_of(count))
        count += 1


def _start_pumps(stdout, small_pipe, dec: _Decode, times: _FrameTimes,
                 stop: threading.Event) -> tuple[queue.Queue, queue.Queue]:
    """Threads that read the full-size frames (stdout) and the small ones (their own pipe)."""
    big_q: queue.Queue = queue.Queue(maxsize=4)
    small_q: queue.Queue = queue.Queue(maxsize=32)
    w, h = dec.size
    threading.Thread(target=_pump, args=(stdout, w * h * 3, (h, w, 3), big_q, times.chosen, stop), daemon=True).start()
    if small_pipe is not None:
        sw, sh = dec.small_size
        threading.Thread(target=_pump, args=(small_pipe, sw * sh * 3, (sh, sw, 3), small_q, None, stop),
                         daemon=True).start()
    return big_q, small_q


def iter_frames(path: str | Path, info: VideoInfo | None = None, max_side: int | None = None, *,
                start_s: float | None = None, every_s: float | None = None, all_until_s: float | None = None,
                small_width: int | None = None, near: list[float] | None = None,
                need_frames: bool = True) -> Iterator[Frame]:
    """Decode ``path`` as a stream of RGB frames with container timestamps (seconds from start).

    ``max_side`` downscales in ffmpeg (keypoints stay in original pixels: the pose backends work
    in normalised coordinates and scale by ``info.width/height``).
    ``start_s``: start at this time (ffmpeg seeks, then drops the frames before it, so the first frame is
    the first one at or after ``start_s``; times stay those of the whole video).
    ``small_width``: every decoded frame also comes small (``Frame.small``, e.g. for cut detection), within a
    ``small_width`` square.
    ``every_s`` (with ``small_width``): only the first frame of every ``every_s`` seconds (counted from
    the video's start, so which frames are kept does not depend on ``start_s``) is scaled and converted
    at full size, and every frame before ``all_until_s`` (``Sampling``); the others come with ``image``
    None. ``near`` (without ``small_width``): only the frames within a frame interval of these times
    come through (the others are decoded, not scaled or converted). ``need_frames=False``: no frame is
    not an error.
    """
    info = info or probe(path)
    rfd = wfd = None
    if small_width:
        rfd, wfd = os.pipe()
    fps = info.fps or 30.0
    sampling = (Sampling(every_s, fps, all_until_s)
                if small_width and every_s and every_s > 1.0 / fps + 1e-9 else None)
    dec = _decode_command(path, info, max_side, start_s, sampling, small_width, near, wfd)
    proc = subprocess.Popen(dec.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                            pass_fds=(wfd,) if wfd is not None else ())
    if wfd is not None:
        os.close(wfd)
    small_pipe = os.fdopen(rfd, "rb", buffering=0) if rfd is not None else None
    times = _FrameTimes(proc.stderr, info, bool(small_width))
    times.start()
    stop = threading.Event()
    big_q, small_q = _start_pumps(proc.stdout, small_pipe, dec, times, stop)
    count, ended = 0, False
    try:
        if not small_width:
            while (item := _frame_or_raise(big_q.get(), path, count)) is not None:
                yield Frame(count, item[0], item[1])
                count += 1
        else:
            for frame in _merged(big_q, small_q, times, dec.sampling, path):
                yield frame
                count += 1
        times.join(timeout=60)
        ended = True
    finally:
        stop.set()
        killed = False
        if ended:  # ffmpeg closed its output: it is exiting (its pipes close a moment before it can be reaped)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        if proc.poll() is None:  # stopped early by the reader (or ffmpeg hangs): ended here
            killed = True
            proc.kill()
        proc.wait()
        times.join(timeout=5)
        if small_pipe is not None:
            small_pipe.close()
    _check_crash(None if killed else proc.returncode, path)
    if proc.returncode not in (0, None) and count == 0:  # also without need_frames: ffmpeg failed, never "no frame"
        raise VideoError(f"{path}: could not decode video ({last_line(''.join(times.log))})")
    if count == 0 and need_frames:
        raise VideoError(f"{path}: no decodable video frame")



def _read_exact(pipe, size: int) -> bytes | None:
    chunks, got = [], 0
    while got < size:
        chunk = pipe.read(size - got)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)



_DONE = object()


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Put ``item`` into the bounded queue ``q`` unless ``stop`` is set first; whether it was put."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def prefetch(items: Iterable, depth: int = 4) -> Iterator:
    """Iterate ``items`` in a background thread, ``depth`` items ahead (exceptions are re-raised)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work():
        try:
            for item in items:
                if not _put(q, item, stop):
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
