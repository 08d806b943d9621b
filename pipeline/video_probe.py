"""What a video file holds, read without decoding its pictures (PyAV: ``av``, FFmpeg's libraries in a
maintained wheel).

* ``probe(path)``: duration, fps, frame count, size (after rotation), rotation, codec, audio; no picture
  decoded but the first (for the rotation).
* ``packet_times`` / ``frame_times``: the presentation times of the video stream's frames, from its packets.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from common.frames import frame_interval, nominal_interval

from .ffmpeg_tools import VideoError, as_arg

VIDEO_EXTENSIONS = {".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv",
                    ".mts", ".m2ts", ".3gp", ".ts"}


@dataclass
class VideoInfo:
    path: str
    width: int  # as displayed (rotation applied)
    height: int
    fps: float  # average frame rate
    duration: float  # seconds
    num_frames: int | None  # from the container when it says; None when unknown
    rotation: int  # degrees, from the display matrix / rotate tag
    codec: str
    has_audio: bool
    start_time: float
    pix_fmt: str = ""  # the decoder's pixel format (ffprobe), "" when unknown
    stream: int | None = None  # the video stream's index in the file (None: the first video stream)
    other_streams: list[str] = field(default_factory=list)  # the file's other video streams, not analysed

    def to_dict(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def _rate(value) -> float:
    """A stream's frame rate (a Fraction or None) in frames a second, 0 when unknown."""
    try:
        rate = float(value) if value else 0.0
    except (ValueError, ZeroDivisionError, TypeError):
        return 0.0
    return rate if math.isfinite(rate) and rate > 0 else 0.0


ROTATION_PACKETS = 300  # packets read at most for a first frame that tells the rotation


def _rotation(container, stream) -> int:
    """The display rotation of a video stream in degrees (its display matrix, as the first frame carries it;
    0 when the first frame cannot be decoded: the decode then says why)."""
    import av  # FFmpeg's libraries: imported where a file is read (~40 ms)

    try:
        for n, packet in enumerate(container.demux(stream)):
            for frame in packet.decode():
                return int(round(float(getattr(frame, "rotation", 0) or 0))) % 360
            if n >= ROTATION_PACKETS:
                break
    except (av.FFmpegError, ValueError):
        pass
    return 0


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    if path.is_dir():
        raise VideoError(f"{path}: is a folder, not a video")
    if not os.access(path, os.R_OK):
        raise VideoError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: empty file")


def probe(path: str | Path) -> VideoInfo:
    import av

    path = Path(path)
    _check_readable(path)
    try:
        container = av.open(as_arg(path), metadata_errors="replace")
    except (av.FFmpegError, ValueError) as e:  # ValueError: names of streams or tags that are not text
        raise VideoError(f"{path}: not a readable video ({' '.join(str(e).split())[:200]})") from None
    with container:
        return _probe(path, container)


def _probe(path: Path, container) -> VideoInfo:
    import av

    streams = list(container.streams)
    video = [s for s in streams if s.type == "video" and not s.disposition & av.stream.Disposition.attached_pic]
    if not video:
        kinds = sorted({s.type or "?" for s in streams})
        what = "audio-only file" if kinds == ["audio"] else f"streams: {', '.join(kinds) or 'none'}"
        raise VideoError(f"{path}: no video stream ({what})")
    v = max(video, key=_area)  # the camera, not a small test pattern or thumbnail track before it
    codec = v.codec_context.name or "?"
    fmt = str(container.format.name or "")
    if fmt.endswith("_pipe") or fmt == "image2":  # png_pipe, jpeg_pipe, webp_pipe, ...: one picture
        raise VideoError(f"{path}: a still image ({codec}), not a video")
    w, h = int(v.codec_context.width or 0), int(v.codec_context.height or 0)
    if w <= 0 or h <= 0:
        raise VideoError(f"{path}: video stream has no frame size (corrupt or unsupported)")
    fps = _rate(v.average_rate) or _rate(v.guessed_rate) or _rate(v.base_rate)
    tb = float(v.time_base) if v.time_base else 0.0
    start = container.start_time / av.time_base if container.start_time is not None else (
        v.start_time * tb if v.start_time is not None else 0.0)
    duration, frames = _video_span(path, v, container, fps, start)
    pix_fmt = v.codec_context.format.name if v.codec_context.format is not None else ""
    rot = _rotation(container, v)
    if rot in (90, 270):
        w, h = h, w
    return VideoInfo(
        path=str(path), width=w, height=h, fps=fps, duration=duration, num_frames=frames, rotation=rot,
        codec=codec, has_audio=any(s.type == "audio" for s in streams), start_time=float(start), pix_fmt=pix_fmt,
        stream=int(v.index), other_streams=[_stream_label(s) for s in video if s is not v],
    )


