"""The weight-free recognizer (recognizer.kinematics): head pose against known angles, head actions
from known angle series, hands at known places on the head; the demo clips through the pipeline."""
from __future__ import annotations

import json

import numpy as np
import pytest

from definitions.layout import ma52_layout
from recognizer.kinematics import head_actions as ha
from recognizer.kinematics import hand_head as hh
from recognizer.kinematics import headpose as hp
from recognizer.kinematics import recognize

L = ma52_layout()
SIZE = (1280, 720)


def _head_points(yaw, pitch, roll, iod_px, rng, shape_mm=3.0, noise_px=0.5, centre=(640, 360)):
    """The layout's head points of a head (the generic model with every point moved by ``shape_mm`` at
    random: another person's head) at known angles, ``iod_px`` between the pupils, with pixel noise. In the
    middle of the picture, the angles against the line of sight are the camera-relative ones."""
    focal, c = hp.camera(SIZE)
    model = hp._MODEL + rng.normal(0, shape_mm, hp._MODEL.shape)
    z = focal * hp.INTEROCULAR_MM / iod_px
    t = np.array([(centre[0] - c[0]) * z / focal, (centre[1] - c[1]) * z / focal, z])
    pts = hp.project(model, hp.rotation_from_euler(yaw, pitch, roll), t, focal, c)
    return pts + rng.normal(0, noise_px, pts.shape), t


def _frame(head_pts) -> tuple[np.ndarray, np.ndarray]:
    kp = np.full((L.num_joints, 2), np.nan)
    sc = np.zeros(L.num_joints)
    kp[hp.HEAD_INDEX] = head_pts
    sc[hp.HEAD_INDEX] = 0.95
    return kp, sc


@pytest.mark.parametrize("iod_px", [20, 50, 140])
def test_head_pose_recovers_known_angles(iod_px):
    rng = np.random.default_rng(iod_px)
    errors = []
    for yaw in (-45, -20, 0, 20, 45):
        for pitch in (-20, 0, 20):
            for roll in (-15, 0, 15):
                pts, _ = _head_points(yaw, pitch, roll, iod_px, rng)
                kp, sc = _frame(pts)
                pose = hp.head_pose(kp[None], sc[None], np.zeros(1), SIZE)
                assert pose.valid[0]
                errors.append(np.abs(pose.angles[0] - (yaw, pitch, roll)))
    err = np.array(errors)
    # documented in docs/KINEMATICS.md: median under 3 deg, 95th percentile under 8 deg
    assert np.median(err) < 3.0 and np.percentile(err, 95) < 8.0, (np.median(err, 0), np.percentile(err, 95, 0))


def test_head_moving_across_the_picture_keeps_its_angles():
    rng = np.random.default_rng(5)
    for x in (200, 640, 1100):
        pts, t = _head_points(0, 0, 0, 40, rng, shape_mm=0.0, noise_px=0.0, centre=(x, 360))
        # the same head, not turning, seen off-centre: its camera-frame rotation is the line of sight's
        focal, c = hp.camera(SIZE)
        pts = hp.project(hp._MODEL, hp.line_of_sight(t), t, focal, c)
        kp, sc = _frame(pts)
        pose = hp.head_pose(kp[None], sc[None], np.zeros(1), SIZE)
        assert np.abs(pose.angles[0]).max() < 0.5, (x, pose.angles[0])


def test_head_pose_needs_eyes_and_enough_points():
    rng = np.random.default_rng(0)
    pts, _ = _head_points(0, 0, 0, 50, rng)
    kp, sc = _frame(pts)
    sc[hp.HEAD_INDEX[:5]] = 0.1  # nose, eyes, ears unseen: 5 points left, no pupils
    sc[L.index("left_eye_outer_corner")] = 0.1
    pose = hp.head_pose(kp[None], sc[None], np.zeros(1), SIZE)
    assert not pose.valid[0] and pose.confidence[0] == 0


def _pose_series(angles: np.ndarray, conf: float = 0.6) -> hp.HeadPose:
    n = len(angles)
    return hp.HeadPose(angles.astype(float), np.full(n, conf), np.ones(n, bool), np.ones(n), np.repeat(np.eye(3)[None], n, 0),
                       np.zeros((n, 3)), 1000.0, (640, 360))


