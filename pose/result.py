"""A video's pose result and its on-disk cache.

The cache (``<output>/<video>.pose.npz``) holds the per-frame times, every person's 44 joints,
confidences and joint sources, the frame size, the backend and its settings, the stabiliser's
settings (``pose.stabilize``), the camera cuts, and a fingerprint of the video (size + SHA-256 of
the whole file). A rerun with the same video and the same pose settings reuses it (with other
stabiliser settings, the raw keypoints are stabilised again); a changed video or pose setting, or a
cache that is unreadable or not of 44 joints, recomputes. Written atomically.

Each person's arrays are separate entries, in the order of ``meta.track_ids``: ``keypoints_<i>`` and
``scores_<i>`` (stabilised: what the analysis uses), ``sources_<i>``, and ``raw_keypoints_<i>`` /
``raw_scores_<i>`` (the pose model's own values, when they differ). Caches of versions 1-2 hold
detections of an older backend and are recomputed. Writing and reading go
a few MiB at a time, and a loaded cache's arrays live on disk (``common.diskarray``), so neither
needs memory in proportion to the video's length.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.diskarray import CHUNK_BYTES, disk_array
from common.fileio import atomic_path
from common.frames import frame_interval, holes, spread_equal_times

from .types import PersonTrack

CACHE_VERSION = 3
READABLE_VERSIONS = (3,)
FIELDS = ("keypoints", "scores", "sources")
RAW_FIELDS = ("raw_keypoints", "raw_scores")


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
    stabilizer: dict = field(default_factory=dict)  # ``Stabilizer.settings_record()`` of the tracks' keypoints
    cuts: list[int] = field(default_factory=list)  # first frame of every shot after the first (camera cuts)

    @property
    def num_frames(self) -> int:
        return int(len(self.times))

    @property
    def duration(self) -> float:
        """Seconds from the video's start to the end of its last decoded frame (0 without frames): what the
        video holds, whatever its container's header says."""
        return float(self.times[-1]) + frame_interval(self.times) if len(self.times) else 0.0

    def track(self, tid: int) -> PersonTrack:
        return next(t for t in self.tracks if t.id == tid)


def repair_times(result: PoseResult) -> None:
    """Frame times everything after pose estimation can rely on (in place; idempotent): frames whose
    timestamps do not increase get times spread evenly up to the next frame's (``extra["times_spread"]``:
    how many), and a hole in the timestamps (``common.frames.holes``) becomes a shot boundary, so that
    nothing is smoothed, measured or merged across it (``extra["holes"]``: the frames after each)."""
    times, spread = spread_equal_times(result.times)
    if spread:
        result.times = times
        result.extra["times_spread"] = int(result.extra.get("times_spread", 0)) + spread
    found = holes(result.times)
    if found:
        result.extra["holes"] = sorted(set(result.extra.get("holes", [])) | set(found))
        result.cuts = sorted(set(result.cuts) | set(found))


def video_fingerprint(path: str | Path, chunk: int = 1 << 20) -> str:
    """Content fingerprint: the size and SHA-256 of the whole file (read 1 MiB at a time; about 1 s per
    GB), so any change anywhere in the video is noticed."""
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return f"{size}:{h.hexdigest()[:32]}"


def _meta(result: PoseResult) -> dict:
    return {"version": CACHE_VERSION, "backend": result.backend, "settings": result.settings,
            "fingerprint": result.fingerprint, "width": result.width, "height": result.height,
            "track_ids": [t.id for t in result.tracks], "extra": result.extra, "stabilizer": result.stabilizer,
            "cuts": [int(c) for c in result.cuts]}


def save_pose(path: str | Path, result: PoseResult) -> None:
    """Write the cache (an .npz numpy reads) a few MiB at a time."""
    arrays = {"times": np.asarray(result.times, np.float64),
              "meta": np.array(json.dumps(_meta(result), sort_keys=True))}
    for i, tr in enumerate(result.tracks):
        arrays.update({f"{name}_{i}": getattr(tr, name) for name in FIELDS + RAW_FIELDS
                       if getattr(tr, name) is not None})
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        for name, arr in arrays.items():
            with z.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array_header_2_0(f, np.lib.format.header_data_from_array_1_0(arr))
                if arr.ndim == 0:
                    f.write(arr.tobytes())
                    continue
                rows = max(1, CHUNK_BYTES // max(1, arr[:1].nbytes))
                for a in range(0, len(arr), rows):
                    f.write(np.ascontiguousarray(arr[a:a + rows]).tobytes())


def load_pose(path: str | Path, scratch_dir: str | Path | None = None) -> PoseResult:
    """Read a pose cache; the per-frame arrays are streamed into disk-backed arrays."""
    try:
        with zipfile.ZipFile(path) as z:
            meta = json.loads(str(_read_entry(z, "meta")))
            if meta.get("version") not in READABLE_VERSIONS:
                raise ValueError(f"{path}: pose cache version {meta.get('version')} is not one of {READABLE_VERSIONS}")
            times = _read_entry(z, "times")
            names = set(z.namelist())
            tracks = []
            for i, tid in enumerate(meta["track_ids"]):
                main = [_read_entry(z, f"{name}_{i}", scratch_dir) for name in FIELDS]
                raw = {name: _read_entry(z, f"{name}_{i}", scratch_dir) for name in RAW_FIELDS
                       if f"{name}_{i}.npy" in names}
                tracks.append(PersonTrack(tid, *main, **raw))
    except (zipfile.BadZipFile, KeyError) as e:
        raise ValueError(f"{path}: not a pose cache ({e})") from None
    return PoseResult(times, meta["width"], meta["height"], meta["backend"], meta["settings"],
                      tracks, meta["fingerprint"], meta.get("extra", {}), meta.get("stabilizer", {}),
                      [int(c) for c in meta.get("cuts", [])])


def _read_entry(z: zipfile.ZipFile, name: str, scratch_dir=None) -> np.ndarray:
    """One .npy entry of an .npz; arrays with more than one dimension go to disk, a few MiB at a time."""
    with z.open(f"{name}.npy") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        if dtype.hasobject or fortran:
            raise ValueError(f"entry {name} is not a plain array")
        if len(shape) <= 1:
            data = f.read()
            return np.frombuffer(data, dtype, count=int(np.prod(shape))).reshape(shape).copy()
        out = disk_array(shape, dtype, scratch_dir=scratch_dir)
        flat = out.reshape(-1, *shape[-1:])  # a view: rows of the last axis
        rows = max(1, CHUNK_BYTES // max(1, flat[:1].nbytes))
        for a in range(0, len(flat), rows):
            want = flat[a:a + rows]
            data = f.read(want.nbytes)
            if len(data) != want.nbytes:
                raise ValueError(f"entry {name} is truncated")
            want[...] = np.frombuffer(data, dtype).reshape(want.shape)
        return out


def cached_pose(path: str | Path, fingerprint: str, backend: str, settings: dict,
                scratch_dir: str | Path | None = None) -> PoseResult | None:
    """The cached result when it was made from the same video with the same settings, else None
    (its keypoints may have been stabilised with other settings: ``pose.stabilize.ensure_stabilized``)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        res = load_pose(path, scratch_dir)
    except Exception:
        return None  # unreadable or old cache: recompute
    same_settings = json.dumps(res.settings, sort_keys=True) == json.dumps(settings, sort_keys=True)
    joints_ok = all(t.keypoints.ndim == 3 and t.keypoints.shape[1:] == (44, 2) for t in res.tracks)
    if res.fingerprint == fingerprint and res.backend == backend and same_settings and joints_ok:
        return res
    return None
