"""Camera cuts: found in the decoded frames, tracking and analysis never cross them."""
from __future__ import annotations

import json
from importlib import metadata

import numpy as np
import pytest

import run_pipeline
from common.shots import shot_ranges
from pipeline.sample import sample_frames
from pipeline.video import write_video
from pose.stabilize import MEDIAPIPE, Stabilizer, stabilize_track
from pose.tracking import Tracker
from pose.types import DETECTED, Detection, PersonTrack
from tests.helpers import docs_by_workers, ffmpeg


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory, demo_dir):
    """The three real demo clips back to back with hard cuts (every frame kept: cuts at 75 and 125)."""
    tmp = tmp_path_factory.mktemp("cuts")
    clips = ["A1_shaking_body__0030_01_0002.mp4", "B1_nodding__0019_02_0078.mp4", "B3_turning_head__0010_02_0101.mp4"]
    args = []
    for c in clips:
        args += ["-i", str(demo_dir / c)]
    video = tmp / "edited.mp4"
    ffmpeg(*args, "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           str(video))
    assert run_pipeline.main([str(video), "--out", str(tmp / "out"), "--mode", "long"]) == 0
    return json.loads((tmp / "out" / "edited.json").read_text())


def test_every_cut_found_within_one_frame(cut_video):
    firsts = [s["first_frame"] for s in cut_video["shots"]]
    assert len(firsts) == 3 and firsts[0] == 0
    assert abs(firsts[1] - 75) <= 1 and abs(firsts[2] - 125) <= 1


def test_no_window_or_segment_spans_a_cut(cut_video):
    cuts = [s["start_s"] for s in cut_video["shots"][1:]]
    for item in cut_video["windows"] + cut_video["segments"]:
        assert not any(item["start_s"] < c < item["end_s"] - 1e-6 for c in cuts), item
    assert cut_video["segments"]  # the clips' movements are found, shot by shot
    # one interviewee, found again after each cut in the same place: one id
    assert [p["id"] for p in cut_video["pose"]["persons"]] == [0]


def test_no_second_opencv():
    names = {d.metadata["Name"].lower() for d in metadata.distributions()}
    assert "opencv-contrib-python" in names
    assert not names & {"opencv-python", "opencv-python-headless", "opencv-contrib-python-headless"}


def test_shot_ranges():
    assert shot_ranges([], 10) == [(0, 10)]
    assert shot_ranges([4, 0, 4, 12], 10) == [(0, 4), (4, 10)]


def test_tracker_starts_again_at_a_cut():
    det = Detection(np.full((44, 2), 50.0, np.float32), np.ones(44, np.float32), np.ones(44, np.uint8))
    tracker = Tracker(30)
    tracker.update(0, [det])
    tracker.update(1, [det])
    tracker.cut()
    tracker.update(2, [det])
    assert tracker.track_ids() == [0, 1]


def test_stabilisation_does_not_cross_a_cut():
    t = np.arange(120) / 30.0
    kp = np.zeros((120, 44, 2), np.float32) + 300
    kp[60:] += 200  # another shot: the person elsewhere
    kp += np.random.default_rng(0).normal(0, 1, kp.shape).astype(np.float32)
    track = PersonTrack(0, kp, np.ones((120, 44), np.float32), np.full((120, 44), DETECTED, np.uint8))
    stab = Stabilizer(MEDIAPIPE, 30)
    out = stabilize_track(track, t, stab, cuts=[60]).keypoints
    alone = stab(kp[60:], track.scores[60:], track.sources[60:], t[60:])[0]
    np.testing.assert_array_equal(out[60:], alone)
    assert np.abs(out[55:60] - 300).max() < 5 and np.abs(out[60:65] - 500).max() < 5


def test_two_workers_equal_one_across_a_cut(tmp_path, ref_checkpoint):
    a = list(sample_frames(3.0, 30, 192))
    b = [np.roll(f[:, ::-1], 40, axis=1) for f in sample_frames(3.0, 30, 192)]  # mirrored and moved: another shot
    video = tmp_path / "cut.mp4"
    write_video(video, a + b, 30, (192, 192))
    docs = docs_by_workers(video, tmp_path, ref_checkpoint)
    assert [s["first_frame"] for s in docs[1]["shots"]] == [0, 90]
    assert docs[1] == docs[2]


def test_alphapose_results_route_finds_cuts_too(tmp_path):
    """--pose alphapose-json decodes the video for its cuts alone; tracks start again at each."""
    from tests.test_pose import _record, _write

    fps, n = 15, 60
    frames = [np.full((120, 160, 3), (40, 90, 160) if i < 30 else (200, 180, 60), np.uint8) for i in range(n)]
    for i, f in enumerate(frames):  # a little texture so both shots are not flat colour
        f[10:30, 10 + i % 5:40 + i % 5] = 255
    video = tmp_path / "two_shots.mp4"
    write_video(video, frames, fps, (160, 120))
    recs = [_record(f, (20 + f % 3, 20)) for f in range(n)]  # one untracked person, no idx
    _write(tmp_path / "two_shots.json", recs)
    out = tmp_path / "out"
    assert run_pipeline.main([str(video), "--out", str(out), "--pose", "alphapose-json",
                              "--alphapose-json", str(tmp_path / "two_shots.json"), "--mode", "long"]) == 0
    doc = json.loads((out / "two_shots.json").read_text())
    assert [s["first_frame"] for s in doc["shots"]] == [0, 30]
    assert len(doc["pose"]["persons"]) == 2  # our own tracking does not match across the cut