def _area(stream) -> int:
    return int(stream.codec_context.width or 0) * int(stream.codec_context.height or 0)


def _stream_label(stream) -> str:
    """A video stream in a few words: ``#1 160x90 h264``."""
    return f"#{stream.index} {stream.codec_context.width}x{stream.codec_context.height} {stream.codec_context.name}"


def _tag_seconds(text) -> float | None:
    """A Matroska ``DURATION`` tag (``HH:MM:SS.fffffffff``) in seconds."""
    try:
        h, m, s = str(text).split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    except (ValueError, TypeError):
        return None


def _video_span(path: Path, v, container, fps: float, start: float) -> tuple[float, int | None]:
    """(duration [s] from the container's start to the end of the video stream's last frame, its frame count
    or None). The video stream's own figures, not the container's (which include a longer audio stream, a
    start offset, or a header anyone can patch): when the header's figures disagree (the stream's duration,
    its Matroska DURATION tag, frames / rate, the container's duration), the video packets' times decide
    (a pass over the file that reads no picture: ~0.01 s for a minute of video here)."""
    import av

    frames = int(v.frames) if v.frames and v.frames > 0 else None
    tag = _tag_seconds((v.metadata or {}).get("DURATION"))
    said = [v.duration * float(v.time_base) if v.duration and v.time_base else None,
            tag - start if tag is not None else None, frames / fps if frames and fps else None,
            container.duration / av.time_base if container.duration else None]
    said = [d for d in said if d is not None and math.isfinite(d) and d > 0]
    step = nominal_interval(fps)
    if said and max(said) - min(said) <= max(0.5, 2 * step):
        return said[0], frames
    pts = packet_times(path, v.index)
    if not len(pts):
        return (min(said) if said else 0.0), frames
    return float(pts[-1] - start + frame_interval(pts, step)), len(pts)


def packet_times(path: str | Path, stream: int | None = None) -> np.ndarray:
    """The presentation times [s, the container's clock] of a video stream's packets (``stream``: its index
    in the file; None: the first video stream), sorted; read without decoding."""
    import av

    try:
        with av.open(as_arg(path), metadata_errors="replace") as container:
            v = container.streams[stream] if stream is not None else container.streams.video[0]
            tb = float(v.time_base)
            pts = [p.pts for p in container.demux(v) if p.pts is not None]
    except (av.FFmpegError, IndexError, ValueError) as e:
        raise VideoError(f"{path}: could not read frame times ({' '.join(str(e).split())[:200]})") from None
    return np.sort(np.asarray(pts, np.float64) * tb)


def frame_times(path: str | Path, info: VideoInfo | None = None) -> np.ndarray:
    """Presentation times of every video frame (seconds from the start) without decoding: the
    video packets' timestamps in presentation order (for results computed elsewhere, e.g. AlphaPose)."""
    info = info or probe(path)
    times = packet_times(path, info.stream)
    if not len(times):
        raise VideoError(f"{path}: no video frame timestamps")
    return times - info.start_time

