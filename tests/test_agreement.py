"""microaction-agree: event matching and measures on hand-computed cases, frame-level kappa against
scikit-learn, Krippendorff's alpha against the published worked example, the sources' errors, and the
workflow from an unrelated folder (two ELAN coders and the tool's record, HTML in headless Chromium)."""
from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agreement import cli, measures
from agreement.measures import Span
from agreement.sources import tool_labels
from tests import browser
from tests.helpers import BIN, blank_video, cmd

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------ inputs

def write_eaf(path: Path, tiers: dict[str, list[tuple[float, float, str]]], media: str = "interview1.mp4") -> Path:
    """An ELAN file as ELAN writes it (pympi-ling), linked to ``media`` beside it."""
    import pympi

    eaf = pympi.Elan.Eaf(author="test")
    eaf.add_linked_file((path.parent / media).resolve().as_uri(), relpath=media, mimetype="video/mp4")
    eaf.remove_tier("default")
    for tier, anns in tiers.items():
        eaf.add_tier(tier)
        for a, b, value in anns:
            eaf.add_annotation(tier, int(round(a * 1000)), int(round(b * 1000)), value)
    path.parent.mkdir(parents=True, exist_ok=True)
    eaf.to_file(str(path))
    return path


def write_csv(path: Path, rows: list[tuple], header=("start_s", "end_s", "label")) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def record(video: str, duration: float, segments: list[tuple[float, float, str | None, str | None]],
           model: bool = True) -> dict:
    """A record of this tool (schema-valid): segments (start, end, action code, body part) of person 0,
    the interviewee; a second person with a segment that must not be read."""
    from definitions.labels import ma52_labels

    labels = ma52_labels()

    def seg(pid, a, b, code, part):
        act = labels.by_code(code) if code and model else None  # no model: no actions
        scores = {p: 0.0 for p in ("body", "head", "upper limb", "lower limb", "body-hand", "head-hand", "leg-hand")}
        if part:
            scores[part] = 1.0
        return {"person": pid, "start_s": a, "end_s": b, "duration_s": round(b - a, 3), "windows": 1,
                "action": {"id": act.id, "code": act.code, "name": act.name, "probability": 0.8,
                           "source": "mmn"} if act else None,
                "body": {"id": act.body_id, "name": act.body_name, "source": "mmn"} if act else None,
                "top5": [{"id": act.id, "code": act.code, "name": act.name, "probability": 0.8,
                          "body_id": act.body_id}] if act else [],
                "movement": {"body_part": part, "body_part_scores": scores,
                             "part_energy": {"body": 0.1, "head": 0.1, "upper limb": 0.1, "lower limb": 0.0},
                             "motion_energy": 0.2, "region_energy": {r: 0.1 for r in ("head", "torso", "arms/hands",
                                                                                        "legs")},
                             "touch_events": [], "resting_contacts": [], "actions": []}}

    segs = [seg(0, *s) for s in segments] + [seg(1, 0.0, duration, "A1" if model else None, "body")]
    return {"schema_version": 3, "tool": {"name": "microaction-finder", "version": "0.1.0"},
            "video": {"file": f"{video}.mp4", "path": f"{video}.mp4", "fingerprint": "x", "duration_s": duration,
                      "fps": 10.0, "num_frames": int(duration * 10), "width": 96, "height": 64, "rotation": 0,
                      "codec": "h264"},
            "pose": {"backend": "mediapipe", "settings": {}, "stabilizer": {}, "cache": None,
                     "persons": [{"id": p, "frames_seen": 10, "presence": 1.0, "mean_area_px": 1.0,
                                  "subject": p == 0, "analysed": True} for p in (0, 1)]},
            "model": {"checkpoints": [{"file": "j.pt", "sha256": "0" * 64, "format": "official", "stream": "joint",
                                       "num_joints": 44, "num_classes": 52}], "fusion": "single stream",
                      "labels": "MA-52", "device": "cpu"} if model else None,
            "analysis": {"mode": "long", "requested_mode": "auto", "window_s": 2.0, "stride_s": 1.0,
                         "still_threshold": 0.06, "smooth_s": 0.1, "person": "all"},
            "shots": [{"start_s": 0.0, "end_s": duration, "first_frame": 0}],
            "segments": segs, "windows": [], "notes": [], "settings_key": "k", "timing": {}}


def run(args: list, capsys) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def rows_of(out: Path) -> dict[tuple, dict]:
    with open(out / "agreement.csv", newline="") as f:
        return {(r["video"], r["level"], r["category"]): r for r in csv.DictReader(f)}


def num(text: str) -> float:
    return float(text) if text else math.nan


# ------------------------------------------------------------------------------------ matching

