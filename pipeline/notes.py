"""The notes of a video's record: what a reader of its results must know (no checkpoint, nobody found,
a still clip, frames missing, people not analysed, ...)."""
from __future__ import annotations

from common.frames import frame_rate
from pose.result import PoseResult

from . import export, motion
from .frame_notes import missing_notes, picture_notes, timestamp_notes
from .options import Options
from .record import FrameCount, VideoAnalysis

NOTE_PERSON_S = 1.0  # a track seen for less time is not mentioned in the notes (it stays in pose.persons)


def video_notes(opts: Options, has_recognizer: bool, info, pose: PoseResult, analysis: VideoAnalysis,
                frames: FrameCount) -> list[str]:
    """Every note of the video's record, in the order a reader needs them."""
    notes = []
    if not has_recognizer:
        notes.append(export.NO_CHECKPOINT_NOTE)
    if not analysis.people:
        notes.append("No person was found in this video: no segments.")
    still = [w for w in analysis.windows if w["status"] == "still"]
    if analysis.mode == "clip" and still and len(still) == len(analysis.windows):
        notes.append(f"The clip's motion energy ({max(w['motion_energy'] for w in still):.3f}) is below the still "
                     f"threshold ({opts.still_threshold:g}): it is reported as still, with no segment "
                     "(--still-threshold 0 classifies every clip).")
    notes += missing_notes(frames, pose, info)
    notes += timestamp_notes(pose, frames.missing)
    notes += picture_notes(info, pose)
    if pose.backend == "alphapose-json":
        notes += alphapose_coverage(pose)
    unmeasured = [tr.id for tr in analysis.people if motion.body_scale(tr.keypoints) is None]
    if unmeasured:
        notes.append(f"Person {', '.join(map(str, unmeasured))}: no torso, shoulders or face was seen, so their "
                     "movement cannot be measured in torso lengths: every window is absent, no segment.")
    others = people_note(pose.tracks, analysis.people, frame_rate(pose.times, info.fps or 30.0))
    if others:
        notes.append(others)
    if opts.pose == "mediapipe" and has_recognizer:
        notes.append("Pose from MediaPipe: the released MMN weights were trained on AlphaPose keypoints; "
                     "expect lower accuracy than the paper's.")
    return notes


def people_note(tracks: list, analysed: list, fps: float) -> str:
    """'N persons were seen ...' when people seen for at least ``NOTE_PERSON_S`` were not analysed
    (a track of a few frames, a pose model's flicker, is not worth the user's attention); else ''."""
    seen = [tr for tr in tracks if tr.num_frames_seen >= NOTE_PERSON_S * fps]
    if len(seen) < 2 or {t.id for t in seen} <= {t.id for t in analysed}:
        return ""
    return (f"{len(seen)} persons were seen (ids {', '.join(str(t.id) for t in seen)}); analysed: "
            f"{', '.join(str(t.id) for t in analysed) or 'none'}. --person all analyses everyone.")


def alphapose_coverage(pose) -> list[str]:
    """Notes when AlphaPose's results are empty or end well before the video: AlphaPose reads at most
    OpenCV's frame count and stops at the first frame it cannot read (a cut tail looks like nobody)."""
    if "alphapose_last_frame" not in pose.extra:
        return []
    last, n = pose.extra["alphapose_last_frame"], pose.num_frames
    if last is None:
        return ["The AlphaPose results hold no detection at all (did AlphaPose read this video?)."]
    fps = frame_rate(pose.times)
    if n - 1 - last > max(0.1 * n, 2 * fps):
        return [f"The AlphaPose results end at frame {last} of {n} ({(n - 1 - last) / fps:.1f} s before the end): "
                "AlphaPose may have stopped reading early (it trusts OpenCV's frame count); the rest shows nobody."]
    return []
