"""A video's pose result and its on-disk cache.

The cache (``<output>/<video>.pose.npz``) holds the per-frame times, every person's 44 joints,
confidences and joint sources, the frame size, the backend and its settings, and a fingerprint of
the video (size + SHA-256 of its first, middle and last MiB). A rerun with the same video and the
same settings reuses it; a changed video or setting recomputes. Written atomically.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.fileio import atomic_path

from .types import PersonTrack

CACHE_VERSION = 1


@dataclass
class PoseResult:
    times: np.ndarray  # [T] seconds
    width: int
    height: int
    backend: str
    settings: dict
    tracks: list[PersonTrack]
    fingerprint: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(len(self.times))

    def track(self, tid: int) -> PersonTrack:
        return next(t for t in self.tracks if t.id == tid)


def video_fingerprint(path: str | Path, chunk: int = 1 << 20) -> str:
    """Quick content fingerprint: size and SHA-256 of the first, middle and last MiB."""
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        for pos in sorted({0, max(0, size // 2 - chunk // 2), max(0, size - chunk)}):
            f.seek(pos)
            h.update(f.read(chunk))
    return f"{size}:{h.hexdigest()[:32]}"


def _meta(result: PoseResult) -> dict:
    return {"version": CACHE_VERSION, "backend": result.backend, "settings": result.settings,
            "fingerprint": result.fingerprint, "width": result.width, "height": result.height,
            "track_ids": [t.id for t in result.tracks], "extra": result.extra}


def save_pose(path: str | Path, result: PoseResult) -> None:
    n, t = len(result.tracks), result.num_frames
    v = result.tracks[0].keypoints.shape[1] if result.tracks else 44
    kp = np.stack([tr.keypoints for tr in result.tracks]) if n else np.zeros((0, t, v, 2), np.float32)
    sc = np.stack([tr.scores for tr in result.tracks]) if n else np.zeros((0, t, v), np.float32)
    src = np.stack([tr.sources for tr in result.tracks]) if n else np.zeros((0, t, v), np.uint8)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, times=np.asarray(result.times, np.float64), keypoints=kp, scores=sc,
                            sources=src, meta=np.array(json.dumps(_meta(result), sort_keys=True)))


def load_pose(path: str | Path) -> PoseResult:
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.get("version") != CACHE_VERSION:
            raise ValueError(f"{path}: pose cache version {meta.get('version')} is not {CACHE_VERSION}")
        tracks = [PersonTrack(tid, z["keypoints"][i], z["scores"][i], z["sources"][i])
                  for i, tid in enumerate(meta["track_ids"])]
        return PoseResult(z["times"], meta["width"], meta["height"], meta["backend"], meta["settings"],
                          tracks, meta["fingerprint"], meta.get("extra", {}))


def cached_pose(path: str | Path, fingerprint: str, backend: str, settings: dict) -> PoseResult | None:
    """The cached result when it was made from the same video with the same settings, else None."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        res = load_pose(path)
    except Exception:
        return None  # unreadable or old cache: recompute
    same_settings = json.dumps(res.settings, sort_keys=True) == json.dumps(settings, sort_keys=True)
    if res.fingerprint == fingerprint and res.backend == backend and same_settings:
        return res
    return None