def test_iou_edge_cases():
    def iou(a, b):
        return measures.iou_matrix([Span(*a, 0)], [Span(*b, 0)])[0, 0]

    assert iou((0, 2), (1, 2)) == 0.5  # exactly 0.5: matched at 0.5
    assert iou((0, 10), (3, 6)) == pytest.approx(0.3)
    assert iou((0, 1), (1, 2)) == 0.0  # touching is no overlap
    assert iou((0, 3), (0, 1)) == pytest.approx(1 / 3)
    assert iou((1, 2), (1, 2)) == 1.0
    for a, b, at_03, at_05 in [((0, 2), (1, 2), True, True), ((0, 10), (3, 6), True, False),
                               ((0, 1), (0.7, 1.7), False, False),  # 0.3 / 1.7 = 0.18
                               ((0.1, 0.4), (0.1, 1.1), True, False),  # times in ms: 0.3 / 1.0, a float that is not 0.3
                               ((0, 1), (1, 2), False, False)]:
        for thr, expected in ((0.3, at_03), (0.5, at_05)):
            assert bool(measures.match([Span(*a, 0)], [Span(*b, 0)], thr)) is expected, (a, b, thr)


def _greedy(ref, other, thr):
    """Best IoU first, as many detection benchmarks do."""
    iou = measures.iou_matrix(ref, other)
    pairs, used_r, used_o = [], set(), set()
    for r, o in sorted(np.ndindex(iou.shape), key=lambda ij: -iou[ij]):
        if iou[r, o] >= thr and r not in used_r and o not in used_o:
            pairs.append((r, o))
            used_r.add(r)
            used_o.add(o)
    return pairs


def test_one_to_one_matching_where_greedy_is_wrong():
    # reference A 0-2, B 1.2-3.2; other X 0.8-2.8, Y 2.0-4.0. IoU(B, X) = 1.6 / 2.4 = 0.667 is the best pair,
    # but taking it leaves A (IoU with Y: 0) and Y (IoU with B: 1.2 / 2.8 = 0.43) alone; A-X (1.2 / 2.8 = 0.43)
    # and B-Y together give two pairs
    ref = [Span(0.0, 2.0, 1), Span(1.2, 3.2, 1)]
    other = [Span(0.8, 2.8, 1), Span(2.0, 4.0, 1)]
    iou = measures.iou_matrix(ref, other)
    assert iou[1, 0] == pytest.approx(1.6 / 2.4) and iou[0, 0] == pytest.approx(1.2 / 2.8)
    assert iou[1, 1] == pytest.approx(1.2 / 2.8) and iou[0, 1] == 0
    assert len(_greedy(ref, other, 0.3)) == 1
    assert sorted(measures.match(ref, other, 0.3)) == [(0, 0), (1, 1)]
    # at 0.5 only B-X is left
    assert measures.match(ref, other, 0.5) == [(1, 0)]
    # one to one: two others on one reference event match once, the better one
    assert measures.match([Span(0, 2, 1)], [Span(0.5, 2, 1), Span(0, 2, 1)], 0.3) == [(0, 1)]
    # categories: the same times in another category match only category-agnostic
    assert measures.match([Span(0, 2, 1)], [Span(0, 2, 2)], 0.3) == []
    assert measures.match([Span(0, 2, 1)], [Span(0, 2, 2)], 0.3, same_category=False) == [(0, 0)]