def _series(kind: str, fps: float, seconds: float = 5.0, start: float = 1.5, rng=None):
    """Angles [T, 3] of one head action from ``start`` (still before and after, 0.3 deg jitter)."""
    rng = rng or np.random.default_rng(0)
    t = np.arange(int(seconds * fps)) / fps
    a = rng.normal(0, 0.3, (len(t), 3))
    u = t - start
    if kind == "nod":  # 3 nods at 2.5 Hz, 8 deg peak to peak
        on = (u >= 0) & (u <= 1.2)
        a[on, 1] += 4 - 4 * np.cos(2 * np.pi * 2.5 * u[on])
        end = start + 1.2
    elif kind == "shake":  # 2 cycles at 2 Hz, +-10 deg
        on = (u >= 0) & (u <= 1.0)
        a[on, 0] += 10 * np.sin(2 * np.pi * 2.0 * u[on])
        end = start + 1.0
    else:  # held displacements: 0.4 s out, 1 s held, 0.4 s back
        channel, amp = {"turn": (0, 30.0), "tilt": (2, 15.0), "bow": (1, 20.0), "up": (1, -15.0)}[kind]
        ramp = np.clip(u / 0.4, 0, 1) - np.clip((u - 1.4) / 0.4, 0, 1)
        a[:, channel] += amp * (0.5 - 0.5 * np.cos(np.pi * ramp))
        end = start + 1.8
    return t, a, end


EXPECTED = {"nod": "B1", "shake": "B2", "turn": "B3", "tilt": "B4", "bow": "B5", "up": "B6"}


@pytest.mark.parametrize("fps", [15, 25, 60])
@pytest.mark.parametrize("kind", list(EXPECTED))
def test_head_actions_from_known_angles(kind, fps):
    t, angles, end = _series(kind, fps)
    found = ha.head_actions(_pose_series(angles), t)
    assert [i.code for i in found] == [EXPECTED[kind]], [(i.code, i.start_s, i.end_s, i.evidence) for i in found]
    inst = found[0]
    assert abs(inst.start_s - 1.5) <= 0.3 and abs(inst.end_s - end) <= 0.3, (inst.start_s, inst.end_s)
    assert 0.5 <= inst.score <= 1 and inst.evidence["amplitude_deg"] > 0


def _sampled(fps: float, seconds: float, curve) -> tuple[np.ndarray, np.ndarray]:
    """Angles [T, 3] of a movement given in continuous time (``curve(t)`` -> [T, 3]) at ``fps``."""
    t = np.arange(int(seconds * fps)) / fps
    return t, curve(t)


def _talk_nods(t: np.ndarray) -> np.ndarray:
    """A nod (pitch 6.5 deg down and back, 0.5 s), a rest of 0.25 s, then the head up 6 deg and slowly back
    (0.2 s up, 0.6 s down): the shape of a real_dev talker's nods."""
    a = np.zeros((len(t), 3))
    u = t - 1.0
    a[:, 1] = -6.5 * np.where((u >= 0) & (u <= 0.5), 0.5 - 0.5 * np.cos(2 * np.pi * np.clip(u / 0.5, 0, 1)), 0.0)
    up = t - 1.75
    a[:, 1] += 6.0 * np.where(up < 0, 0, np.where(up < 0.2, 0.5 - 0.5 * np.cos(np.pi * up / 0.2),
                                                   0.5 + 0.5 * np.cos(np.pi * np.clip((up - 0.2) / 0.6, 0, 1))))
    return a + 0.4 * np.sin(2 * np.pi * 0.7 * t)[:, None]  # a slow wander, the same at every rate


def _flicked_turn(t: np.ndarray) -> np.ndarray:
    """A head turned 10 deg at 0.5 s and held to the end, with the fit flicking back to 0 for 0.06 s at
    1.5 s (a frame or two, as fits of small faces flip)."""
    a = np.zeros((len(t), 3))
    a[:, 0] = 10 * np.clip((t - 0.5) / 0.1, 0, 1)
    a[(t >= 1.5) & (t < 1.56), 0] = 0.0
    return a


