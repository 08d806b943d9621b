"""Notes and warnings about a video's frames: stretches that could not be decoded, a file cut off before
its header's end, repaired timestamps, and the picture analysed (other streams, size changes)."""
from __future__ import annotations

from pathlib import Path

from common.frames import missing_spans
from pose.result import PoseResult

from .record import FrameCount
from .ffmpeg_tools import VideoError
from .video_probe import frame_times

MAX_SPANS_NAMED = 5  # missing stretches named one by one in the notes (the record lists them all)


def count_frames(path: Path, info, pose: PoseResult) -> FrameCount:
    """The frames the file holds (its video packets, read without decoding) and the stretches of them that
    were not decoded (``common.frames.missing_spans``); expected None when the packets cannot be read."""
    try:
        expected = frame_times(path, info)
    except VideoError:
        return FrameCount(None, [])
    return FrameCount(len(expected), missing_spans(expected, pose.times))


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
