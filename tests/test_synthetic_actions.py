"""The generated micro-action suite (tests/synthetic_actions.py) checked against its own physics: shapes,
framings and scores, the head's sign conventions and projected sizes, labels inside the clip and the
motion inside the labels, frame-rate independence, determinism, the head-pose cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tests import synthetic_actions as sa
from tests.synthetic_actions import J, Action

HEAD = [J[n] for n in sa.HEAD_NAMES]


def _still(framing: str, seed: int = 4, **kw) -> sa.Scenario:
    return sa.make_scenario([], 3.0, fps=30, framing=framing, seed=seed, stabilise=False, **kw)


def _frames_in(sc: sa.Scenario, codes=None) -> np.ndarray:
    """[T] frames inside any instance (of ``codes``)."""
    inside = np.zeros(len(sc.times), bool)
    for i in sc.instances:
        if codes is None or i.code in codes:
            inside |= (sc.times >= i.start_s) & (sc.times <= i.end_s)
    return inside


def test_shapes_types_and_labels():
    sc = sa.make_scenario(["B1", "F1", "B3"], fps=25, framing="head_shoulders", seed=1)
    T = len(sc.times)
    assert T == round(sc.seconds * 25)
    assert sc.keypoints.shape == (T, 44, 2) and sc.keypoints.dtype == np.float32
    assert sc.scores.shape == (T, 44) and sc.scores.dtype == np.float32
    assert sc.times.dtype == np.float64 and np.allclose(np.diff(sc.times), 1 / 25)
    assert sc.head_angles.shape == sc.head_angles_torso.shape == (T, 3)
    assert sc.codes == ("B1", "F1", "B3")
    for i in sc.instances:
        assert 0 <= i.start_s < i.end_s <= sc.seconds
    ends = [i.end_s for i in sc.instances]
    starts = [i.start_s for i in sc.instances]
    assert all(b - a >= 0.8 for a, b in zip(ends, starts[1:]))  # still gaps between actions


@pytest.mark.parametrize("framing, outside, inside", [
    ("seated", (), ("head_top", "left_big_toe", "right_heel", "left_hand_middle_tip")),
    ("upper", ("left_knee", "right_ankle", "hip_center"), ("head_top", "left_shoulder", "left_elbow")),
    ("head_shoulders", ("left_elbow", "hip_center", "left_knee"), sa.HEAD_NAMES),
    ("head_only", ("left_shoulder", "right_shoulder", "left_elbow", "hip_center"), sa.HEAD_NAMES),
])
def test_framing_puts_points_in_and_out_of_the_picture_with_scores(framing, outside, inside):
    sc = _still(framing, body_yaw_deg=0.0)
    W, H = sc.size
    uv = sc.true_keypoints
    is_in = (uv[..., 0] >= 0) & (uv[..., 0] < W) & (uv[..., 1] >= 0) & (uv[..., 1] < H)
    for name in outside:
        assert not is_in[:, J[name]].any(), name
    for name in inside:
        assert is_in[:, J[name]].all(), name
    # scores: < 0.3 outside, 0.8-1.0 inside (a still frontal person: nothing hidden or turned away)
    assert (sc.raw_scores[~is_in] < 0.3).all()
    assert ((sc.raw_scores[is_in] >= 0.8) & (sc.raw_scores[is_in] <= 1.0)).all()
    # hands on the lap below a close-up's frame: the hand model's points score 0
    if framing in ("head_shoulders", "head_only", "upper"):
        assert (sc.raw_scores[:, sa.HAND_JOINTS["left"] + sa.HAND_JOINTS["right"]] == 0).all()


@pytest.mark.parametrize("framing, lo, hi", [("head_shoulders", 0.30, 0.45), ("head_only", 0.55, 0.85)])
def test_close_up_head_size(framing, lo, hi):
    """Head top to chin fills the framing's share of the picture height (the chin is not a keypoint:
    head_top to lower_lip_bottom is 200 of the model's 248 mm); head-only shots keep the shoulders below
    the frame (the head grows beyond 70 % where perspective needs it) and the head's top in the upper
    third."""
    for seed in range(6):
        sc = _still(framing, seed=seed)
        uv, H = sc.true_keypoints[0], sc.size[1]
        share = (uv[J["lower_lip_bottom"], 1] - uv[J["head_top"], 1]) / H * 248 / 200
        assert lo - 0.03 <= share <= hi + 0.03, (seed, share)
        if framing == "head_only":
            assert uv[J["left_shoulder"], 1] >= H and uv[J["right_shoulder"], 1] >= H
            assert uv[J["head_top"], 1] <= 0.34 * H


def test_yaw_moves_the_nose_by_the_projected_amount():
    """A pure 30 deg yaw (B3, held) moves the nose toward the image's right (the person's left) by the
    rotation of its offset from the neck pivot, seen through the pinhole: about 0.86 inter-ocular
    distances (a 63 mm IPD and the nose tip ~108 mm in front of the pivot: sin 30 * 108 / 63)."""
    sc = sa.make_scenario([Action("B3", params={"angle_deg": 30.0, "hold_s": 1.0})], fps=30, framing="head_only",
                          seed=2, noise=None, stabilise=False, body_yaw_deg=0.0, camera_pitch_deg=0.0)
    inst = sc.instances[0]
    k = int(round((inst.start_s + inst.params["rise_s"] + 0.5) * sc.fps))
    assert sc.head_angles_torso[k, 0] == pytest.approx(30.0)
    uv = sc.true_keypoints
    du, dv = uv[k, J["nose"]] - uv[0, J["nose"]]
    # expected from the head geometry and the camera, independently of the renderer's frames
    subj, cam = sc.subject, sc.camera
    rel = subj.head["nose"] - sa.HEAD_PIVOT * subj.scale
    turned = sa.head_rotation(30.0, 0.0, 0.0) @ rel
    f = cam["focal_px"]
    x0 = (uv[0, J["nose"], 0] - cam["size"][0] / 2) / f  # x / z of the nose at rest
    z0 = _nose_depth(sc)
    y0 = (uv[0, J["nose"], 1] - cam["size"][1] / 2) / f
    dx, dy, dz = turned - rel
    assert abs(dy) < 1e-9  # a pure yaw keeps the nose's height; only perspective moves it in the picture
    assert du > 0
    assert du == pytest.approx(f * ((x0 * z0 + dx) / (z0 + dz) - x0), abs=0.5)
    assert dv == pytest.approx(f * (y0 * z0 / (z0 + dz) - y0), abs=0.5)
    assert du / sc.iod_px == pytest.approx(math.sin(math.radians(30)) * 108 / 63, rel=0.12)


def _nose_depth(sc: sa.Scenario) -> float:
    """Depth (mm) of the nose at rest from the camera's translation and the body's neutral geometry."""
    body = sa._Body(sc.subject, sc.rest)
    pts = sa._neutral_points(body)
    cam = sa.Camera(*sc.size, sc.camera["focal_px"], sc.camera["pitch_deg"], sc.camera["body_yaw_deg"],
                    sc.camera["translation_mm"])
    return float(cam.to_camera(pts["nose"])[2])


def test_sign_conventions_of_pitch_and_roll():
    """Positive pitch = head down (the nose goes down in the picture); positive roll = toward the
    person's own left shoulder (the head top goes to the image's right for a person facing the camera)."""
    kw = dict(fps=30, framing="head_only", seed=5, noise=None, stabilise=False, body_yaw_deg=0.0,
              camera_pitch_deg=0.0)
    for code, axis, point, coord, sign in (("B5", 1, "nose", 1, +1), ("B6", 1, "nose", 1, -1),
                                           ("B4", 2, "head_top", 0, +1)):
        params = {"angle_deg": 20.0} if code == "B4" else {}
        sc = sa.make_scenario([Action(code, params=params)], **kw)
        i = sc.instances[0]
        k = int(round((i.start_s + i.params["rise_s"] + 0.5 * i.params["hold_s"]) * sc.fps))
        assert np.sign(sc.head_angles_torso[k, axis]) == sign, code
        assert np.sign(sc.head_angles[k, axis]) == sign, code
        move = sc.true_keypoints[k, J[point], coord] - sc.true_keypoints[0, J[point], coord]
        assert np.sign(move) == sign and abs(move) > 0.1 * sc.iod_px, code


def test_camera_relative_head_angles_include_the_camera():
    sc = sa.make_scenario([], 2.0, fps=30, framing="head_shoulders", seed=3, noise=None, body_yaw_deg=20.0,
                          camera_pitch_deg=10.0)
    assert np.allclose(sc.head_angles_torso, 0.0)
    assert sc.head_angles[0, 0] == pytest.approx(20.0, abs=1.5)
    assert sc.head_angles[0, 1] == pytest.approx(10.0, abs=1.5)


def test_head_motion_only_inside_head_instances():
    sc = sa.make_scenario(["B1", "B2", "B3", "B4", "B5", "B6"], fps=30, framing="head_shoulders", seed=7,
                          noise=None, stabilise=False)
    inside = _frames_in(sc)
    assert np.abs(sc.head_angles_torso[~inside]).max() < 1e-9
    for i in sc.instances:
        frames = (sc.times >= i.start_s) & (sc.times <= i.end_s)
        assert np.abs(sc.head_angles_torso[frames]).max() > 2.0, i.code


def test_hands_move_only_inside_their_instances():
    """Hands at the head: the hand leaves its rest at the label's start and is back at its end."""
    sc = sa.make_scenario(["F1", "F3", "F6", "F9", "E2"], fps=30, framing="seated", seed=8, noise=None,
                          stabilise=False)
    hands = sa.HAND_JOINTS["left"] + sa.HAND_JOINTS["right"]
    moved = np.abs(sc.true_keypoints[:, hands] - sc.true_keypoints[0, hands]).max(axis=(1, 2))
    inside = _frames_in(sc)
    assert moved[~inside].max() < 1e-3
    for i in sc.instances:
        frames = (sc.times >= i.start_s) & (sc.times <= i.end_s)
        assert moved[frames].max() > 3 * sc.iod_px, i.code


