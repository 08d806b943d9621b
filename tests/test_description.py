"""The weight-free movement description (pipeline.description): body part, touch events and resting
contacts, movement episodes, on the labelled synthetic suite (tests/synthetic_motions.py), on
generated edge cases and on the real demo clips; and the fields in every export."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from pipeline import description, motion
from pipeline.export import CSV_COLUMNS, validate
from tests.synthetic_motions import SIZE, SUITE, Movement, contact_start, evaluate, scenario


@pytest.fixture(scope="module")
def suite():
    return evaluate()


def test_body_part_of_synthetic_movements(suite):
    rows = suite["rows"]
    right = [r for r in rows if r.get("part_ok")]
    assert len(right) >= 0.9 * len(rows), [(r["movement"], r.get("body_part")) for r in rows if not r.get("part_ok")]


def test_episode_edges_and_one_episode_per_movement(suite):
    assert all(r["found"] for r in suite["rows"])
    for r in suite["rows"]:
        assert abs(r["start_err"]) <= 0.3 and abs(r["end_err"]) <= 0.3, r
    # back-to-back movements (three pairs in the suite) give one episode each, and nothing else is found
    assert suite["episodes"] == len(SUITE) and suite["extra"] == 0


def test_touch_to_the_face_is_head_hand_and_resting_hands_never_touch(suite):
    faces = [r for r in suite["rows"] if r["movement"].kind == "hand_to_face"]
    assert faces and all(r["body_part"] == "head-hand" for r in faces)
    assert all(err <= 0.3 for err in suite["face_touch_errors"])
    # the hands rest on the lap the whole time otherwise (and the right hand comes back to it)
    assert all(t["target"] == "face/head" and t["hand"] == "right" for t in suite["touches"])
    assert len(suite["touches"]) == len(faces)


def _describe(movements, seconds, **kw):
    kp, sc, t = scenario(movements, seconds, **kw)
    scale = motion.body_scale(kp)
    desc = description.describe_track(kp, sc, t, SIZE, scale)
    return desc, kp, sc, t, scale


def test_still_person_gives_no_episode_and_resting_contacts_only():
    desc, *_ = _describe([], 20.0, seed=7)
    assert description.episodes(desc, motion.STILL_THRESHOLD) == []
    assert [e for e in desc.touches if e["kind"] == "touch"] == []
    assert {(r["hand"], r["target"]) for r in desc.resting} == {("left", "legs"), ("right", "legs")}
    assert all(r["start_s"] == 0.0 and r["end_s"] == pytest.approx(20.0) for r in desc.resting)


def test_sway_with_hands_on_the_lap_is_body_not_arms():
    desc, kp, sc, t, scale = _describe([Movement("sway", 2.0, 4.0)], 6.0)
    (a, b), = description.episodes(desc, motion.STILL_THRESHOLD)
    d = description.describe(desc, kp, motion.ReliableMask(kp, sc, *SIZE), a, b, scale)
    assert d["body_part"] == "body"
    assert d["part_energy"]["upper limb"] < 0.2 * d["part_energy"]["body"]  # the arms are carried
    assert d["touch_events"] == [] and d["resting_contacts"]
    assert sum(d["body_part_scores"].values()) == pytest.approx(1.0, abs=1e-3)


def test_touch_and_leave_events():
    m = Movement("hand_to_face", 2.0, 4.0)
    desc, *_ = _describe([m], 6.0)
    kinds = [(e["kind"], e["hand"], e["target"]) for e in desc.touches]
    assert kinds == [("leave", "right", "legs"), ("touch", "right", "face/head")]
    touch = desc.touches[1]
    assert abs(touch["start_s"] - contact_start(m)) <= 0.3
    assert 3.0 < touch["end_s"] < 4.0  # the hand leaves the face in the last half second
    # back on the lap: a resting contact again, not a touch of the legs
    assert any(r["hand"] == "right" and r["target"] == "legs" and r["start_s"] > 3.5 for r in desc.resting)


def test_contact_hysteresis_ignores_flicker_at_the_threshold():
    t = np.arange(300) / 30.0
    d = np.full((300, 2, len(motion.TARGETS)), 1.0, np.float32)
    k = list(motion.TARGETS).index("legs")
    d[:, 0, k] = motion.CONTACT_DISTANCE + np.where(np.arange(300) % 4 < 2, -0.02, 0.05)  # 0.18 / 0.25
    touches, resting = description.contact_events(d, t)
    assert touches == [] and len(resting) == 1 and resting[0]["end_s"] == pytest.approx(10.0)


def test_long_continuous_movement_is_split_at_micro_action_scale():
    moves = [Movement("shake_leg", 1.0, 9.0)]  # 8 s of leg shaking without a pause
    desc, *_ = _describe(moves, 10.0)
    eps = description.episodes(desc, motion.STILL_THRESHOLD)
    spans = [(desc.times[b - 1] - desc.times[a]) for a, b in eps]
    assert len(eps) >= 3 and max(spans) <= description.MAX_EPISODE_S


def test_demo_clips_body_part(demo_run):
    out, code = demo_run
    assert code == 0
    expected = {"A1_shaking_body": "body", "B1_nodding": "head", "B3_turning_head": "head"}
    for prefix, part in expected.items():
        (path,) = out.glob(f"{prefix}*.json")
        doc = json.loads(path.read_text())
        validate(doc)
        (seg,) = doc["segments"]
        assert seg["movement"]["body_part"] == part, (path.name, seg["movement"])
        assert seg["movement"]["touch_events"] == []  # hands rest on the lap in all three
        assert {c["target"] for c in seg["movement"]["resting_contacts"]} == {"legs"}
        rows = list(csv.DictReader((out / path.name.replace(".json", ".csv")).open()))
        assert list(rows[0]) == CSV_COLUMNS
        assert rows[0]["body_part"] == part and float(rows[0]["body_part_score"]) > 0
        assert "left-legs@" in rows[0]["resting_contacts"] and rows[0]["touch_events"] == ""
