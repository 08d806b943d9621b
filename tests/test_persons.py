"""Several people per video with the MediaPipe backend: everyone found, stable ids, subject choice."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import run_pipeline
from pipeline.sample import sample_frames
from pipeline.video_decode import iter_frames
from pipeline.video_probe import probe
from pipeline.video_write import write_video
from pose.estimate import estimate, make_backend
from pose.mediapipe_backend import _grey_out, _iou
from tests.helpers import ffmpeg


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory, demo_dir):
    """Two real MA-52 clips side by side (shaking body | nodding), analysed for everyone."""
    tmp = tmp_path_factory.mktemp("sbs")
    video = tmp / "two_people.mp4"
    ffmpeg("-i", str(demo_dir / "A1_shaking_body__0030_01_0002.mp4"), "-i", str(demo_dir / "B1_nodding__0019_02_0078.mp4"),
           "-filter_complex", "[0:v][1:v]hstack=inputs=2:shortest=1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           str(video))
    code = run_pipeline.main([str(video), "--out", str(tmp / "all"), "--person", "all", "--mode", "clip"])
    assert code == 0
    code = run_pipeline.main([str(video), "--out", str(tmp / "subject"), "--mode", "clip"])
    assert code == 0
    return tmp, json.loads((tmp / "all" / "two_people.json").read_text())


def test_both_people_found_with_stable_ids(side_by_side):
    _, doc = side_by_side
    persons = doc["pose"]["persons"]
    assert len(persons) == 2  # no third id: nobody was lost and found again as someone new
    n = doc["video"]["num_frames"]
    assert all(p["frames_seen"] == n and p["presence"] == 1.0 and p["analysed"] for p in persons)
    assert sum(p["subject"] for p in persons) == 1


def test_each_persons_description_matches_their_clip(side_by_side):
    tmp, doc = side_by_side
    from pose.result import load_pose

    pose = load_pose(tmp / "all" / "two_people.pose.npz")
    x = {t.id: float(np.nanmedian(t.keypoints[:, :17, 0])) for t in pose.tracks}
    left, right = sorted(x, key=x.get)
    assert x[left] < doc["video"]["width"] / 2 < x[right]
    parts = {s["person"]: s["movement"]["body_part"] for s in doc["segments"]}
    assert parts == {left: "body", right: "head"}  # shaking body on the left, nodding on the right
    rows = list(csv.DictReader((tmp / "all" / "two_people.csv").open()))
    assert sorted(int(r["person"]) for r in rows) == sorted([left, right])
    import pympi

    tiers = pympi.Elan.Eaf(str(tmp / "all" / "two_people.eaf")).get_tier_names()
    assert {f"person_{left}", f"person_{right}"} <= set(tiers)


def test_subject_only_by_default_and_the_others_are_named(side_by_side):
    tmp, _ = side_by_side
    doc = json.loads((tmp / "subject" / "two_people.json").read_text())
    assert len(doc["pose"]["persons"]) == 2 and len(doc["segments"]) == 1
    assert any("2 persons were seen" in n and "--person all" in n for n in doc["notes"])


def test_person_leaving_and_coming_back_keeps_its_id(tmp_path):
    fps, size = 15, 256
    frames = list(sample_frames(6.0, fps, size))
    empty = np.full_like(frames[0], 200)
    frames[2 * fps:4 * fps] = [empty] * (2 * fps)  # out of the picture from 2 s to 4 s
    path = tmp_path / "away.mp4"
    write_video(path, frames, fps, (size, size))
    info = probe(path)
    with make_backend("mediapipe", max_side=None) as backend:
        res = estimate(iter_frames(path, info), info.width, info.height, info.fps, backend)
    assert len(res.tracks) == 1
    present = res.tracks[0].present
    assert present[:2 * fps - 1].mean() > 0.9 and present[4 * fps + 5:].mean() > 0.9
    assert not present[2 * fps + 2:4 * fps - 1].any()


def test_single_person_unchanged_by_looking_for_others(demo_dir):
    clip = demo_dir / "B1_nodding__0019_02_0078.mp4"
    info = probe(clip)
    out = {}
    for n in (1, 2):
        with make_backend("mediapipe", max_persons=n) as backend:
            res = estimate(iter_frames(clip, info, max_side=960), info.width, info.height, info.fps, backend)
        assert len(res.tracks) == 1
        out[n] = np.asarray(res.tracks[0].raw_keypoints)
    np.testing.assert_array_equal(out[1], out[2])


def test_grey_out_and_overlap():
    img = np.zeros((100, 200, 3), np.uint8)
    box = np.array([50.0, 20.0, 90.0, 80.0])
    out = _grey_out(img, [box])
    assert (out[20:80, 50:90] == 128).all() and (out[:, :40] == 0).all() and (img == 0).all()
    assert _iou(box, box) == pytest.approx(1.0) and _iou(box, np.array([100.0, 20, 140, 80])) == 0.0
    with pytest.raises(ValueError, match="max_persons"):
        make_backend("mediapipe", max_persons=0)


def test_note_leaves_out_tracks_of_a_moment():
    """A track seen for a few frames (a pose model's flicker) is not announced as a person."""
    import numpy as np

    from pipeline.notes import people_note
    from pose.types import PersonTrack

    def track(tid, frames):
        kp = np.full((300, 44, 2), np.nan, np.float32)
        kp[:frames] = 10.0
        return PersonTrack(tid, kp, np.ones((300, 44), np.float32), np.ones((300, 44), np.uint8))

    subject, flicker, other = track(0, 300), track(1, 8), track(2, 45)
    assert people_note([subject, flicker], [subject], 30.0) == ""
    note = people_note([subject, flicker, other], [subject], 30.0)
    assert note.startswith("2 persons were seen (ids 0, 2)") and "--person all" in note
    assert people_note([subject, other], [subject, other], 30.0) == ""


# -- who is a person: a skeleton that is not upright is none ---------------------------------------------
def test_a_cartoon_title_after_a_cut_is_no_person(tmp_path, real_dev):
    """A webcam man, then a hard cut to a cartoon title (sky, an orange title, nobody): the pose model reads a
    body lying across the title (its trunk 92 degrees from upright); it must not become a person (before, it
    took the man's id, by place, and got movement segments of its own)."""
    from pose.result import load_pose

    video = tmp_path / "man_then_title.mp4"
    ffmpeg("-ss", "1.5", "-t", "3.0", "-i", str(real_dev / "webcam_man_then_cut_to_cartoon_hevc_vfr.mov"),
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video))
    out = tmp_path / "out"
    assert run_pipeline.main([str(video), "--out", str(out), "--person", "all", "--mode", "long", "--workers", "1",
                              "--no-report"]) == 0
    doc = json.loads((out / "man_then_title.json").read_text())
    cut = doc["shots"][1]["first_frame"]
    assert [s["first_frame"] for s in doc["shots"]] == [0, cut] and 26 <= cut <= 29  # the cut at 2.43 s
    assert [p["id"] for p in doc["pose"]["persons"]] == [0]
    seen = np.flatnonzero(load_pose(out / "man_then_title.pose.npz").tracks[0].present)
    assert seen.max() < cut and len(seen) >= cut - 2  # the man, before the cut only: nobody after it
    assert all(s["end_s"] <= doc["shots"][1]["start_s"] for s in doc["segments"])


