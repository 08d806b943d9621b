"""Pose stage: MediaPipe on real clips, AlphaPose JSON, tracking, subject choice, the pose cache."""
from __future__ import annotations

import json

import numpy as np
import pytest

from definitions.layout import ma52_layout
from pipeline.video_decode import iter_frames
from pipeline.video_probe import probe
from pose.alphapose import AlphaPoseError, convert_live_results, read_alphapose_json
from pose.estimate import estimate, from_alphapose_json, make_backend
from pose.result import cached_pose, load_pose, save_pose, video_fingerprint
from pose.tracking import select_people
from pose.types import DERIVED, DETECTED
from tests.helpers import blank_video

L = ma52_layout()


def test_layout_matches_reference(mmn_ref):
    ref = json.loads((mmn_ref / "ma52_layout.json").read_text())
    assert L.num_joints == 44
    assert list(L.halpe136) == [j["halpe136"] for j in ref["joints"]]
    assert list(L.model_order) == ref["model_joint_order"]
    assert sorted(L.model_order) == list(range(44))
    assert L.names[L.center] == "hip_center"


@pytest.fixture(scope="module")
def demo_poses(demo_run):
    out, _ = demo_run
    return {p.name.replace(".pose.npz", ""): load_pose(p) for p in sorted(out.glob("*.pose.npz"))}


def test_mediapipe_on_real_clips(demo_poses, demo_clips):
    assert len(demo_poses) == len(demo_clips) == 3
    for name, res in demo_poses.items():
        assert res.backend == "mediapipe"
        assert len(res.tracks) >= 1
        subject = select_people(res.tracks)[0]
        assert subject.num_frames_seen >= 0.95 * res.num_frames, name
        kp = subject.keypoints[subject.present]
        ok = np.isfinite(kp).all(-1)
        xs, ys = kp[..., 0][ok], kp[..., 1][ok]
        body = L.indices(*L.names[:17])  # the 17 body joints are always visible in MA-52 clips
        assert (kp[:, body, 0] >= 0).all() and (kp[:, body, 0] < res.width).all(), name
        assert (kp[:, body, 1] >= 0).all() and (kp[:, body, 1] < res.height).all(), name
        assert xs.min() > -0.2 * res.width and ys.max() < 1.5 * res.height
        # the person faces the camera: their left shoulder is on the image's right
        assert np.nanmean(kp[:, L.index("left_shoulder"), 0]) > np.nanmean(kp[:, L.index("right_shoulder"), 0])
        # left/right hands are not swapped: each hand's wrist is nearer its own arm's wrist
        for side, other in (("left", "right"), ("right", "left")):
            hand = kp[:, L.index(f"{side}_hand_wrist")]
            own = np.linalg.norm(hand - kp[:, L.index(f"{side}_wrist")], axis=-1)
            far = np.linalg.norm(hand - kp[:, L.index(f"{other}_wrist")], axis=-1)
            assert np.nanmean(own) < np.nanmean(far), (name, side)
        # derived joints are flagged
        assert (subject.sources[subject.present][:, L.index("neck")] == DERIVED).all()
        assert (subject.sources[subject.present][:, L.index("nose")] == DETECTED).all()


def test_no_person_gives_empty_track(tmp_path):
    path = blank_video(tmp_path / "empty_room.mp4", seconds=1, fps=10, size=(160, 120))
    info = probe(path)
    with make_backend("mediapipe") as backend:
        res = estimate(iter_frames(path, info), info.width, info.height, info.fps, backend)
    assert res.num_frames == 10
    assert res.tracks == []
    assert select_people(res.tracks) == []