def test_counts_times_and_confusion():
    ref = [Span(0, 1, 1), Span(0.5, 2, 1), Span(5, 6, 2)]
    other = [Span(0.2, 1.2, 1), Span(5, 6.5, 3)]
    pairs = measures.match(ref, other, 0.3, same_category=False)
    assert sorted(pairs) == [(0, 0), (2, 1)]
    assert measures.overlapping(ref) == [1]
    assert measures.coded_seconds(ref) == {1: 2.0, 2: 1.0}  # 0-1 and 0.5-2 overlap: 2 s, not 2.5
    conf = measures.confusion(ref, other, pairs, [1, 2, 3])
    assert conf.tolist() == [[1, 0, 0, 1], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    c = measures.event_counts(ref, other, measures.match(ref, other, 0.3), 1)
    assert (c.n_reference, c.n_other, c.matched) == (2, 1, 1)
    assert (c.precision, c.recall, c.f1) == (1.0, 0.5, pytest.approx(2 / 3))
    assert math.isnan(measures.EventCounts(0, 0, 0).f1) and measures.EventCounts(2, 0, 0).f1 == 0


def test_frames_centre_rule_and_overlaps():
    # 10 fps: frame k covers [k/10, (k+1)/10); an event 0.25-0.55 covers the centres 0.25, 0.35, 0.45
    labels = measures.frame_labels([Span(0.25, 0.55, 4)], measures.frame_count(1.0, 10), 10)
    assert labels.tolist() == [-1, -1, 4, 4, 4, -1, -1, -1, -1, -1]
    # overlapping on one tier: the later start holds the shared frames
    labels = measures.frame_labels([Span(0.0, 0.6, 1), Span(0.3, 0.9, 2)], 10, 10)
    assert labels.tolist() == [1, 1, 1, 2, 2, 2, 2, 2, 2, -1]
    assert measures.frame_count(8.0, 25) == 200 and measures.frame_count(8.01, 25) == 201


# ------------------------------------------------------------------------------------ reliability

def test_krippendorff_alpha_worked_example():
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the nominal example: 4 observers,
    12 units, missing values; alpha = 0.743."""
    n = np.nan
    data = np.array([[1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n],
                     [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
                     [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n],
                     [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n]])
    assert round(measures.krippendorff_alpha(data), 3) == 0.743
    assert math.isnan(measures.krippendorff_alpha(np.ones((3, 5))))  # one label only: undefined


def test_krippendorff_alpha_equals_the_package():
    """The tool computes alpha from [coders, units] (the package keeps [units, labels, labels]): the same
    numbers on random codings with missing values, 2-5 coders, 2-6 labels."""
    import krippendorff

    rng = np.random.default_rng(7)
    for _ in range(25):
        coders, units, values = rng.integers(2, 6), rng.integers(5, 300), rng.integers(2, 7)
        data = rng.integers(0, values, (coders, units)).astype(float)
        agree = rng.random((coders, units)) < rng.random()  # some agreement beyond chance
        data[agree] = np.broadcast_to(data[0], data.shape)[agree]
        data[rng.random((coders, units)) < 0.2] = np.nan
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        assert measures.krippendorff_alpha(data) == pytest.approx(expected, abs=1e-12)
        # as the tool runs it: distinct units with their counts; one label against the rest
        patterns, counts = measures.unit_patterns(data)
        assert measures.krippendorff_alpha(patterns, counts) == pytest.approx(expected, abs=1e-12)
        one = krippendorff.alpha(reliability_data=measures.binary(data, 1), level_of_measurement="nominal")
        assert measures.krippendorff_alpha(measures.binary(patterns, 1), counts) == pytest.approx(one, abs=1e-12)


def test_kappa_equals_scikit_learn():
    """Kappa from one contingency table per pair (each category's as a 2 x 2 view of it) is scikit-learn's
    cohen_kappa_score on the frames."""
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(3)
    for _ in range(25):
        n, k = rng.integers(10, 500), rng.integers(2, 8)
        a = rng.integers(-1, k, n)
        b = np.where(rng.random(n) < rng.random(), a, rng.integers(-1, k, n))
        values = np.union1d(a, b)
        table = measures.contingency(a, b, values)
        assert measures.kappa(table) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
        for i, v in enumerate(values):
            expected = cohen_kappa_score(a == v, b == v) if len(np.union1d(a == v, b == v)) > 1 else math.nan
            assert measures.kappa(measures.one_against_rest(table, i)) == pytest.approx(expected, abs=1e-12,
                                                                                         nan_ok=True)
    assert math.isnan(measures.kappa(measures.contingency(np.zeros(5), np.zeros(5), np.array([0.0]))))


REF = [(1.0, 2.0, "B1"), (4.0, 5.0, "Nodding (unsure)"), (6.0, 8.0, "C5 waving"), (10.0, 11.0, "F1")]
OTHER = [(1.2, 2.2, "b1"), (4.1, 5.1, "B2"), (6.5, 9.5, "waving"), (12.0, 13.0, "touching nose"),
         (20.0, 21.0, "G1")]


def _frames_by_hand(events, fps, n):
    """Each frame's label by its centre, written out here independently of the tool."""
    out = []
    for k in range(n):
        t = (k + 0.5) / fps
        hits = [lab for a, b, lab in events if a <= t < b]
        out.append(hits[-1] if hits else "nothing")
    return out


@pytest.mark.parametrize("fps", [25.0, 10.0])
def test_hand_computed_case(tmp_path, capsys, fps):
    ref = write_csv(tmp_path / "a" / "v.csv", REF)
    other = write_csv(tmp_path / "b" / "v.csv", OTHER)
    code, out, err = run([ref, other, "--out", tmp_path / "out", "--fps", fps], capsys)
    assert code == 0, err
    rows = rows_of(tmp_path / "out")
    r = {k[2]: v for k, v in rows.items() if k[:2] == ("v", "action")}
    # B1: reference 2 (1-2, 4-5), other 1 (1.2-2.2, IoU 0.8 / 1.2); B2: other's 4.1-5.1 is another action
    assert (r["B1"]["n_reference"], r["B1"]["n_other"], r["B1"]["matched@0.3"]) == ("2", "1", "1")
    assert num(r["B1"]["precision@0.3"]) == 1 and num(r["B1"]["recall@0.3"]) == 0.5
    assert num(r["B1"]["f1@0.3"]) == pytest.approx(2 / 3, abs=1e-4)
    assert num(r["B2"]["precision@0.3"]) == 0 and r["B2"]["recall@0.3"] == ""  # no reference event: no recall
    # C5: 6-8 vs 6.5-9.5, IoU 1.5 / 3.5 = 0.43: matched at 0.3, not at 0.5
    assert (r["C5"]["matched@0.3"], r["C5"]["matched@0.5"]) == ("1", "0")
    assert num(r["F1"]["f1@0.3"]) == 0 and num(r["G1"]["precision@0.3"]) == 0
    # ALL: 2 of 4 reference events found at 0.3, 2 of other's 5 right; 1 at 0.5
    assert num(r["ALL"]["precision@0.3"]) == 0.4 and num(r["ALL"]["recall@0.3"]) == 0.5
    assert num(r["ALL"]["f1@0.3"]) == pytest.approx(4 / 9, abs=1e-4)
    assert num(r["ALL"]["f1@0.5"]) == pytest.approx(2 / 9, abs=1e-4)
    # onsets |1-1.2|, |6-6.5|; offsets |2-2.2|, |8-9.5|: median and 90th percentile (linear)
    assert num(r["ALL"]["onset_median_s"]) == pytest.approx(0.35)
    assert num(r["ALL"]["onset_p90_s"]) == pytest.approx(0.47)
    assert num(r["ALL"]["offset_median_s"]) == pytest.approx(0.85)
    assert num(r["ALL"]["offset_p90_s"]) == pytest.approx(1.37)
    # ANY: B1-B2 at 4 s counts too (IoU 0.9 / 1.1): 3 pairs at 0.3 (C5 included), 2 at 0.5
    assert (r["ANY"]["matched@0.3"], r["ANY"]["matched@0.5"]) == ("3", "2")
    assert num(r["ANY"]["recall@0.3"]) == 0.75 and num(r["ANY"]["onset_median_s"]) == pytest.approx(0.2)
    # body parts from the actions: head 2 vs 2 (both pairs at 0.5), upper limb (C5), head-hand (F1), leg-hand (G1)
    b = {k[2]: v for k, v in rows.items() if k[:2] == ("v", "body_part")}
    assert (b["head"]["matched@0.5"], num(b["head"]["f1@0.5"])) == ("2", 1.0)
    assert (b["ALL"]["n_reference"], b["ALL"]["n_other"], b["ALL"]["matched@0.3"]) == ("4", "5", "3")
    # coded time per category and source
    assert num(r["B1"]["reference_s"]) == 2.0 and num(r["B1"]["other_s"]) == 1.0
    assert num(b["head"]["other_s"]) == 2.0
    # frames: the video's length is not known: to the last annotation's end (21 s)
    n = round(21 * fps)
    assert r["ALL"]["frames"] == str(n)
    from sklearn.metrics import cohen_kappa_score

    ref_frames = _frames_by_hand([(a, b, lab) for a, b, lab in
                                  [(1, 2, "B1"), (4, 5, "B1"), (6, 8, "C5"), (10, 11, "F1")]], fps, n)
    other_frames = _frames_by_hand([(1.2, 2.2, "B1"), (4.1, 5.1, "B2"), (6.5, 9.5, "C5"), (12, 13, "F1"),
                                    (20, 21, "G1")], fps, n)
    assert num(r["ALL"]["kappa"]) == pytest.approx(cohen_kappa_score(ref_frames, other_frames), abs=1e-4)
    b1 = cohen_kappa_score([x == "B1" for x in ref_frames], [x == "B1" for x in other_frames])
    assert num(r["B1"]["kappa"]) == pytest.approx(b1, abs=1e-4)
    anything = cohen_kappa_score([x != "nothing" for x in ref_frames], [x != "nothing" for x in other_frames])
    assert num(r["ANY"]["kappa"]) == pytest.approx(anything, abs=1e-4)
    # one video: the pooled rows are the video's
    assert {k: v for k, v in rows[("ALL", "action", "ALL")].items() if k != "video"} == \
        {k: v for k, v in r["ALL"].items() if k != "video"}
    assert "Action level" in out and "ANY" in out


def test_pooled_over_videos_and_three_coders(tmp_path, capsys):
    """Two videos pool their events and frames; three coders (one CSV with a coder column on the reference
    side): each reference coder against the other, and alpha over all three."""
    rows_ref = [("v1", "A", 0, 1, "B1"), ("v1", "B", 0.1, 1.1, "B1"), ("v1", "A", 2, 3, "B2"),
                ("v2", "A", 0, 2, "F1"), ("v2", "B", 0, 2, "F1")]
    ref = write_csv(tmp_path / "ref.csv", rows_ref, header=("video", "coder", "start_s", "end_s", "label"))
    other = write_csv(tmp_path / "other" / "v1.csv", [(0, 1, "B1"), (2, 3, "B1")])
    write_csv(tmp_path / "other" / "v2.csv", [(0.5, 2, "F1")])
    code, out, err = run([ref, tmp_path / "other", "--out", tmp_path / "out", "--fps", 10], capsys)
    assert code == 0, err
    with open(tmp_path / "out" / "agreement.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pooled = {(r["reference"], r["level"], r["category"]): r for r in rows if r["video"] == "ALL"}
    a = pooled[("ref.csv [A]", "action", "ALL")]
    assert (a["n_reference"], a["n_other"], a["matched@0.3"]) == ("3", "3", "2")  # B2 vs B1 at 2-3 s
    assert a["coders"] == "3"
    # alpha over the three coders' frames of both videos (v1 to 3 s, v2 to 2 s), built by hand
    import krippendorff

    codes = {"nothing": 0, "B1": 1, "B2": 2, "F1": 3}
    coders = {"A": [(0, 1, "B1"), (2, 3, "B2")], "B": [(0.1, 1.1, "B1")], "O": [(0, 1, "B1"), (2, 3, "B1")]}
    v2 = {"A": [(0, 2, "F1")], "B": [(0, 2, "F1")], "O": [(0.5, 2, "F1")]}
    matrix = [[codes[x] for x in _frames_by_hand(coders[c], 10, 30) + _frames_by_hand(v2[c], 10, 20)]
              for c in ("A", "B", "O")]
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert num(a["alpha"]) == pytest.approx(expected, abs=1e-4)
    assert pooled[("ref.csv [B]", "action", "ALL")]["alpha"] == a["alpha"]
    per_video = [r for r in rows if r["video"] == "v1" and r["category"] == "ALL" and r["level"] == "action"]
    assert sorted(r["reference"] for r in per_video) == ["ref.csv [A]", "ref.csv [B]"]


# ------------------------------------------------------------------------------------ sources

def test_tool_record_reading(tmp_path, capsys):
    """The record's action (whatever its source) and body (else the movement's body part); only the
    interviewee's segments; without a model, body parts only."""
    seg = {"action": {"id": 9, "code": "B1", "name": "nodding", "source": "kinematics"},
           "body": {"id": 1, "name": "head", "source": "kinematics"},
           "movement": {"body_part": "upper limb", "actions": [{"id": 9, "code": "B1"}]}}
    assert tool_labels(seg) == ("B1", "head")
    assert tool_labels({"action": None, "body": None, "movement": {"body_part": "head-hand"}}) == (None, "head-hand")
    from pipeline.export import validate

    doc = record("interview1", 20.0, [(1.0, 2.0, "B1", "head"), (5.0, 6.0, None, "head-hand")], model=False)
    validate(doc)
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "interview1.json").write_text(json.dumps(doc))
    coder = write_eaf(tmp_path / "c" / "interview1.eaf", {"actions": [(1.1, 2.0, "B1"), (5.0, 6.2, "F2")]})
    code, out, err = run([coder, tmp_path / "r", "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    rows = rows_of(tmp_path / "out")
    assert ("interview1", "action", "ALL") not in rows  # the record names body parts only
    assert "action level not compared" in out and "name body parts only" in out
    body = rows[("interview1", "body_part", "ALL")]
    assert (body["n_reference"], body["n_other"], body["matched@0.5"]) == ("2", "2", "2")  # person 1 left out
    assert body["frames"] == str(20 * 25)  # to the video's end, known from the record
    # the whole video from 0 to 20 s, person 1's segment included: --person all
    code, out, err = run([coder, tmp_path / "r", "--person", "all", "--out", tmp_path / "out2"], capsys)
    assert rows_of(tmp_path / "out2")[("interview1", "body_part", "ALL")]["n_other"] == "3"


def test_errors_name_file_and_place(tmp_path, capsys):
    eaf = write_eaf(tmp_path / "v.eaf", {"coder A": [(0, 1, "B1")], "coder B": [(0, 1, "nodding")],
                                         "empty": []})
    # a tier that does not exist: the tiers there are
    code, _, err = run([eaf, eaf, "--reference-tier", "coder C", "--other-tier", "coder B"], capsys)
    assert code == 2 and "no tier 'coder C' (tiers: 'coder A', 'coder B', 'empty')" in err
    code, _, err = run([eaf, eaf, "--reference-tier", "empty", "--other-tier", "coder B"], capsys)
    assert code == 2 and "tier 'empty' holds no annotations" in err
    code, _, err = run([eaf, eaf], capsys)
    assert code == 2 and "choose with --reference-tier" in err
    # a label outside the label set: ELAN annotation id; CSV line
    bad = write_eaf(tmp_path / "bad.eaf", {"t": [(0, 1, "B1"), (2, 3, "noding")]})
    import pympi

    aid = next(k for k, v in pympi.Elan.Eaf(str(bad)).tiers["t"][0].items() if v[2] == "noding")
    code, _, err = run([bad, eaf, "--other-tier", "coder A"], capsys)
    assert code == 2 and f"tier 't' annotation {aid} (2.000-3.000 s): label 'noding' is not in the label set" \
        in " ".join(err.split())
    bad_csv = write_csv(tmp_path / "bad.csv", [(0, 1, "B1"), (2, 3, "B1"), (4, 5, "B9")])
    code, _, err = run([bad_csv, eaf, "--other-tier", "coder A"], capsys)
    assert code == 2 and f"{bad_csv}:4: label 'B9' is not in the label set" in " ".join(err.split())
    # time units: columns without a unit; milliseconds against a video of known length
    no_unit = write_csv(tmp_path / "nounit.csv", [(0, 1000, "B1")], header=("start", "end", "label"))
    code, _, err = run([no_unit, eaf, "--other-tier", "coder A"], capsys)
    assert code == 2 and "do not say their unit" in err
    code, _, err = run([no_unit, eaf, "--other-tier", "coder A", "--time-unit", "ms"], capsys)
    assert code == 0, err
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "v.json").write_text(json.dumps(record("v", 5.0, [(0.0, 1.0, "B1", "head")])))
    in_ms = write_csv(tmp_path / "ms" / "v.csv", [(0, 1000, "B1")])
    code, _, err = run([in_ms, tmp_path / "r" / "v.json"], capsys)
    assert code == 2 and "ends at 1000.000 s, past the end of the video (5.000 s, from v.json)" in " ".join(err.split())
    assert "milliseconds" in err
    # start after end, a time that is no number
    code, _, err = run([write_csv(tmp_path / "rev.csv", [(2, 1, "B1")]), eaf, "--other-tier", "coder A"], capsys)
    assert code == 2 and "rev.csv:2: ends at 1.0 s, not after its start (2.0 s)" in " ".join(err.split())
    code, _, err = run([write_csv(tmp_path / "txt.csv", [("1,5", 2, "B1")]), eaf, "--other-tier", "coder A"], capsys)
    assert code == 2 and "txt.csv:2: column start_s: '1,5' is not a time" in " ".join(err.split())


def test_overlaps_unmatched_and_mapping(tmp_path, capsys):
    # overlapping annotations on one tier are allowed and said how they count
    ref = write_eaf(tmp_path / "anna" / "v1.eaf", {"actions": [(0, 2, "B1"), (1, 3, "F1"), (5, 6, "B1")]},
                    media="v1.mp4")
    write_eaf(tmp_path / "anna" / "v2.eaf", {"actions": [(0, 1, "B1")]}, media="v2.mp4")
    # the lab's own scheme, mapped to MA-52 body parts; "speaking" left out
    lab = write_csv(tmp_path / "lab" / "v1.csv", [(0, 2, "nod"), (1.2, 3, "self-touch face"), (5, 6, "nod"),
                                                 (7, 8, "speaking")])
    write_csv(tmp_path / "lab" / "v3.csv", [(0, 1, "nod")])
    mapping = tmp_path / "map.tsv"
    mapping.write_text("# lab -> MA-52 body parts\nfrom\tto\nnod\thead\nself-touch face\thead-hand\nspeaking\t-\n")
    code, out, err = run([tmp_path / "anna", tmp_path / "lab", "--reference-tier", "actions", "--map", mapping,
                          "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    text = " ".join(out.split())
    assert re.search(r"anna \[actions\], v1: 1 annotations overlap an earlier one on the same tier "
                     r"\(annotation a\d+ \(1\.000-3\.000 s\)\)", text), text
    assert "frames they share take the label of the one that started later" in text
    assert f"v2: only in REFERENCE ({tmp_path / 'anna' / 'v2.eaf'})" in text
    assert f"v3: only in OTHER ({tmp_path / 'lab' / 'v3.csv'})" in text
    assert "1 annotations mapped to nothing: left out" in text
    rows = rows_of(tmp_path / "out")
    assert ("v1", "action", "ALL") not in rows  # the lab's scheme maps to body parts only
    body = rows[("v1", "body_part", "ALL")]
    assert (body["n_reference"], body["n_other"], body["matched@0.5"]) == ("3", "3", "3")
    # a mapping to a label that is not in the label set
    mapping.write_text("from\tto\nnod\tnoding\n")
    code, _, err = run([tmp_path / "anna", tmp_path / "lab", "--reference-tier", "actions", "--map", mapping], capsys)
    assert code == 2 and f"{mapping}:2: maps 'nod' to 'noding', which is not in the label set" in " ".join(err.split())


def test_coders_as_tiers_of_one_file(tmp_path, capsys):
    """Three coders as tiers of one ELAN file, chosen by a pattern on both sides: each pair once, alpha of
    all three; the tier of another kind (a reference tier of glosses) read with its parent's times."""
    import pympi

    path = tmp_path / "v.eaf"
    write_eaf(path, {"coder1": [(0, 1, "B1"), (2, 3, "F1")], "coder2": [(0.1, 1, "B1"), (2, 3, "F2")],
                     "coder3": [(0, 1.1, "B1")], "notes": [(5, 6, "B1")]}, media="v.mp4")
    eaf = pympi.Elan.Eaf(str(path))
    eaf.add_linguistic_type("gloss", "Symbolic_Association", timealignable=False)
    eaf.add_tier("coder3 gloss", ling="gloss", parent="coder3")
    eaf.add_ref_annotation("coder3 gloss", "coder3", 500, "nodding")
    eaf.to_file(str(path))
    code, out, err = run([path, path, "--reference-tier", "coder?", "--other-tier", "coder?", "--out",
                          tmp_path / "out"], capsys)
    assert code == 0, err
    with open(tmp_path / "out" / "agreement.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if (r["video"], r["level"], r["category"]) == ("v", "action", "ALL")]
    assert sorted((r["reference"], r["other"]) for r in rows) == [("v.eaf [coder1]", "v.eaf [coder2]"),
                                                                  ("v.eaf [coder1]", "v.eaf [coder3]"),
                                                                  ("v.eaf [coder2]", "v.eaf [coder3]")]
    assert {r["coders"] for r in rows} == {"3"} and len({r["alpha"] for r in rows}) == 1
    code, out, err = run([path, path, "--reference-tier", "coder3 gloss", "--other-tier", "coder3",
                          "--out", tmp_path / "out2"], capsys)
    gloss = rows_of(tmp_path / "out2")[("v", "action", "ALL")]
    assert (gloss["n_reference"], gloss["matched@0.5"]) == ("1", "1")


def test_elan_time_origin(tmp_path, capsys):
    """ELAN's times are the linked video's times less its time origin: the origin is added."""
    import pympi

    eaf = pympi.Elan.Eaf()
    eaf.add_linked_file("file:///elsewhere/v.mp4", relpath="v.mp4", mimetype="video/mp4", time_origin=500)
    eaf.add_tier("t")
    eaf.add_annotation("t", 1000, 2000, "B1")
    eaf.to_file(str(tmp_path / "coder.eaf"))
    ref = write_csv(tmp_path / "v.csv", [(1.5, 2.5, "B1")])
    code, out, err = run([ref, tmp_path / "coder.eaf", "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    r = rows_of(tmp_path / "out")[("v", "action", "ALL")]
    assert r["matched@0.5"] == "1" and num(r["onset_median_s"]) == 0 and num(r["offset_median_s"]) == 0
    assert "time origin (0.500 s) is added" in " ".join(out.split())


def test_folder_keeps_going(tmp_path, capsys):
    """In folders, a file that cannot be read fails alone (named, exit 1); the tool's CSV and ELAN
    exports beside its record and other CSVs (its summary) are passed over and said so."""
    (tmp_path / "r").mkdir()
    for name in ("v1", "v2"):
        (tmp_path / "r" / f"{name}.json").write_text(json.dumps(record(name, 10.0, [(1.0, 2.0, "B1", "head")])))
        (tmp_path / "r" / f"{name}.csv").write_text("video,start_s\n")
        (tmp_path / "r" / f"{name}.eaf").write_text("<not elan/>")
    (tmp_path / "r" / "summary.csv").write_text("video,status\nv1.mp4,done\n")
    (tmp_path / "r" / "alphapose-results.json").write_text('[{"image_id": "0.jpg"}]')
    write_eaf(tmp_path / "c" / "v1.eaf", {"actions": [(1.0, 2.0, "B1")]}, media="v1.mp4")
    broken = write_eaf(tmp_path / "c" / "v2.eaf", {"actions": [(1.0, 2.0, "B1"), (3, 4, "?")]}, media="v2.mp4")
    code, out, err = run([tmp_path / "c", tmp_path / "r"], capsys)
    assert code == 1
    assert f"error: {broken}: tier 'actions' annotation" in err and "label '?' is not in the label set" in err
    assert "v1: 1 pair(s) of coders" in out
    text = " ".join(out.split())
    assert "passed over: 4 files: this tool's export of the record beside it (the record is read)" in text
    assert f"passed over: {tmp_path / 'r' / 'summary.csv'}: not an annotation CSV" in text
    assert f"passed over: {tmp_path / 'r' / 'alphapose-results.json'}: not a record of this tool" in text
    assert f"v2: only in OTHER ({tmp_path / 'r' / 'v2.json'})" in text


def test_own_label_set(tmp_path, capsys):
    from tests.helpers import write_label_tsv

    labels = write_label_tsv(tmp_path / "labels.tsv")  # X1 nod (head), X2 shake head, X3 wave right, ...
    ref = write_csv(tmp_path / "a" / "v.csv", [(0, 1, "nod"), (2, 3, "X3")])
    other = write_csv(tmp_path / "b" / "v.csv", [(0, 1, "X1"), (2, 3, "shake head")])
    code, _, err = run([ref, other, "--labels", labels, "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    rows = rows_of(tmp_path / "out")
    assert rows[("v", "action", "X1")]["matched@0.5"] == "1" and rows[("v", "action", "ALL")]["matched@0.5"] == "1"
    assert rows[("v", "body_part", "ALL")]["matched@0.5"] == "1"  # upper limb vs head at 2-3 s
    code, _, err = run([ref, write_csv(tmp_path / "c" / "v.csv", [(0, 1, "B1")]), "--labels", labels], capsys)
    assert code == 2 and "label 'B1' is not in the label set 'labels'" in err
    # the training CSV (pose caches named in a column) as it is
    training = write_csv(tmp_path / "train.csv", [("poses/v.pose.npz", 0, 1, "X1"),
                                                  ("poses/w.pose.npz", 0, 1, "X2")],
                         header=("pose", "start_s", "end_s", "label"))
    code, out, err = run([training, tmp_path / "b", "--labels", labels, "--out", tmp_path / "out2"], capsys)
    assert code == 0 and rows_of(tmp_path / "out2")[("v", "action", "ALL")]["matched@0.5"] == "1"
    assert "w: only in REFERENCE" in out


# ------------------------------------------------------------------------------------ workflow

def test_packaging():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["microaction-agree"] == "agreement.cli:main"
    assert "agreement*" in project["tool"]["setuptools"]["packages"]["find"]["include"]  # (the wheel: test_structure)
    assert "krippendorff" in (ROOT / "requirements.txt").read_text()


def agree(*args, cwd: Path) -> subprocess.CompletedProcess:
    """``microaction-agree`` as a user runs it. Where the tool was installed before the command existed
    (a developer's checkout), the module of this checkout; CI installs it afresh and runs the command."""
    if (BIN / "microaction-agree").exists() or os.environ.get("CI"):
        return cmd("microaction-agree", *args, cwd=cwd)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "agreement", *map(str, args)], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def test_workflow_two_coders_and_the_tool(tmp_path):
    """From an unrelated folder: two ELAN coders of one video (coder vs coder), then the tool's record
    against one coder (tool vs coder), through the command; both pages open in headless Chromium."""
    study = tmp_path / "study"
    video = blank_video(study / "videos" / "interview1.mp4", seconds=12.0, fps=5)
    anna = [(1.0, 2.5, "B1 nodding"), (4.0, 5.0, "F1"), (7.0, 8.5, "E5"), (10.0, 11.0, "shaking head")]
    ben = [(1.2, 2.4, "B1"), (4.2, 5.3, "F2"), (7.1, 8.4, "crossing arms")]
    for name, anns in (("anna", anna), ("ben", ben)):
        write_eaf(study / "coding" / name / "interview1.eaf", {name: anns}, media="../../videos/interview1.mp4")
    results = study / "results"
    results.mkdir()
    doc = record("interview1", 12.0, [(0.9, 2.6, "B1", "head"), (4.1, 5.0, "F1", "head-hand"),
                                      (9.8, 11.2, "B3", "head")])
    (results / "interview1.json").write_text(json.dumps(doc))
    from pipeline.report.video_page import write_video_report

    report = write_video_report(results / "interview1.json", doc, video=video, with_keyframes=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    res = agree(study / "coding" / "anna", study / "coding" / "ben", "--reference-tier", "anna", "--other-tier",
                "ben", "--out", "coders", cwd=elsewhere)
    assert "Action level: anna [anna] (reference) vs ben [ben]" in res.stdout
    rows = rows_of(elsewhere / "coders")
    coders = rows[("interview1", "action", "ALL")]
    assert (coders["n_reference"], coders["n_other"], coders["matched@0.3"]) == ("4", "3", "2")
    assert coders["frames"] == str(12 * 25)  # to the end of the linked video, probed
    assert rows[("interview1", "body_part", "ALL")]["matched@0.3"] == "3"  # F1 / F2: both head-hand

    res = agree(study / "coding" / "anna", results, "--reference-tier", "anna", "--out", "tool", cwd=elsewhere)
    rows = rows_of(elsewhere / "tool")
    tool = rows[("interview1", "action", "ALL")]
    assert (tool["n_reference"], tool["n_other"], tool["matched@0.5"]) == ("4", "3", "2")
    assert rows[("interview1", "action", "ANY")]["matched@0.5"] == "3"  # at 10 s: turning vs shaking head
    page = elsewhere / "tool" / "agreement.html"
    html = page.read_text(encoding="utf-8")
    link = os.path.relpath(report, elsewhere / "tool")
    assert f'href="{link}"' in html

    with browser.chromium(tmp_path) as d:
        for folder, lanes in (("coders", 2), ("tool", 2)):
            browser.open_page(d, elsewhere / folder / "agreement.html")
            assert browser.console_errors(d) == []
            heat = d.execute_script("return document.querySelectorAll('.heat .main-svg').length")
            assert heat >= 2  # a heat map per level
            drawn = d.execute_script("""
                const div = document.getElementById('timeline-0');
                div.scrollIntoView();
                return new Promise(done => {
                    const t0 = performance.now();
                    const wait = () => div.dataset.drawn || performance.now() - t0 > 10000 ? done(div.dataset.drawn)
                                                                                           : setTimeout(wait, 20);
                    wait();
                });""")
            assert drawn == "1" and browser.console_errors(d) == []  # drawn when scrolled to
            bars = d.execute_script("return document.querySelectorAll('#timeline-0 .barlayer .point').length")
            assert bars == 7  # anna's 4 events and ben's 3, or the interviewee's 3 segments in the record
            ticks = d.execute_script("return Array.from(document.querySelectorAll('#timeline-0 .ytick text'))"
                                     ".map(t => t.textContent)")
            assert len(ticks) == lanes
        # the link to the video report leads to it
        href = d.find_element("link text", "video report").get_attribute("href")
        assert href.startswith("file://") and Path(href[len("file://"):]).resolve() == report.resolve()
