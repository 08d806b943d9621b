"""The typed record (pipeline.record) and the JSON schema say the same thing; a real record fits both."""
from __future__ import annotations

import json
import typing

import pytest

from pipeline import record
from pipeline.export import SCHEMA_PATH, validate

SCHEMA = json.loads(SCHEMA_PATH.read_text())


def _node(path: str) -> dict:
    node = SCHEMA
    for part in path.split("/"):
        if part == "items":
            node = node["items"]
        elif part == "object":  # the object branch of a oneOf
            node = next(n for n in node["oneOf"] if n.get("type") == "object")
        else:
            node = node["properties"][part]
        if "$ref" in node:
            node = SCHEMA["$defs"][node["$ref"].split("/")[-1]]
    return node


PAIRS = [
    (record.Record, ""),
    (record.VideoInfoRecord, "video"),
    (record.PoseRecord, "pose"),
    (record.PersonRecord, "pose/persons/items"),
    (record.ModelRecord, "model/object"),
    (record.AnalysisRecord, "analysis"),
    (record.ShotRecord, "shots/items"),
    (record.SegmentRecord, "segments/items"),
    (record.Movement, "segments/items/movement"),
    (record.Contact, "segments/items/movement/touch_events/items"),
    (record.ActionEntry, "segments/items/movement/actions/items"),
    (record.Ranked, "segments/items/top5/items"),
    (record.WindowRecord, "windows/items"),
]


@pytest.mark.parametrize("typed, path", PAIRS, ids=[p or "record" for _, p in PAIRS])
def test_typed_record_matches_the_schema(typed, path):
    node = _node(path) if path else SCHEMA
    keys = set(typing.get_type_hints(typed))
    assert set(node.get("required", [])) <= keys
    if node.get("additionalProperties") is False:
        assert keys == set(node["properties"]), (sorted(keys), sorted(node["properties"]))
    else:
        assert set(node.get("properties", {})) <= keys
    if typed.__total__:  # every key of a total type is required by the schema too, unless the schema says
        # that older records lack it (they still validate; this version always writes it)
        optional = keys - set(node.get("required", []))
        unexplained = [k for k in optional if OLDER not in node["properties"][k].get("description", "")]
        assert unexplained == [], unexplained


OLDER = "older records have none"


def test_a_real_record_fits(tmp_path, small_video):
    import run_pipeline

    out = tmp_path / "out"
    assert run_pipeline.main([str(small_video), "--out", str(out), "--no-report", "--workers", "1"]) == 0
    doc = json.loads((out / "person.json").read_text())
    validate(doc)
    assert list(doc)[:1] == ["schema_version"] and list(doc)[-1] == "timing"
    assert set(doc) == set(typing.get_type_hints(record.Record))


def test_pose_backends_and_reporters_meet_their_protocols():
    from pipeline.progress import NullReporter, Reporter, RichReporter
    from pose.alphapose import AlphaPoseLiveBackend
    from pose.estimate import make_backend
    from pose.types import PoseBackend

    with make_backend("mediapipe") as backend:
        assert isinstance(backend, PoseBackend)
        _meets(type(backend), PoseBackend)
        assert all(hasattr(backend, a) for a in ("name", "settings", "max_side"))
    _meets(AlphaPoseLiveBackend, PoseBackend)  # needs AlphaPose to be built: its class, checked unbuilt
    assert isinstance(AlphaPoseLiveBackend.name, str) and AlphaPoseLiveBackend.name
    for cls in (RichReporter, NullReporter):
        _meets(cls, Reporter)


def _methods(protocol) -> list[str]:
    return [n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")]


def _meets(cls, protocol) -> None:
    """``cls`` has each of the protocol's methods, taking the same parameters by the same names (the
    pipeline calls them by keyword as well), optional where the protocol's are."""
    import inspect

    wanted = _methods(protocol)
    assert wanted, protocol
    for name in wanted:
        method = getattr(cls, name, None)
        assert callable(method), (cls, name)
        want = inspect.signature(getattr(protocol, name)).parameters
        have = inspect.signature(method).parameters
        assert list(have) == list(want), (cls, name, list(have), list(want))
        for p in want.values():
            assert (have[p.name].default is inspect.Parameter.empty) == (p.default is inspect.Parameter.empty), \
                (cls, name, p.name)


def test_a_weight_free_action_after_the_last_window_makes_a_valid_record():
    """A nod in the last half second of a long video, which no analysis window reaches (windows end where
    the last whole one fits), is a segment of 0 windows; its record fits the schema. A real_dev talker
    (talking_woman_to_camera_window.mp4) had such a B6 at 15.24-15.44 s of 15.48, and its record was then
    refused by the report as 'segments/5/windows: 0 is less than the minimum of 1'."""
    import jsonschema_rs
    import numpy as np

    from pipeline.export import segment_record
    from pipeline.segments import analyse_track
    from pose.types import PersonTrack
    from tests.synthetic_actions import make_scenario

    sc = make_scenario(["B1"], fps=30, seed=3, lead_in_s=(2.0, 2.0), tail_s=0.05)
    track = PersonTrack(0, sc.keypoints.astype(np.float32), sc.scores.astype(np.float32),
                        np.ones(sc.keypoints.shape[:2], np.uint8))
    segments, windows = analyse_track(track, sc.times, sc.size, "long")
    tail = [s for s in segments if not s.windows]
    assert tail and tail[0].start_s >= windows[-1].end_s and [a.code for a in tail[0].actions] == ["B1"]
    schema = json.loads(SCHEMA_PATH.read_text())
    segment_schema = dict(schema["properties"]["segments"]["items"], **{"$defs": schema["$defs"]})
    rec = json.loads(json.dumps(segment_record(tail[0], None)))  # as the record file holds it
    assert rec["windows"] == 0 and rec["action"]["code"] == "B1"
    jsonschema_rs.validator_for(segment_schema).validate(rec)