@pytest.mark.parametrize("curve, codes", [(_talk_nods, ["B1", "B1"]), (_flicked_turn, ["B3"])])
def test_head_actions_are_the_same_at_every_frame_rate(curve, codes):
    """The same movement sampled at 15-60 fps gives the same instances, edges within a frame at 15 fps: the
    rest between the nods is measured in seconds (read at the frames, each swing's edge fell up to a frame
    outward: two instances ending 0.1 s apart at 15 and 30 fps, one at 50 and 60), and a flick back
    during a held turn is no return at any rate (it was read as the turn's return)."""
    got = {}
    for fps in (15, 25, 30, 50, 60):
        t, angles = _sampled(fps, 3.0, curve)
        found = ha.head_actions(_pose_series(angles), t)
        got[fps] = [(i.code, i.start_s, i.end_s, i.evidence.get("returned")) for i in found]
    assert [i[0] for i in got[30]] == codes, got
    assert all(i[3] is not True for i in got[30]), got
    for fps, found in got.items():
        assert [(i[0], i[3]) for i in found] == [(i[0], i[3]) for i in got[30]], got
        for (_, a, b, _), (_, a0, b0, _) in zip(found, got[30]):
            assert abs(a - a0) <= 1 / 15 and abs(b - b0) <= 1 / 15, got


def _bow_drifting_back_then_nod(t: np.ndarray) -> np.ndarray:
    """The head bowed 12 deg (0.5-1.0 s), held, drifting slowly back past halfway (to 5.5 deg by 2.8 s), then
    a quick nod that starts upward (9 deg up in 0.2 s, 5 back down): the shape of a real_dev talker's bow."""
    a = np.zeros((len(t), 3))
    ease = lambda u: 0.5 - 0.5 * np.cos(np.pi * np.clip(u, 0, 1))  # noqa: E731
    a[:, 1] = (12.0 * ease((t - 0.5) / 0.5) - 5.5 * ease((t - 1.6) / 0.8) - 1.0 * ease((t - 2.4) / 0.4)
               - 9.0 * ease((t - 2.8) / 0.2) + 5.0 * ease((t - 3.1) / 0.4))
    return a


def test_a_bow_that_drifts_back_halfway_has_returned_and_the_nod_after_it_is_its_own():
    """A held bow whose angle drifts back through halfway before the next swing moves has returned there
    (the module's text: a return however slowly), at every rate; the quick swing after it is the nod's.
    Before, the return had to lie within a swing's turning points: this bow read as not returned, ending
    0.3 s after it arrived (1.18 s), and on a real talker the answer flipped with the frame rate where the
    drift passed halfway a grid step before or after the next swing's turning point."""
    got = {}
    for fps in (15, 25, 30, 50, 60):
        t, angles = _sampled(fps, 4.5, _bow_drifting_back_then_nod)
        got[fps] = [(i.code, i.start_s, i.end_s, i.evidence.get("returned")) for i in
                    ha.head_actions(_pose_series(angles), t)]
    assert [(i[0], i[3]) for i in got[30]] == [("B5", True), ("B1", None)], got
    assert 2.2 <= got[30][0][2] <= 2.7, got  # where the drift passes halfway
    for fps, found in got.items():
        assert [(i[0], i[3]) for i in found] == [(i[0], i[3]) for i in got[30]], got
        for (_, a, b, _), (_, a0, b0, _) in zip(found, got[30]):
            assert abs(a - a0) <= 1 / 15 and abs(b - b0) <= 1 / 15, got


def test_still_head_and_slow_drift_give_no_action():
    rng = np.random.default_rng(1)
    t = np.arange(300) / 30
    still = rng.normal(0, 0.3, (300, 3))
    assert ha.head_actions(_pose_series(still), t) == []
    drift = still.copy()
    drift[:, 0] += np.linspace(0, 15, 300)  # 15 deg over 10 s: posture, not a turn
    assert ha.head_actions(_pose_series(drift), t) == []


