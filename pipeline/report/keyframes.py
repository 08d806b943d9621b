"""A keyframe per segment for the video report: the frame at the segment's middle, decoded small, the
person cut out with their skeleton drawn (``pipeline.drawing``, in the person's colour), as a JPEG
``data:`` URI."""
from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from ..drawing import draw_skeleton, person_rgb
from ..record import Record, analysed_persons

KEYFRAME_HEIGHT = 120  # px (shown at 72 px: sharp on high-density screens)
KEYFRAME_DECODE_SIDE = 480  # frames are decoded this small, then the person is cut out
KEYFRAME_JOINT_RADIUS = 2  # px, on the frame decoded KEYFRAME_DECODE_SIDE small
MAX_KEYFRAMES = 600  # more segments than this: the first ones get keyframes, and the report says so
# one ffmpeg seek per keyframe costs about as much as decoding 5 s of the video in one pass that keeps
# only the frames wanted (1080p H.264, GOP 250: 0.28 s a seek, 0.058 s per second of video; 512 px:
# 0.05 s a seek, 0.009 s per second): with more keyframes than one per 5 s, one pass is quicker
SEEK_COST_S = 5.0


def keyframes(doc: Record, video: Path | None, pose=None, info=None) -> list[str | None]:
    """A ``data:`` JPEG URI per segment (None where there is none: no video, more than ``MAX_KEYFRAMES``
    segments, or a frame that could not be decoded). ``pose`` (a ``PoseResult``) gives the skeletons;
    without it the keyframes show the whole frame."""
    segments = doc["segments"]
    out: list[str | None] = [None] * len(segments)
    if video is None or not segments:
        return out
    from ..video_probe import probe

    info = info or probe(video)
    wanted = segments[:MAX_KEYFRAMES]
    frames = decode_at(video, [(s["start_s"] + s["end_s"]) / 2 for s in wanted], info)
    tracks = {t.id: t for t in pose.tracks} if pose is not None else {}
    order = {pid: n for n, pid in enumerate(analysed_persons(doc))}
    for i, seg in enumerate(wanted):
        if i not in frames:
            continue
        kp = None
        track = tracks.get(seg["person"])
        if track is not None and pose.num_frames:
            t = (seg["start_s"] + seg["end_s"]) / 2
            f = int(np.clip(np.searchsorted(pose.times, t), 0, pose.num_frames - 1))
            kp = np.asarray(track.keypoints[f], dtype=float) if track.present[f] else None
        jpg = keyframe_jpeg(frames[i], kp, person_rgb(order.get(seg["person"], 0)),
                            (doc["video"]["width"], doc["video"]["height"]))
        if jpg:
            out[i] = "data:image/jpeg;base64," + base64.b64encode(jpg).decode("ascii")
    return out


def decode_at(video: Path, times: list[float], info) -> dict[int, np.ndarray]:
    """Frames (RGB, longest side ``KEYFRAME_DECODE_SIDE``) at or just after each time; by index in ``times``."""
    from ..video_decode import iter_frames

    if not times:
        return {}
    half = 0.5 / (info.fps or 30.0) + 1e-4  # the first frame at or after half a frame before (times are rounded)
    order = sorted(range(len(times)), key=lambda i: times[i])
    got: dict[int, np.ndarray] = {}
    if len(times) * SEEK_COST_S > max(info.duration, 1e-3):  # dense: one pass
        k = 0
        frames = iter_frames(video, info, max_side=KEYFRAME_DECODE_SIDE, near=times, need_frames=False)
        try:
            for fr in frames:
                while k < len(order) and fr.time > times[order[k]] + 3 * half:
                    k += 1  # no frame came for this one
                while k < len(order) and fr.time >= times[order[k]] - half:
                    got[order[k]] = fr.image
                    k += 1
                if k == len(order):
                    break
        finally:
            frames.close()
        return got
    for i in order:
        frames = iter_frames(video, info, max_side=KEYFRAME_DECODE_SIDE, start_s=max(0.0, times[i] - half),
                             need_frames=False)
        try:
            fr = next(frames, None)
            if fr is not None:
                got[i] = fr.image
        finally:
            frames.close()
    return got


def keyframe_jpeg(image: np.ndarray, kp: np.ndarray | None, colour: tuple[int, int, int],
                  frame_size: tuple[int, int]) -> bytes:
    """The person cut out of ``image`` (a decoded frame, RGB; ``kp`` in pixels of the ``frame_size`` (w, h)
    video): their keypoint box with a margin (the whole frame without keypoints), the skeleton drawn,
    scaled to ``KEYFRAME_HEIGHT``: JPEG bytes (empty when encoding fails)."""
    import cv2

    h, w = image.shape[:2]
    img = np.array(image, dtype=np.uint8)  # a copy: decoded frames are read-only
    box = (0, 0, w, h)
    if kp is not None and np.isfinite(kp).all(-1).any():
        pts = kp * [w / frame_size[0], h / frame_size[1]]
        draw_skeleton(img, pts, colour, KEYFRAME_JOINT_RADIUS, smooth=True)
        seen = pts[np.isfinite(pts).all(-1)]
        lo, hi = seen.min(0), seen.max(0)
        size = max(hi - lo) * 1.25 + 16
        cx, cy = (lo + hi) / 2
        box = (int(max(0, cx - size / 2)), int(max(0, cy - size / 2)),
               int(min(w, cx + size / 2)), int(min(h, cy + size / 2)))
    crop = img[box[1]:box[3], box[0]:box[2]]
    if crop.size == 0:
        crop = img
    scale = KEYFRAME_HEIGHT / crop.shape[0]
    crop = cv2.resize(crop, (max(1, int(round(crop.shape[1] * scale))), KEYFRAME_HEIGHT),
                      interpolation=cv2.INTER_AREA)
    ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 70])
    return jpg.tobytes() if ok else b""


def pose_from_cache(path: Path, doc: Record):
    """The pose cache ``path`` (a ``PoseResult``) when it is there, readable and of the record's video;
    else None (the keyframes then show whole frames)."""
    from pose.result import load_pose

    if not path.is_file():
        return None
    try:
        pose = load_pose(path)
    except (OSError, ValueError):
        return None
    return pose if pose.fingerprint == doc["video"]["fingerprint"] else None