def test_body_suite_motion_inside_instances():
    """Every body, arm and leg action moves the body inside its label and nowhere else (breathing
    moves the shoulders by 1 mm: under a pixel; 'sitting straightly' starts slouched)."""
    for sc in sa.suite("body", seed=0, stabilise=False):
        if sc.framing != "seated" or sc.background != "still":
            continue
        uv = sc.true_keypoints
        moved = np.abs(uv - uv[-1]).max(axis=(1, 2))
        inside = _frames_in(sc)
        a3 = [i.end_s for i in sc.instances if i.code == "A3"]
        after_slouch = sc.times > (a3[0] if a3 else -1)
        assert moved[~inside & after_slouch].max() < 1.0, sc.name
        for i in sc.instances:
            frames = (sc.times >= i.start_s) & (sc.times <= i.end_s)
            assert moved[frames].max() > 0.15 * sc.iod_px, (sc.name, i.code)  # ~10 mm at the subject


def test_labels_do_not_depend_on_the_frame_rate():
    actions = ["B2", Action("F6", params={"hand": "both"}), "F5", "D3"]
    def labels(fps):
        sc = sa.make_scenario(actions, fps=fps, framing="seated", seed=11, stabilise=False)
        return [(i.code, i.start_s, i.end_s, i.params) for i in sc.instances]

    ref = labels(30)
    for fps in (15, 25, 60, 29.97):
        assert labels(fps) == ref, fps