def _hand_at(zone_xy, head_t, rot, rng, *, length_mm=185.0, sideways=False):
    """The six hand points (image) of a hand whose index fingertip lies at ``zone_xy`` (head frame, mm: x, y
    on the face's plane, or x, y, z), pointing up from the wrist below (or sideways, toward the person's
    left)."""
    focal, c = hp.camera(SIZE)
    tip = np.array([zone_xy[0], zone_xy[1], zone_xy[2] if len(zone_xy) > 2 else hh.FACE_PLANE_MM])
    offsets = np.array([[0, length_mm, 20], [-35, 25, 0], [0, 0, 0], [18, 5, 0], [34, 15, 0], [48, 35, 0]], float)
    if sideways:
        offsets = offsets[:, [1, 0, 2]]
    pts3 = tip + offsets
    return hp.project(pts3, rot, head_t, focal, c) + rng.normal(0, 0.5, (6, 2))


def _touch_track(zone_xy, side="right", seconds=4.0, fps=30.0, touch=(1.5, 2.7), **kw):
    """A frontal head; one hand comes from its rest 330 px below (the chest) (0.4 s) to ``zone_xy`` during
    ``touch`` and goes back (0.4 s)."""
    rng = np.random.default_rng(3)
    n = int(seconds * fps)
    t = np.arange(n) / fps
    kp = np.full((n, L.num_joints, 2), np.nan)
    sc = np.zeros((n, L.num_joints))
    hand = hh.HANDS[side]
    for i in range(n):
        pts, head_t = _head_points(0, 5, 0, 60, rng, shape_mm=0.0, noise_px=0.3, centre=(640, 200))
        kp[i, hp.HEAD_INDEX], sc[i, hp.HEAD_INDEX] = pts, 0.95
        # the hand travels 0.4 s from below the picture to the target and back
        k = np.clip((t[i] - touch[0] + 0.4) / 0.4, 0, 1) - np.clip((t[i] - touch[1]) / 0.4, 0, 1)
        target = _hand_at(zone_xy, head_t, hp.rotation_from_euler(0, 5, 0), rng, **kw)
        below = target + np.array([0, 330])
        kp[i, hand] = below + k * (target - below)
        inside = (kp[i, hand, 1] < SIZE[1]).all()
        sc[i, hand] = 0.9 if inside else 0.0
    return kp, sc, t


@pytest.mark.parametrize("zone_xy, sideways, code", [
    ((0, 30), False, "F1"), ((-32, 2), False, "F6"), ((-40, -50), True, "F7"), ((-80, 20, 60), False, "F8"),
    ((-55, 60), False, "F2"), ((0, 160), False, "E2")])
def test_hand_at_a_place_on_the_head_names_the_action(zone_xy, sideways, code):
    kp, sc, t = _touch_track(zone_xy, sideways=sideways)
    found = recognize(kp, sc, t, SIZE)
    hands = [i for i in found if i.code.startswith(("F", "E"))]
    assert [i.code for i in hands] == [code], [(i.code, i.evidence) for i in found]
    inst = hands[0]
    assert inst.evidence["hand"] == "right" and inst.evidence["arrived"]
    assert abs(inst.start_s - 1.1) <= 0.3 and abs(inst.end_s - 3.1) <= 0.3, (inst.start_s, inst.end_s)


def test_palm_over_the_mouth_is_covering_mouth():
    kp, sc, t = _touch_track((-95, 72), sideways=True)  # across the mouth, the palm over it
    found = [i for i in recognize(kp, sc, t, SIZE) if i.code.startswith("F")]
    assert [i.code for i in found] == ["F9"], [(i.code, i.evidence) for i in found]


def test_hand_in_front_of_the_face_is_no_touch():
    kp, sc, t = _touch_track((0, 30), length_mm=330.0)  # looks 1.8x a hand's length: near the camera
    assert [i for i in recognize(kp, sc, t, SIZE) if i.code.startswith(("F", "E"))] == []


def test_hand_already_at_the_face_is_an_action_that_says_so():
    kp, sc, t = _touch_track((0, 30), touch=(-1.0, 2.5))
    (inst,) = [i for i in recognize(kp, sc, t, SIZE) if i.code.startswith("F")]
    assert inst.code == "F1" and inst.start_s == 0.0 and inst.evidence["already_at_head"]