def _record(frame, xy, idx=None, n=136, score=0.9, box=None):
    pts = []
    for j in range(n):
        pts += [xy[0] + j % 7, xy[1] + j // 7, score]
    rec = {"image_id": f"{frame}.jpg", "category_id": 1, "keypoints": pts, "score": 2.5,
           "box": box or [xy[0], xy[1], 20, 40]}
    if idx is not None:
        rec["idx"] = idx
    return rec


def _write(path, records):
    path.write_text(json.dumps(records))
    return path


def test_alphapose_json_untracked_people(tmp_path):
    # two people, far apart; person B misses frames 3-4; frame 6 has nobody; frame order shuffled
    recs = []
    for f in range(10):
        if f != 6:
            recs.append(_record(f, (100 + f, 100), idx=[f, f + 1]))
        if f not in (3, 4, 6):
            recs.append(_record(f, (400, 120 + f)))
    recs.reverse()
    path = _write(tmp_path / "alphapose-results.json", recs)
    frames = read_alphapose_json(path)
    assert sorted(frames) == [0, 1, 2, 3, 4, 5, 7, 8, 9]
    res = from_alphapose_json(path, np.arange(12) / 30, 640, 480, 30)
    assert res.settings["tracked_by"] == "ours"
    seen = sorted(t.num_frames_seen for t in res.tracks)
    assert seen == [7, 9]  # B keeps one id across its gap; frames 10-11 have nobody
    a = max(res.tracks, key=lambda t: t.num_frames_seen)
    assert np.allclose(a.keypoints[a.present][:, 0, 0], [100 + f for f in range(10) if f != 6])
    assert not a.present[6] and np.isnan(a.keypoints[6]).all()
    # the 44 joints are the layout's Halpe indices
    j = L.index("right_hand_pinky_tip")
    assert a.keypoints[0, j, 0] == pytest.approx(100 + 135 % 7) and a.keypoints[0, j, 1] == pytest.approx(100 + 135 // 7)


def test_alphapose_json_tracked_ids_and_subject(tmp_path):
    recs = []
    for f in range(8):
        recs.append(_record(f, (50, 50), idx=7, box=[50, 50, 30, 60]))  # small, always there
        if f < 3:
            recs.append(_record(f, (300, 50), idx=2, box=[300, 50, 200, 400]))  # big, brief
    path = _write(tmp_path / "tracked.json", recs)
    res = from_alphapose_json(path, np.arange(8) / 25, 640, 480, 25)
    assert res.settings["tracked_by"] == "alphapose"
    assert sorted(t.id for t in res.tracks) == [2, 7]
    assert [t.id for t in select_people(res.tracks)] == [7]  # same size, 8 frames against 3
    assert len(select_people(res.tracks, "all")) == 2
    assert select_people(res.tracks, "7")[0].num_frames_seen == 8
    with pytest.raises(ValueError, match="no person with id 5"):
        select_people(res.tracks, "5")


def test_subject_is_most_frames_times_area(tmp_path):
    recs = []
    for f in range(10):
        recs.append(_record(f, (50, 50), idx=1))  # keypoint spread 6 x 19 px, 10 frames
        if f < 2:
            big = _record(f, (300, 50), idx=2)
            big["keypoints"] = [v * (2 if k % 3 != 2 else 1) for k, v in enumerate(big["keypoints"])]
            recs.append(big)  # 4x the area but only 2 of 10 frames: 8 < 10
    res = from_alphapose_json(_write(tmp_path / "s.json", recs), np.arange(10) / 30, 2000, 2000, 30)
    assert select_people(res.tracks)[0].id == 1


@pytest.mark.parametrize("n, kind", [(26, "Halpe-26"), (17, "COCO-17")])
def test_alphapose_json_body_only_is_refused(tmp_path, n, kind):
    path = _write(tmp_path / "body.json", [_record(0, (10, 10), n=n)])
    with pytest.raises(AlphaPoseError, match=f"{kind} keypoints; the MA-52 model needs whole-body Halpe-136"):
        read_alphapose_json(path)


@pytest.mark.parametrize("text, problem", [
    ("[{\"image_id\": \"0.jpg\", \"keypoints\": [1, 2", "not valid JSON"),
    ("{\"a\": 1}", "expected a JSON list"),
    ("[{\"image_id\": \"0.jpg\"}]", "lacks 'image_id' or 'keypoints'"),
    ("[{\"image_id\": \"frame\", \"keypoints\": " + json.dumps([0.0] * 408) + "}]", "does not name a frame number"),
])
def test_alphapose_json_malformed(tmp_path, text, problem):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(AlphaPoseError, match=problem) as e:
        read_alphapose_json(path)
    assert str(path) in str(e.value)


def test_alphapose_json_is_read_record_by_record(tmp_path, monkeypatch):
    """Records cut across read chunks, any spacing, NaN: the same as reading the whole file; memory
    stays well below the file's size; a cut-off file or junk between records is one line."""
    import tracemalloc

    import pose.alphapose as ap

    recs = [_record(f, (100 + f, 50)) for f in range(40)]
    recs[3]["keypoints"][5] = float("nan")
    path = tmp_path / "r.json"
    path.write_text(json.dumps(recs, indent=2).replace("[\n", "[ \r\n\t"))
    whole = read_alphapose_json(path)
    monkeypatch.setattr(ap, "CHUNK_CHARS", 97)  # records straddle every chunk border
    small = read_alphapose_json(path)
    assert sorted(small) == sorted(whole) == list(range(40))
    for f in whole:
        assert np.array_equal(small[f][0].keypoints, whole[f][0].keypoints, equal_nan=True)
    monkeypatch.setattr(ap, "CHUNK_CHARS", 1 << 16)
    big = _write(tmp_path / "big.json", [_record(f % 500, (100, 50)) for f in range(3000)])
    tracemalloc.start()
    frames = read_alphapose_json(big)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert sum(len(v) for v in frames.values()) == 3000
    # the 44-joint detections kept (~1.3 KB each), not the text or its parsed lists (json.load: ~7x the file)
    assert peak < 0.8 * big.stat().st_size, (peak, big.stat().st_size)
    text = path.read_text()
    for bad, why in ((text[: len(text) // 2], "not valid JSON"), (text.replace("},", "} x,", 1), "not valid JSON"),
                     ("", "not valid JSON"), ('{"0.jpg": {"people": []}}', "--format cmu / open")):
        path.write_text(bad)
        with pytest.raises(AlphaPoseError, match=why) as e:
            read_alphapose_json(path)
        assert str(path) in str(e.value) and "\n" not in str(e.value)


def _body_record(frame, shoulders, hips):
    """A Halpe-136 record: every joint at the shoulders' midpoint, but shoulders and hips where given."""
    pts = np.tile([*np.mean(shoulders, 0), 0.9], (136, 1))
    for k, xy in zip((5, 6, 11, 12), (*shoulders, *hips)):
        pts[k, :2] = xy
    return {"image_id": f"{frame}.jpg", "keypoints": pts.reshape(-1).tolist()}


def test_alphapose_json_outside_or_sideways(tmp_path):
    """Results whose people are outside the displayed frame, or lie on their side in a video shown
    rotated (AlphaPose's OpenCV read it unrotated), are refused in one line that says why."""
    times = np.arange(10) / 30
    upright = [_body_record(f, [(300, 100), (340, 100)], [(305, 200), (335, 200)]) for f in range(10)]
    sideways = [_body_record(f, [(300, 100), (300, 140)], [(200, 105), (200, 135)]) for f in range(10)]
    path = _write(tmp_path / "up.json", upright)
    assert from_alphapose_json(path, times, 640, 480, 30, rotation=90).tracks  # upright in a rotated video: fine
    path = _write(tmp_path / "side.json", sideways)
    lying = from_alphapose_json(path, times, 640, 480, 30)  # no rotation: read as lying, so no interviewee
    assert not lying.tracks and lying.settings["not_upright"] == 10  # (as MediaPipe's: pose.tracking.upright)
    with pytest.raises(AlphaPoseError, match="not upright.*rotated by 90 degrees.*ffmpeg") as e:
        from_alphapose_json(path, times, 640, 480, 30, rotation=90)
    assert str(path) in str(e.value)
    with pytest.raises(AlphaPoseError, match="outside the 200x150 frame.*another video"):
        from_alphapose_json(_write(tmp_path / "up2.json", upright), times, 200, 150, 30)
    with pytest.raises(AlphaPoseError, match="outside the 200x150 frame.*rotated by 270"):
        from_alphapose_json(_write(tmp_path / "up3.json", upright), times, 200, 150, 30, rotation=270)


def test_alphapose_json_frames_beyond_video(tmp_path):
    path = _write(tmp_path / "other.json", [_record(50, (10, 10))])
    with pytest.raises(AlphaPoseError, match="refers to frame 50 but the video has 10 frames"):
        from_alphapose_json(path, np.arange(10) / 30, 640, 480, 30)


def test_live_alphapose_results_conversion():
    torch = pytest.importorskip("torch")
    kp = torch.arange(272, dtype=torch.float32).reshape(136, 2)
    results = [{"keypoints": kp, "kp_score": torch.full((136, 1), 0.8), "proposal_score": torch.tensor(2.0),
                "idx": torch.tensor([3.0]), "bbox": [torch.tensor(1.0), 2.0, 30.0, 40.0]}]
    dets = convert_live_results(results, scale=(2.0, 2.0), tracked=True)
    assert len(dets) == 1 and dets[0].track_id == 3
    j = L.index("left_hand_wrist")  # Halpe 94
    assert np.allclose(dets[0].keypoints[j], [2 * 188, 2 * 189])
    assert np.allclose(dets[0].box, [2, 4, 60, 80])
    assert convert_live_results(results)[0].track_id is None  # AlphaPose's untracked ids are not track ids
    with pytest.raises(AlphaPoseError, match="needs Halpe-136"):
        convert_live_results([{"keypoints": kp[:26], "kp_score": torch.ones(26, 1)}])


def test_live_alphapose_without_install_is_explained():
    with pytest.raises(AlphaPoseError, match="AlphaPose is not installed.*alphapose-json"):
        make_backend("alphapose", alphapose_config="cfg.yaml", alphapose_checkpoint="pose.pth")
    with pytest.raises(AlphaPoseError, match="needs --alphapose-config"):
        make_backend("alphapose")


def test_pose_cache_reuse_and_invalidation(tmp_path, small_video):
    info = probe(small_video)
    with make_backend("mediapipe", max_side=None) as backend:
        res = estimate(iter_frames(small_video, info), info.width, info.height, info.fps, backend)
    res.fingerprint = video_fingerprint(small_video)
    cache = tmp_path / "person.pose.npz"
    save_pose(cache, res)
    again = cached_pose(cache, res.fingerprint, "mediapipe", res.settings)
    assert again is not None and again.num_frames == res.num_frames == 30
    assert np.array_equal(again.tracks[0].keypoints, res.tracks[0].keypoints, equal_nan=True)
    assert np.allclose(again.times, res.times)
    assert cached_pose(cache, res.fingerprint, "mediapipe", dict(res.settings, max_side=480)) is None
    assert cached_pose(cache, "1:other", "mediapipe", res.settings) is None
    cache.write_bytes(b"garbage")
    assert cached_pose(cache, res.fingerprint, "mediapipe", res.settings) is None


def _trunk_record(frame, shoulders, hips, hip_score=0.9):
    """An AlphaPose record whose trunk (Halpe 5, 6 shoulders; 11, 12 hips) is placed as given."""
    rec = _record(frame, (shoulders[0][0], shoulders[0][1]))
    pts = rec["keypoints"]
    for j, (x, y), s in ((5, shoulders[0], 0.9), (6, shoulders[1], 0.9), (11, hips[0], hip_score),
                         (12, hips[1], hip_score)):
        pts[3 * j: 3 * j + 3] = [x, y, s]
    return rec


def test_alphapose_skeletons_lying_across_the_picture_are_no_person(tmp_path):
    """The trunk rule MediaPipe's people follow (``pose.tracking.upright``) holds for AlphaPose's results
    too: a detection whose confidently seen trunk lies across the picture is dropped (counted in the
    settings); one whose hips are only guessed (a chest-up framing) is not judged and stays (issue 30)."""
    recs = []
    for f in range(6):
        recs.append(_trunk_record(f, [(100, 100), (160, 100)], [(105, 220), (155, 220)]))  # seated: upright
        recs.append(_trunk_record(f, [(400, 300), (400, 340)], [(520, 300), (520, 340)]))  # lying: 90 degrees
        recs.append(_trunk_record(f, [(300, 80), (300, 120)], [(200, 80), (200, 120)], hip_score=0.1))  # guessed
    res = from_alphapose_json(_write(tmp_path / "lying.json", recs), np.arange(6) / 30, 640, 480, 30)
    assert res.settings["not_upright"] == 6
    starts = sorted(round(float(np.nanmin(t.keypoints[t.present][:, :, 0]))) for t in res.tracks)
    assert len(res.tracks) == 2 and starts[0] == 100 and starts[1] == 200, starts
