"""Long videos need no more memory than short ones: per-frame keypoints live on disk, whole-track
work goes by chunks, and the pose cache is written and read a few MiB at a time."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.bench_memory_keypoints import peak_for, simulated_detections
from common.diskarray import DiskArray, disk_array
from pipeline import motion
from pose.result import PoseResult, cached_pose, load_pose, save_pose
from pose.tracking import Tracker


def _on_disk(arr: np.ndarray) -> bool:
    while arr is not None:
        if isinstance(arr, np.memmap):
            return True
        arr = arr.base
    return False


def test_disk_array_grows_keeps_values_and_fills(tmp_path):
    store = DiskArray((3, 2), np.float32, fill=np.nan, capacity=4, scratch_dir=tmp_path)
    store.array[:4] = np.arange(24, dtype=np.float32).reshape(4, 3, 2)
    arr = store.ensure(10)
    assert store.capacity >= 10 and _on_disk(arr)
    np.testing.assert_array_equal(arr[:4], np.arange(24, dtype=np.float32).reshape(4, 3, 2))
    assert np.isnan(arr[4:]).all()
    assert list(tmp_path.iterdir()) == []  # unnamed files: nothing to clean up
    fixed = disk_array((5, 2), np.uint8, fill=7, scratch_dir=tmp_path)
    fixed[1] = 3  # still writable after its file was closed
    assert fixed.shape == (5, 2) and fixed.sum() == 8 * 7 + 6 and _on_disk(fixed)
    assert disk_array((0, 4), np.float32).shape == (0, 4)


def test_tracks_are_disk_backed_and_match_the_detections(tmp_path):
    tracker = Tracker(30, scratch_dir=tmp_path)
    seen = {}
    for i, dets in simulated_detections(1500, people=2):
        if i % 100 == 7:
            dets = dets[:1]  # the second person is missed now and then
        tracker.update(i, dets)
        seen[i] = dets
    tracks = tracker.tracks(1600)  # the video has 100 more frames without anybody
    assert len(tracks) == 2 and all(_on_disk(t.keypoints) and t.keypoints.shape == (1600, 44, 2) for t in tracks)
    np.testing.assert_array_equal(tracks[0].keypoints[:1500], np.stack([d[0].keypoints for d in seen.values()]))
    assert tracks[1].num_frames_seen == 1500 - 15 and np.isnan(tracks[1].keypoints[7]).all()
    assert not tracks[0].present[1500:].any() and (tracks[0].sources[1500:] == 0).all()

    res = PoseResult(np.arange(1600) / 30, 640, 480, "mediapipe", {"x": 1}, tracks, "f")
    save_pose(tmp_path / "v.pose.npz", res)
    back = load_pose(tmp_path / "v.pose.npz", scratch_dir=tmp_path)
    assert [t.id for t in back.tracks] == [t.id for t in tracks]
    for a, b in zip(tracks, back.tracks):
        assert _on_disk(b.keypoints)
        for name in ("keypoints", "scores", "sources", "present"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    with np.load(tmp_path / "v.pose.npz") as z:  # still an ordinary .npz for numpy users
        np.testing.assert_array_equal(z["keypoints_1"], tracks[1].keypoints)


def test_older_pose_caches_are_recomputed(tmp_path):
    """Version 1-2 caches hold detections of an older backend (no hand-swap repair): never reused."""
    kp = np.random.default_rng(1).random((2, 30, 44, 2)).astype(np.float32)
    meta = {"version": 2, "backend": "mediapipe", "settings": {}, "fingerprint": "f", "width": 64,
            "height": 48, "track_ids": [3, 5], "extra": {}}
    np.savez_compressed(tmp_path / "old.pose.npz", times=np.arange(30) / 30.0, keypoints_0=kp[0], keypoints_1=kp[1],
                        scores_0=np.ones((30, 44), np.float32), scores_1=np.ones((30, 44), np.float32),
                        sources_0=np.ones((30, 44), np.uint8), sources_1=np.ones((30, 44), np.uint8),
                        meta=np.array(json.dumps(meta)))
    with pytest.raises(ValueError, match="old.pose.npz: pose cache version 2"):
        load_pose(tmp_path / "old.pose.npz")
    assert cached_pose(tmp_path / "old.pose.npz", "f", "mediapipe", {}) is None
    (tmp_path / "bad.pose.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="bad.pose.npz: not a pose cache"):
        load_pose(tmp_path / "bad.pose.npz")


def test_chunked_and_lazy_motion_give_whole_video_values():
    frames = 700
    rng = np.random.default_rng(2)
    kp = (rng.random((44, 2)) * 300 + 100 + np.sin(np.arange(frames) / 9)[:, None, None] * 15
          + rng.normal(0, 0.5, (frames, 44, 2))).astype(np.float32)
    scores = rng.uniform(0.2, 1.0, (frames, 44)).astype(np.float32)
    times = np.cumsum(rng.uniform(0.03, 0.037, frames))  # variable frame rate
    ok = motion.reliable(kp, scores, 640, 480)
    lazy = motion.ReliableMask(kp, scores, 640, 480)
    np.testing.assert_array_equal(lazy[100:300], ok[100:300])
    np.testing.assert_array_equal(lazy.view(100, 300)[10:20], ok[110:120])
    whole = motion.frame_energy(kp, ok, times, 100.0, chunk=10_000)
    np.testing.assert_allclose(motion.frame_energy(kp, lazy, times, 100.0, chunk=128), whole, rtol=1e-9)
    assert motion.region_energy(kp, lazy, times, 100.0, chunk=100) == pytest.approx(
        motion.region_energy(kp, ok, times, 100.0, chunk=10_000), rel=1e-9)


def test_memory_does_not_grow_with_video_length(tmp_path):
    # Whole-track work goes by chunks of 4096 frames: once a video holds a few of them, memory is flat.
    short, long = peak_for(9000, tmp_path), peak_for(18000, tmp_path)
    # Before keypoints went to disk, 9,000 more frames cost ~2 KB each (18 MB). What may still grow:
    # frame times (8 bytes), presence (1 byte) and torso lengths (4 bytes) per frame, and the results
    # (window records, hand contacts).
    assert long - short < 3 * 2**20, (short, long)
