"""The same footage at 15, 25, 30, 50 and 60 frames a second gives the same answer (issue 30).

How: MediaPipe runs once per clip, on real footage at its own 30 fps (the MA-52 demo clips, a real_dev
talker, a frozen frame); its per-frame output (raw keypoints, confidences, sources) is then resampled
to each rate the way ffmpeg's ``fps`` filter resamples a video (each output frame is the source frame
nearest its time: frames dropped below 30 fps, repeated above), and everything after the pose model
runs at that rate as it would on such a video: stabilisation, motion, description, windows, episodes.
This is faithful for everything this project computes from the keypoints, and it keeps the test at one
pose pass per clip; it leaves out how MediaPipe's own tracking behaves at other rates (its landmark
filters are its own, and its hand model flips between two fits on every frame it is shown, which thinning
its output does not reproduce). So 15 fps, where that matters, is also run through MediaPipe on videos made
with ffmpeg (``test_a_15_fps_video_through_the_pose_model``); ``benchmarks/bench_frame_rate.py`` does the
same at every rate (README "Frame rates").
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pipeline import description, motion
from pipeline.segments import analyse_track
from pose.stabilize import stabilizer_for, stabilize_track
from pose.tracking import select_people
from pose.types import PersonTrack
from tests.conftest import SHARED, _need
from tests.helpers import ffmpeg, pipeline_pose

RATES = (15, 25, 30, 50, 60)
# how far a window's or an episode's motion energy may be from its value at 30 fps (the issue asks 10 %; measured,
# README "Frame rates": 25-60 fps within 10 % (25 fps: 9.9 %, the head turn's resting fingertips), 50-60 fps within
# 3 %; at 15 fps up to 21 %: the pose model's hand fits flip on every frame, and thinning its 30 fps output keeps
# one of the two fits, whose end reads as a step (+21 % with the frames kept here, -13 % with the others); a 15 fps
# video run through the pose model flips as well and reads within 10 %: test_a_15_fps_video_through_the_pose_model)
TOLERANCE = {15: 0.25, 25: 0.10, 30: 0.0, 50: 0.05, 60: 0.05}
POSE_MODEL_TOLERANCE_15 = 0.10  # a 15 fps video through MediaPipe against the same frames at 30 fps


def resample(track: PersonTrack, times: np.ndarray, fps: float) -> tuple[PersonTrack, np.ndarray]:
    """The raw track as a video resampled to ``fps`` would give it (nearest source frame per output frame,
    as ffmpeg's fps filter), stabilised at that rate."""
    src_fps = 1.0 / float(np.median(np.diff(times)))
    end = float(times[-1]) + 1.0 / src_fps
    t = np.arange(int(math.floor(end * fps + 1e-6))) / fps
    idx = np.clip(np.floor(t * src_fps + 0.5).astype(int), 0, len(times) - 1)
    raw = PersonTrack(0, np.asarray(track.raw_keypoints)[idx], np.asarray(track.raw_scores)[idx],
                      np.asarray(track.sources)[idx])
    return stabilize_track(raw, t, stabilizer_for("mediapipe", fps)), t


def answers(pose, fps: float) -> dict:
    """What the analysis says at ``fps``: each window's status and energy, the movement episodes
    (``description.episodes``: start, end, body part; their energies) and the segments shown to the user
    (without a checkpoint: episodes and the weight-free actions of ``recognizer.kinematics``)."""
    track = select_people(pose.tracks)[0]
    stable, t = resample(track, pose.times, fps)
    size = (pose.width, pose.height)
    segments, windows = analyse_track(stable, t, size, "long")
    scale = motion.body_scale(stable.keypoints)
    desc = description.describe_track(stable.keypoints, stable.scores, t, size, scale)
    ok = motion.ReliableMask(stable.keypoints, stable.scores, *size)
    spans = description.episodes(desc, motion.STILL_THRESHOLD, stable.present)
    moved = [description.describe(desc, stable.keypoints, ok, a, b, scale) for a, b in spans]
    return {"status": [w.status for w in windows], "energy": [w.energy for w in windows],
            "episodes": [(float(t[a]), description.motion_end(t, b), m["body_part"]) for (a, b), m in zip(spans, moved)],
            "episode_energy": [m["motion_energy"] for m in moved],
            "clear": [clear_of_limits(m, float(np.max(desc.energy[a:b])), description.motion_end(t, b) - float(t[a]))
                      for (a, b), m in zip(spans, moved)],
            "segments": [(s.start_s, s.end_s, s.movement["body_part"]) for s in segments]}


def clear_of_limits(movement: dict, peak: float, seconds: float) -> bool:
    """Whether no limit of the episode rules (``pipeline.description``) is near an episode with this
    description (``description.describe``), energy peak and length: its energy peaks above
    ``PEAK_FACTOR`` times the still threshold by the 10 % margin of ``RELEASE_FACTOR``, it outlasts
    ``MIN_EPISODE_S`` by a frame at 15 fps at either end, and the part it is named by moves at least
    ``SWITCH_FACTOR`` times as much as any other (weighted as named; a touch names it otherwise). Where a
    limit is near, which side of it a measurement falls on can change with the frame rate, as it changes
    with the encoding (README "Frame rates")."""
    named = all(description.moves_clearly_more(movement["part_energy"], movement["body_part"], other)
                for other in description.MOTION_PARTS if other != movement["body_part"])
    return (named and seconds >= description.MIN_EPISODE_S + 2 / min(RATES)
            and peak >= description.PEAK_FACTOR / description.RELEASE_FACTOR * motion.STILL_THRESHOLD)


def unmatched_clear_episodes(got: dict, base: dict) -> list[tuple]:
    """The episodes clear of the rules' limits (``clear_of_limits``) in either answer that episodes of the
    same body part in the other do not cover for at least half their time."""
    def covered(episode, others):
        a, b, part = episode
        return sum(max(0.0, min(b, d) - max(a, c)) for c, d, q in others if q == part) >= 0.5 * (b - a)
    return ([("only here", e) for e, ok in zip(got["episodes"], got["clear"]) if ok and not covered(e, base["episodes"])]
            + [("missing", e) for e, ok in zip(base["episodes"], base["clear"]) if ok and not covered(e, got["episodes"])])


@pytest.fixture(scope="module")
def clips(tmp_path_factory, demo_dir) -> dict:
    """Real footage at 30 fps: two MA-52 demo clips (a nod, a head turn), the first 3 s of a real_dev
    talker, and a frozen frame (2 s of the nod clip's first frame: nothing moves)."""
    from pipeline.sample import frozen_video

    real_dev = _need(SHARED / "fixtures" / "real_dev")
    tmp = tmp_path_factory.mktemp("clips")
    talker = tmp / "talker.mp4"
    ffmpeg("-i", str(real_dev / "talking_woman_chest_up_blue.mp4"), "-t", "3", "-an", "-c:v", "libx264", str(talker))
    return {"nod": demo_dir / "B1_nodding__0019_02_0078.mp4", "turn": demo_dir / "B3_turning_head__0010_02_0101.mp4",
            "talker": talker, "frozen": frozen_video(demo_dir / "B1_nodding__0019_02_0078.mp4", tmp / "frozen.mp4",
                                                     seconds=2.0)}


@pytest.fixture(scope="module")
def poses(tmp_path_factory, clips) -> dict:
    """MediaPipe's pose of each clip at its own 30 fps."""
    tmp = tmp_path_factory.mktemp("rates")
    return {name: pipeline_pose(v, tmp / "out") for name, v in clips.items()}


@pytest.mark.parametrize("clip", ["nod", "turn", "talker", "frozen"])
def test_same_answer_at_every_frame_rate(poses, clip):
    base = answers(poses[clip], 30)
    step = 1 / 15  # one frame at the lowest rate: where an edge can land
    for fps in RATES:
        got = answers(poses[clip], fps)
        assert got["status"] == base["status"], (fps, got, base)
        assert [e[2] for e in got["episodes"]] == [e[2] for e in base["episodes"]], (fps, got, base)
        for (a, b, _), (a0, b0, _) in zip(got["episodes"], base["episodes"]):
            assert abs(a - a0) <= step + 1e-6 and abs(b - b0) <= step + 1e-6, (fps, got, base)
        tolerance = TOLERANCE[fps]
        for e, e0 in zip(got["energy"] + got["episode_energy"], base["energy"] + base["episode_energy"]):
            if e0 >= motion.STILL_THRESHOLD:
                assert abs(e - e0) <= tolerance * e0 + 1e-9, (fps, got, base)
            else:
                assert e < motion.STILL_THRESHOLD, (fps, got, base)
    if clip == "frozen":
        assert set(base["status"]) == {"still"} and base["episodes"] == []
    else:
        assert base["episodes"], base  # something moves in each of the others


@pytest.mark.parametrize("clip", ["turn", "talker", "frozen"])
def test_segments_shown_are_the_same_at_every_frame_rate(poses, clip):
    base = answers(poses[clip], 30)["segments"]
    for fps in RATES:
        got = answers(poses[clip], fps)["segments"]
        assert [s[2] for s in got] == [s[2] for s in base], (fps, got, base)
        for (a, b, _), (a0, b0, _) in zip(got, base):
            assert abs(a - a0) <= 1 / 15 + 1e-6 and abs(b - b0) <= 1 / 15 + 1e-6, (fps, got, base)


def test_smoothing_spans_the_same_time_at_every_rate():
    """The trajectory average spans SMOOTH_S at any rate: a 3 Hz nod keeps its measured speed within 10 %
    from 15 to 60 fps (averaged over a rounded odd number of frames, 3 at 15 fps, it lost 41 %)."""
    speeds = {}
    for fps in RATES:
        t = np.arange(int(2 * fps)) / fps
        kp = np.zeros((len(t), 44, 2))
        kp[:, :, 1] = 10 * np.sin(2 * np.pi * 3 * t)[:, None]  # pixels; scale 100 px: 0.1 torso lengths
        ok = np.ones((len(t), 44), bool)
        speeds[fps] = motion.region_energy(kp, ok, t, 100.0)["head"]
    true = 4 * 0.1 * 3  # mean speed of a sinusoid: 4 x amplitude x frequency
    for fps, s in speeds.items():
        assert abs(s - speeds[30]) <= 0.10 * speeds[30], speeds
        assert 0.7 * true <= s <= true, speeds


def one_frame_later(pose):
    """The same footage starting one frame later: a 15 fps video made from it holds the other half of the
    frames (1, 3, 5, ... of the original instead of 0, 2, 4, ...)."""
    from dataclasses import replace

    track = select_people(pose.tracks)[0]
    later = PersonTrack(track.id, np.asarray(track.keypoints)[1:], np.asarray(track.scores)[1:],
                        np.asarray(track.sources)[1:], raw_keypoints=np.asarray(track.raw_keypoints)[1:],
                        raw_scores=np.asarray(track.raw_scores)[1:])
    return replace(pose, times=np.asarray(pose.times)[1:] - pose.times[1], tracks=[later])


@pytest.mark.parametrize("clip", [
    "nod", "talker", "frozen",
    pytest.param("turn", marks=pytest.mark.xfail(strict=True, reason=(
        "the pose model's left hand flips between two fits on every frame; thinned to this half of the frames, "
        "its output keeps one fit and the step where the flipping stops makes the turn's episode read upper limb; "
        "a 15 fps video of these frames through the pose model reads head (README Frame rates)")))])
def test_the_other_half_of_the_frames_at_15_fps(poses, clip):
    """15 fps footage holds every other frame, and which half is the camera's or the encoder's choice: the
    answer must not depend on it. Energies within TOLERANCE[15] of 30 fps on the same footage; statuses and
    episodes as at 30 fps."""
    pose = one_frame_later(poses[clip])
    base, got = answers(pose, 30), answers(pose, 15)
    assert got["status"] == base["status"], (got, base)
    assert [e[2] for e in got["episodes"]] == [e[2] for e in base["episodes"]], (got, base)
    for e, e0 in zip(got["energy"] + got["episode_energy"], base["energy"] + base["episode_energy"]):
        if e0 >= motion.STILL_THRESHOLD:
            assert abs(e - e0) <= TOLERANCE[15] * e0 + 1e-9, (got, base)
        else:
            assert e < motion.STILL_THRESHOLD, (got, base)


@pytest.mark.parametrize("fps", [15, 25])
def test_a_frozen_frame_resampled_with_ffmpeg_is_still_with_nothing_named(tmp_path, demo_dir, fps):
    """The whole pipeline, MediaPipe included, on a frozen frame (4 s of the nod clip's first frame at 30 fps)
    resampled with ffmpeg's fps filter, as benchmarks/bench_frame_rate.py does: every window still and no
    segment. At 15 fps MediaPipe's landmarks settle over the first 0.7 s (a knee rises 0.057 torso lengths,
    its ankle 0.008), which read as a D1 tiptoe before the rigid-shank check (leg_actions.TIPTOE_ANKLE)."""
    from pipeline.inputs import VideoJob
    from pipeline.options import Options
    from pipeline.run import Pipeline
    from pipeline.sample import frozen_video

    frozen = frozen_video(demo_dir / "B1_nodding__0019_02_0078.mp4", tmp_path / "frozen.mp4", seconds=4.0)
    video = tmp_path / f"frozen_{fps}fps.mp4"
    ffmpeg("-i", str(frozen), "-vf", f"fps={fps}", "-an", "-c:v", "libx264", "-crf", "18", str(video))
    pipe = Pipeline.from_options(Options(out=tmp_path / "out", mode="long", workers=1))
    try:
        doc = pipe.process(VideoJob(video, Path(video.stem))).doc
    finally:
        pipe.close()
    assert doc["video"]["num_frames"] == 4 * fps
    assert {w["status"] for w in doc["windows"]} == {"still"}, doc["windows"]
    assert doc["segments"] == [], doc["segments"]


PHASES = {"even": "", "odd": "trim=start_frame=1,setpts=PTS-STARTPTS,"}  # frames 0, 2, 4, ... or 1, 3, 5, ...


@pytest.fixture(scope="module")
def through_the_pose_model(tmp_path_factory, clips):
    """(clip, phase) -> {30: answers, 15: answers}: the clip's frames of one phase encoded at 30 fps and made a
    15 fps video with ffmpeg's fps filter (both x264 crf 18), each run through MediaPipe (computed once)."""
    tmp = tmp_path_factory.mktemp("pose15")
    done = {}

    def get(clip: str, phase: str) -> dict:
        if (clip, phase) not in done:
            got = {}
            for fps in (30, 15):
                out = tmp / f"{clip}_{phase}_{fps}.mp4"
                ffmpeg("-i", str(clips[clip]), "-vf", f"{PHASES[phase]}fps={fps}", "-an", "-c:v", "libx264",
                       "-crf", "18", str(out))
                got[fps] = answers(pipeline_pose(out, tmp / "out"), fps)
            done[clip, phase] = got
        return done[clip, phase]
    return get


@pytest.mark.parametrize("phase", sorted(PHASES))
@pytest.mark.parametrize("clip", ["nod", "turn", "talker", "frozen"])
def test_a_15_fps_video_through_the_pose_model(through_the_pose_model, clip, phase):
    """The clip made a 15 fps video with ffmpeg (either half of its frames) and run through MediaPipe, against
    the same frames at 30 fps (both encoded alike): the same window statuses, window energies within 10 %.

    Why this beside the tests above: they thin MediaPipe's 30 fps output, and that is not what MediaPipe
    gives on 15 fps footage where its hand model flips between two fits on every frame it is shown (the
    head turn's left hand: a 15 fps video alternates 604/612/603/609 px as the 30 fps one does; thinned,
    one fit is kept, 601/601/602/602, and its end reads as a step). Thinned, the turn reads up to 21 %
    fast at 15 fps; MediaPipe run at 15 fps reads it within 5 %."""
    got = through_the_pose_model(clip, phase)
    assert got[15]["status"] == got[30]["status"], got
    for e, e0 in zip(got[15]["energy"], got[30]["energy"]):
        if e0 >= motion.STILL_THRESHOLD:
            assert abs(e - e0) <= POSE_MODEL_TOLERANCE_15 * e0, got
        else:
            assert e < motion.STILL_THRESHOLD, got


@pytest.mark.parametrize("clip, phase", [
    pytest.param("nod", "even", marks=pytest.mark.xfail(strict=True, reason=(
        "the nod starts inside the first 0.5 s, which do not count while the pose model settles; at 15 fps the "
        "first frame that counts is 0.533 s, and MediaPipe measures 0.050 at 0.8 s where 30 fps measures 0.075, "
        "so the run (0.27 s) is under MIN_EPISODE_S where 30 fps keeps 0.50-0.87 s; with frames 1, 3, 5, ... "
        "it is found (README Frame rates)"))),
    ("nod", "odd"), ("turn", "even"), ("turn", "odd"), ("talker", "even"), ("talker", "odd"),
    ("frozen", "even"), ("frozen", "odd")])
def test_a_15_fps_video_through_the_pose_model_has_the_same_episodes(through_the_pose_model, clip, phase):
    """The same movement episodes as the same frames at 30 fps: body parts, and edges within one 15 fps frame.
    (The head turn's 15 fps video of frames 0, 2, 4, ... came out as two "head" episodes side by side before
    pieces split by body part were named as the description names them.)"""
    got = through_the_pose_model(clip, phase)
    assert [e[2] for e in got[15]["episodes"]] == [e[2] for e in got[30]["episodes"]], got
    for (a, b, _), (a0, b0, _) in zip(got[15]["episodes"], got[30]["episodes"]):
        assert abs(a - a0) <= 1 / 15 + 1e-6 and abs(b - b0) <= 1 / 15 + 1e-6, got


WHOLE_VIDEOS = ("talking_woman_chest_up_blue", "talking_man_suit_chest_up", "talking_woman_to_camera_window",
                "speaker_standing_hands_together_then_gestures")


@pytest.fixture(scope="module")
def whole_videos(tmp_path_factory):
    """name -> MediaPipe's pose of the whole real_dev video at its own rate (computed once)."""
    real_dev = _need(SHARED / "fixtures" / "real_dev")
    tmp = tmp_path_factory.mktemp("whole")
    done = {}

    def get(name: str):
        if name not in done:
            done[name] = pipeline_pose(real_dev / f"{name}.mp4", tmp / "out")
        return done[name]
    return get


@pytest.mark.parametrize("video", WHOLE_VIDEOS)
def test_whole_videos_keep_their_movements_at_every_rate(whole_videos, video):
    """The four single-person real_dev videos whole (6.6-15.5 s of talking and gesturing), resampled after
    the pose model to every rate, either half of the frames: each window's energy within TOLERANCE of 30 fps
    and its status the same unless its energy lies that close to the threshold; every movement episode clear
    of the rules' limits (``clear_of_limits``) at one rate is covered, for at least half its time, by episodes
    of the same body part at the other. Before the release margin (``description.RELEASE_FACTOR``) the webcam
    talker's 0.8 s body movement at 7.4 s was an episode at 25 fps and none at 30 (its energy hovered at the
    threshold and cut it into pieces under MIN_EPISODE_S); before the part-switch margin
    (``description.SWITCH_FACTOR``) the standing speaker's gesturing, body and arms moving nearly alike, was
    cut into "upper limb" and "body" pieces at other places at each rate (README "Frame rates")."""
    pose = whole_videos(video)
    for phase, p in (("even", pose), ("odd", one_frame_later(pose))):
        base = answers(p, 30)
        for fps in RATES:
            got = answers(p, fps)
            tolerance = max(TOLERANCE[fps], 0.10)
            for e, e0, status, status0 in zip(got["energy"], base["energy"], got["status"], base["status"]):
                near = abs(e0 - motion.STILL_THRESHOLD) <= tolerance * motion.STILL_THRESHOLD
                assert status == status0 or near, (phase, fps, got["energy"], base["energy"])
                if e0 >= motion.STILL_THRESHOLD:
                    assert abs(e - e0) <= tolerance * e0, (phase, fps, got["energy"], base["energy"])
            assert unmatched_clear_episodes(got, base) == [], (phase, fps, got["episodes"], base["episodes"])
        assert any(base["clear"]), base  # each video has movements clear of every limit
