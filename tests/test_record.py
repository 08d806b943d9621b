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
    if typed.__total__:  # every key of a total type is required by the schema too
        assert keys <= set(node.get("required", keys)) | set(node.get("properties", {}))


def test_a_real_record_fits(tmp_path, small_video):
    import run_pipeline

    out = tmp_path / "out"
    assert run_pipeline.main([str(small_video), "--out", str(out), "--no-report", "--workers", "1"]) == 0
    doc = json.loads((out / "person.json").read_text())
    validate(doc)
    assert list(doc)[:1] == ["schema_version"] and list(doc)[-1] == "timing"
    assert set(doc) == set(typing.get_type_hints(record.Record))


def test_pose_backends_and_reporters_meet_their_protocols():
    from pipeline.progress import Reporter, RichReporter
    from pipeline.run import NullReporter
    from pose.alphapose import AlphaPoseLiveBackend
    from pose.estimate import make_backend
    from pose.types import PoseBackend

    with make_backend("mediapipe") as backend:
        assert isinstance(backend, PoseBackend)
    for cls in (AlphaPoseLiveBackend,):  # needs AlphaPose to be built: its class has the methods and name
        assert all(callable(getattr(cls, m, None)) for m in ("process", "reset", "close")) and cls.name
    wanted = [n for n, v in vars(Reporter).items() if callable(v) and not n.startswith("_")]
    assert {"start_video", "stage", "frame", "end_video"} <= set(wanted)
    for cls in (RichReporter, NullReporter):
        assert all(callable(getattr(cls, m, None)) for m in wanted), cls