def test_angles_do_not_depend_on_the_frame_rate():
    a = sa.make_scenario(["B1"], 4.0, fps=60, framing="head_only", seed=2, noise=None, stabilise=False)
    b = sa.make_scenario(["B1"], 4.0, fps=15, framing="head_only", seed=2, noise=None, stabilise=False)
    np.testing.assert_allclose(a.head_angles_torso[::4], b.head_angles_torso, atol=1e-9)
    np.testing.assert_allclose(a.true_keypoints[::4], b.true_keypoints, atol=1e-3)


def test_deterministic_per_seed():
    a = sa.make_scenario(["B1", "F2"], 9.0, fps=30, framing="upper", seed=5)
    b = sa.make_scenario(["B1", "F2"], 9.0, fps=30, framing="upper", seed=5)
    c = sa.make_scenario(["B1", "F2"], 9.0, fps=30, framing="upper", seed=6)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.instances == b.instances
    assert not np.allclose(np.nan_to_num(a.raw_keypoints), np.nan_to_num(c.raw_keypoints))


def test_stabilised_by_default_and_noise_model():
    kw = dict(fps=30, framing="head_shoulders", seed=9)
    sc = sa.make_scenario(["B2"], **kw)
    raw = sa.make_scenario(["B2"], stabilise=False, **kw)
    np.testing.assert_array_equal(sc.raw_keypoints, raw.keypoints)
    assert not np.allclose(np.nan_to_num(sc.keypoints), np.nan_to_num(sc.raw_keypoints))
    # face-mesh points are steadier than the ears and head top, which are steadier than fingertips
    err = np.nanstd(raw.raw_keypoints - raw.true_keypoints, axis=(0, 2))
    face = err[[J[n] for n in ("nose_bridge", "nose_bottom", "upper_lip_top")]].mean()
    ears = err[[J[n] for n in ("left_ear", "right_ear", "head_top")]].mean()
    assert 0.2 * sc.iod_px / 63 < face < ears  # ~0.4 mm, in pixels
    clean = sa.make_scenario(["B2"], noise=None, stabilise=False, **kw)
    np.testing.assert_allclose(clean.keypoints, clean.true_keypoints)