def test_demo_clips_weight_free_action(demo_run):
    """The real MA-52 clips (research licence, ../shared): B1 -> nodding, B3 -> turning head and A1 ->
    shaking body (the trunk sways 11 deg; the head turns with it, which is not B3) as the best weight-free
    action of the clip (recorded in movement.actions beside MMN's action)."""
    out, code = demo_run
    assert code == 0
    for prefix, best in {"B1_nodding": "B1", "B3_turning_head": "B3", "A1_shaking_body": "A1"}.items():
        (path,) = out.glob(f"{prefix}*.json")
        (seg,) = json.loads(path.read_text())["segments"]
        actions = seg["movement"]["actions"]
        assert actions and actions[0]["code"] == best, (path.name, actions)
        assert seg["action"]["source"] == "mmn" and actions[0]["evidence"]["amplitude_deg"] > 0


def _named(scenario):
    """(truth instance, the recognized instance overlapping it most) of a generated scenario."""
    found = recognize(scenario.keypoints, scenario.scores, scenario.times, scenario.size)
    out = []
    for truth in scenario.instances:
        best = max(found, key=lambda f: min(f.end_s, truth.end_s) - max(f.start_s, truth.start_s), default=None)
        overlaps = best is not None and min(best.end_s, truth.end_s) > max(best.start_s, truth.start_s)
        out.append((truth, best if overlaps else None))
    return out, found


def test_close_up_hands_at_the_mouth_eyes_and_nose():
    """A webcam close-up, head and top of the shoulders (tests/synthetic_actions: its own 3D person and
    camera): covering the mouth, rubbing the eyes, touching the nose are named at their times; before
    and after, no hand action."""
    from tests.synthetic_actions import Action, make_scenario

    scenario = make_scenario([Action("F9"), Action("F6"), Action("F1")], fps=30.0, framing="head_shoulders", seed=11)
    pairs, found = _named(scenario)
    for truth, best in pairs:
        assert best is not None and best.code == truth.code, (truth.code, [(f.code, f.start_s, f.end_s) for f in found])
        assert abs(best.start_s - truth.start_s) <= 0.6 and abs(best.end_s - truth.end_s) <= 0.6
    hands = [f for f in found if f.code.startswith(("F", "E"))]
    assert len(hands) == 3  # nothing where no hand is near the head


def test_generated_suite_is_named_right():
    """The generated suite's seed 5 (not used while the rules were written): head gestures and hands at
    the head together >= 90 % top-1, median onset and offset errors within 0.3 s, no action on the still
    negatives. docs/KINEMATICS.md has the per-code figures of seeds 2-4."""
    from tests.synthetic_actions import suite

    right, total, onsets, offsets = 0, 0, [], []
    for family in ("head", "head_hand"):
        for scenario in suite(family, seed=5):
            pairs, found = _named(scenario)
            if not scenario.instances and scenario.background == "still":
                assert found == [], (scenario.name, [(f.code, f.start_s) for f in found])
            for truth, best in pairs:
                if getattr(truth, "visible_s", None) == 0:
                    continue  # the acting hand never in the picture
                total += 1
                if best is not None and best.code == truth.code:
                    right += 1
                    onsets.append(abs(best.start_s - truth.start_s))
                    offsets.append(abs(best.end_s - truth.end_s))
    assert right / total >= 0.9, (right, total)
    assert np.median(onsets) <= 0.3 and np.median(offsets) <= 0.3, (np.median(onsets), np.median(offsets))


def test_classify_names_weight_free_actions_without_a_checkpoint(tmp_path, capsys):
    """``microaction-classify`` runs the same weight-free recognizer on skeletons you have: a generated
    nod saved as .npy, its frame rate and picture size given."""
    from pipeline import classify
    from tests.synthetic_actions import Action, make_scenario

    scenario = make_scenario([Action("B1")], fps=25.0, framing="head_shoulders", seed=3)
    np.save(tmp_path / "nod.npy", scenario.keypoints)
    w, h = scenario.size
    assert classify.main([str(tmp_path / "nod.npy"), "--fps", "25", "--size", f"{w}x{h}"]) == 0
    out = capsys.readouterr().out
    assert "B1" in out and "nodding" in out and "No --checkpoint" in out
    assert classify.main([str(tmp_path / "nod.npy"), "--size", "wide"]) == 2
    assert "--size must be WIDTHxHEIGHT" in capsys.readouterr().out
