"""Camera cuts: found in the decoded frames, tracking and analysis never cross them."""
from __future__ import annotations

import json
from importlib import metadata

import numpy as np
import pytest

import run_pipeline
from common.shots import shot_ranges
from pipeline.sample import sample_frames
from pipeline.video_write import write_video
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


# -- the pose stream's evidence: a jump cut between two shots that look alike ----------------------------
CROP = "crop=690:828:200:180,scale=240:288,hue=s=0"  # one region of the room, black and white


@pytest.fixture(scope="module")
def look_alike(tmp_path_factory, demo_dir):
    """Two MA-52 clips (two people on the same chair, the same camera) cut from one region of the room in
    black and white and joined at frame 45 (1.5 s): the picture changes too little for the cut detector's
    floor. And the first clip alone, continuous."""
    tmp = tmp_path_factory.mktemp("look_alike")
    a, b = demo_dir / "A1_shaking_body__0030_01_0002.mp4", demo_dir / "B1_nodding__0019_02_0078.mp4"
    joined, alone = tmp / "joined.mp4", tmp / "alone.mp4"
    part = "trim=end_frame=45,setpts=PTS-STARTPTS," + CROP
    ffmpeg("-i", str(a), "-i", str(b), "-filter_complex", f"[0:v]{part}[a];[1:v]{part}[b];[a][b]concat=n=2:v=1:a=0",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(joined))
    ffmpeg("-i", str(a), "-vf", "trim=end_frame=60," + CROP, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(alone))
    out = tmp / "out"
    assert run_pipeline.main([str(joined), str(alone), "--out", str(out), "--mode", "long", "--workers", "1",
                              "--no-report"]) == 0
    return joined, json.loads((out / "joined.json").read_text()), json.loads((out / "alone.json").read_text())


def test_a_jump_cut_the_picture_misses_is_found_by_the_pose_stream(look_alike):
    from pipeline.cut_detection import CutDetector
    from pipeline.video_decode import iter_frames
    from pipeline.video_probe import probe

    video, joined, alone = look_alike
    info = probe(video)
    picture_alone = CutDetector(info.fps)
    for frame in iter_frames(video, info, max_side=64, small_width=256):
        picture_alone.cut_at(frame.index, frame.small)
    assert picture_alone.finish() == []  # the picture alone: no cut
    firsts = [s["first_frame"] for s in joined["shots"]]
    assert len(firsts) == 2 and abs(firsts[1] - 45) <= 1  # with the skeleton's jump: found to the frame
    cut = joined["shots"][1]["start_s"]
    assert not any(w["start_s"] < cut < w["end_s"] - 1e-6 for w in joined["windows"])
    assert [s["first_frame"] for s in alone["shots"]] == [0]  # the continuous clip: none


def test_picture_change_confirms_a_skeleton_jump_without_the_floor():
    """A faint change of the whole picture at frame 30 (below the detector's floor) is a cut only where the
    pose stream saw a skeleton jump; a jump where the picture did not change is none."""
    from pipeline.cut_detection import CutDetector

    base = np.random.default_rng(0).integers(60, 160, (72, 128, 3)).astype(np.int16)

    def frames():
        for i in range(60):
            f = base.copy()
            f[10:20, 10 + i:20 + i] = 200  # something moving: the neighbours' change is not nil
            yield np.clip(f + (6 if i >= 30 else 0), 0, 255).astype(np.uint8)

    for jumps, expected in [((), []), ([(29, 30)], [30]), ([(27, 31)], [30]), ([(9, 10)], []), ([(29, 30), (30, 31)], [30])]:
        det = CutDetector(30)
        for i, f in enumerate(frames()):
            det.cut_at(i, f)
        assert det.finish(jumps) == expected, jumps


def test_the_change_ratio_is_the_detectors_own():
    """``CutDetector.ratio`` equals what PySceneDetect's AdaptiveDetector reports for every frame (through its
    public StatsManager, which the pipeline does not use: it costs edge detection on every frame)."""
    import cv2
    from scenedetect.detectors import AdaptiveDetector
    from scenedetect.stats_manager import StatsManager

    from pipeline.cut_detection import LAG, CutDetector

    rng = np.random.default_rng(2)
    frames = [rng.integers(0, 255, (72, 128, 3), np.uint8) // (1 + (i % 7)) for i in range(40)]
    frames[20:] = [np.full_like(f, 128) for f in frames[20:25]] + frames[25:]  # still frames: no change around
    ours = CutDetector(30)
    lib = AdaptiveDetector(adaptive_threshold=3.0, window_width=LAG, min_scene_len=15)
    lib.stats_manager = stats = StatsManager()
    for i, f in enumerate(frames):
        ours.cut_at(i, f)
        lib.process_frame(i, cv2.cvtColor(cv2.resize(f, (256, 144), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR))
    theirs = [stats.get_metrics(i, [lib.get_metrics()[-1]])[0] for i in range(40)]
    assert [i for i, r in enumerate(theirs) if r is not None] == list(range(LAG, 40 - LAG))
    np.testing.assert_allclose([ours.ratio(i) for i in range(LAG, 40 - LAG)], theirs[LAG:40 - LAG], rtol=1e-5, atol=1e-5)
    assert np.isnan(ours.ratio(0)) and np.isnan(ours.ratio(39))


def _skeleton(n: int, fps: float, shift_at: int | None = None, sway_tl_s: float = 0.0):
    """A standing skeleton (torso 100 px) over ``n`` frames with 0.3 px jitter; moved by 0.3 torso lengths
    from ``shift_at`` on, or swaying sideways at ``sway_tl_s`` torso lengths a second."""
    from definitions.layout import ma52_layout

    L = ma52_layout()
    rng = np.random.default_rng(1)
    kp = np.zeros((44, 2), np.float32)
    for name, xy in {"nose": (0, -130), "left_eye": (8, -138), "right_eye": (-8, -138), "left_ear": (16, -134),
                     "right_ear": (-16, -134), "left_shoulder": (40, -100), "right_shoulder": (-40, -100),
                     "left_elbow": (50, -50), "right_elbow": (-50, -50), "left_wrist": (52, 0), "right_wrist": (-52, 0),
                     "left_hip": (25, 0), "right_hip": (-25, 0), "neck": (0, -100), "hip_center": (0, 0)}.items():
        kp[L.index(name)] = xy
    t = np.arange(n) / fps
    out = np.repeat(kp[None] + [300, 300], n, 0) + rng.normal(0, 0.3, (n, 44, 2)).astype(np.float32)
    out[:, :, 0] += (100 * sway_tl_s * np.abs(((t + 0.5) % 2) - 1)).astype(np.float32)[:, None]  # back and forth
    if shift_at is not None:
        out[shift_at:] += [30, -4]
    scores = np.zeros((n, 44), np.float32)
    scores[:, :17] = 0.9
    return t, np.arange(n), np.zeros(n, np.int64), out, scores


def test_skeleton_jumps_are_what_no_body_does():
    from pose.jumps import skeleton_jumps

    assert skeleton_jumps(*_skeleton(60, 30, shift_at=30)) == [(29, 30)]
    assert skeleton_jumps(*_skeleton(60, 30)) == []
    assert skeleton_jumps(*_skeleton(60, 30, sway_tl_s=2.0)) == []  # a fast sway turning back: continuous
    assert skeleton_jumps(*_skeleton(20, 5, shift_at=10)) == []  # 0.2 s apart: a body could do that
    t, f, p, kp, sc = _skeleton(60, 30, shift_at=30)
    assert skeleton_jumps(t, f, np.full(60, -1), kp, sc) == []  # no person ids: not followed