def test_dropouts_are_nan_with_zero_score():
    noisy = sa.NoiseModel(hand_dropouts_per_min=60.0, person_dropouts_per_min=12.0)
    sc = sa.make_scenario([], 20.0, fps=30, framing="seated", seed=1, noise=noisy, stabilise=False)
    gone = np.isnan(sc.raw_keypoints).any(-1)
    assert gone.any() and (sc.raw_scores[gone] == 0).all()
    person = gone.all(1)
    assert person.any() and (person.mean() < 0.2)
    hand_only = gone[:, sa.HAND_JOINTS["left"]].all(1) & ~person
    assert hand_only.any() and not gone[hand_only][:, J["left_elbow"]].any()


def test_hand_already_at_face_and_entering_from_the_bottom():
    actions = [Action("F2", params={"already": True, "hand": "right"}), Action("F7", params={"hand": "left"})]
    sc = sa.make_scenario(actions, fps=30, framing="head_shoulders", seed=3, stabilise=False)
    first, second = sc.instances
    assert first.start_s == 0.0
    wrist_r, wrist_l = J["right_hand_wrist"], J["left_hand_wrist"]
    assert sc.raw_scores[0, wrist_r] >= 0.8  # already in the picture at the face
    end = int(first.end_s * sc.fps) + 1
    assert sc.raw_scores[end, wrist_r] == 0.0  # gone back to the lap, below the frame
    frames = np.flatnonzero((sc.times >= second.start_s) & (sc.times <= second.end_s))
    seen = frames[sc.raw_scores[frames, wrist_l] > 0]
    assert sc.raw_scores[frames[0], wrist_l] == 0.0 and len(seen)
    assert sc.true_keypoints[seen[0], wrist_l, 1] > 0.75 * sc.size[1]  # it came in through the bottom edge
    contact = np.diff(second.params["contact_s"])[0]
    assert second.visible_s == pytest.approx(contact, abs=0.1)