def test_real_people_leaning_into_a_hug_stay_people(tmp_path, real_dev):
    """Two men step toward each other and hug (one leans up to 36 degrees): both are people throughout; the
    pose model's skeleton of one jumps to the other mid-hug, which is no cut (the picture does not change)."""
    out = tmp_path / "out"
    assert run_pipeline.main([str(real_dev / "two_people_standing_hug.avi"), "--out", str(out), "--person", "all",
                              "--mode", "long", "--workers", "1", "--no-report"]) == 0
    doc = json.loads((out / "two_people_standing_hug.json").read_text())
    assert [(p["id"], p["frames_seen"]) for p in doc["pose"]["persons"]] == [(0, 35), (1, 72)]  # as before the check
    assert len(doc["shots"]) == 1


def test_upright_is_how_a_seated_or_standing_trunk_is():
    from pose.tracking import MAX_TILT_DEG, trunk_tilt, upright

    hips = np.array([[90.0, 200.0], [110.0, 200.0]])

    def shoulders(deg: float) -> np.ndarray:  # the trunk (100 px) turned ``deg`` from upright
        r = np.radians(deg)
        return hips + 100 * np.array([np.sin(r), -np.cos(r)])

    assert trunk_tilt(shoulders(0), hips) == pytest.approx(0, abs=1e-6)
    assert trunk_tilt(shoulders(-45), hips) == pytest.approx(45)
    assert trunk_tilt(shoulders(180), hips) == pytest.approx(180)
    assert [upright(shoulders(d), hips) for d in (0, 36, -45, MAX_TILT_DEG - 1, MAX_TILT_DEG + 1, 92, 124, 180)] == \
        [True, True, True, True, False, False, False, False]
    assert not upright(hips, hips)  # no trunk at all