def test_hidden_and_covered_points_score_low():
    sc = sa.make_scenario([Action("F4", params={"hand": "right", "hold_s": 1.5}),
                           Action("F9", params={"hand": "left", "hold_s": 1.5})],
                          fps=30, framing="head_shoulders", seed=2, stabilise=False, body_yaw_deg=0.0)
    f4, f9 = sc.instances
    k4 = int((f4.start_s + f4.params["rise_s"] + 0.7) * sc.fps)
    k9 = int((f9.start_s + f9.params["rise_s"] + 0.7) * sc.fps)
    tips = [J[f"right_hand_{p}"] for p in ("index_tip", "middle_tip", "ring_tip")]
    assert (sc.raw_scores[k4, tips] <= 0.3).all()
    assert (sc.raw_scores[k9, [J["upper_lip_top"], J["lower_lip_bottom"]]] <= 0.5).all()


def test_every_code_renders_and_unknown_input_fails():
    for code in sa.FAMILIES["body"] + sa.FAMILIES["head_hand"]:
        sc = sa.make_scenario([code], fps=15, framing="seated", seed=1, noise=None, stabilise=False)
        assert np.isfinite(sc.true_keypoints).all(), code
    with pytest.raises(ValueError, match="unknown action code"):
        sa.make_scenario(["Z9"])
    with pytest.raises(ValueError, match="do not fit"):
        sa.make_scenario(["B3", "B3"], seconds=2.0)
    with pytest.raises(ValueError, match="unknown framing"):
        sa.make_scenario(["B1"], framing="portrait")


@pytest.mark.parametrize("family", list(sa.FAMILIES))
def test_suites_cover_their_family(family):
    scenarios = sa.suite(family, seed=0, stabilise=False)
    counts = {c: 0 for c in sa.FAMILIES[family]}
    framings = {c: set() for c in sa.FAMILIES[family]}
    for sc in scenarios:
        for i in sc.instances:
            counts[i.code] += 1
            framings[i.code].add(sc.framing)
    assert min(counts.values()) >= 3
    assert {sc.fps for sc in scenarios} == set(sa.SUITE_FPS)
    assert len({sc.size for sc in scenarios}) == len(sa.SIZES)
    assert sum(not sc.instances for sc in scenarios) >= 3  # negatives
    if family in ("head", "head_hand"):
        for code, seen in framings.items():
            assert {"head_only", "head_shoulders"} <= seen, code
        assert any(sc.background == "talking" and not sc.instances for sc in scenarios)
    if family == "head_hand":
        assert any(i.params.get("already") for sc in scenarios for i in sc.instances)
        assert any(i.params.get("hand") == "both" for sc in scenarios for i in sc.instances)


def test_head_pose_cases():
    cases = sa.head_pose_cases(seed=1, yaws=(-60, 0, 45), pitches=(-30, 0, 30), rolls=(-30, 0), iod_px=(20, 150))
    n = 3 * 3 * 2 * 2
    assert cases.keypoints.shape == (n, 44, 2) and cases.scores.shape == (n, 44) and cases.angles.shape == (n, 3)
    grid = np.array([(y, p, r) for y in (-60, 0, 45) for p in (-30, 0, 30) for r in (-30, 0) for _ in (20, 150)])
    np.testing.assert_allclose(cases.angles, grid, atol=1e-6)
    W, H = cases.size
    head = cases.true_keypoints[:, HEAD]
    assert ((head >= 0) & (head < [W, H])).all()
    frontal = (grid[:, 0] == 0) & (grid[:, 1] == 0) & (grid[:, 2] == 0)
    iod = np.linalg.norm(cases.true_keypoints[:, J["left_eye"]] - cases.true_keypoints[:, J["right_eye"]], axis=-1)
    np.testing.assert_allclose(iod[frontal], cases.iod_px[frontal], rtol=0.1)
    noise = np.linalg.norm(cases.keypoints - cases.true_keypoints, axis=-1)[:, HEAD]
    assert (noise > 0).all() and np.median(noise / cases.iod_px[:, None]) < 0.05
    # a head turned 60 deg to its own right hides its right ear (the far one) and shows its left
    turned = grid[:, 0] == -60
    assert (cases.scores[turned, J["right_ear"]] < 0.7).all()
    assert (cases.scores[turned, J["left_ear"]] >= 0.8).all()
