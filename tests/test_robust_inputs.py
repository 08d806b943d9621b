"""Robustness, third pass (issue 30, first half): each case runs the command as a user would and asserts
the exact outcome (exit code, the one-line message, what is on disk). Timestamp cases are in
``tests/test_timestamps.py``, frame rates in ``tests/test_frame_rate.py``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.export import validate
from tests.test_robustness import _run


def _doc(out: Path, name: str) -> dict:
    doc = json.loads((out / f"{name}.json").read_text())
    validate(doc)
    return doc


# -- item 2: clip mode respects stillness -------------------------------------------------------------
def test_a_still_clip_is_still_in_clip_mode(tmp_path, capsys, ref_checkpoint, demo_dir):
    """A real frame repeated for 2 s (nothing moves; energy ~0.02; the issue: one "lower limb" or "head"
    segment at 0.013-0.023): no segment, no body part, no action, in clip mode as in long mode;
    ``--still-threshold 0`` classifies it anyway."""
    from pipeline.sample import frozen_video

    video = frozen_video(demo_dir / "B1_nodding__0019_02_0078.mp4", tmp_path / "still.mp4", seconds=2.0)
    code, err = _run([video, "--out", tmp_path / "out", "--mode", "clip", "--checkpoint", ref_checkpoint,
                      "--device", "cpu", "--workers", "1", "--no-report"], capsys)
    assert code == 0, err
    doc = _doc(tmp_path / "out", "still")
    assert doc["segments"] == []
    [window] = doc["windows"]
    assert window["status"] == "still" and window["motion_energy"] < 0.06 and "action_code" not in window
    assert any(n.startswith("The clip's motion energy (") and "is reported as still" in n for n in doc["notes"])
    assert (tmp_path / "out" / "still.csv").read_text().count("\n") == 1  # the header only
    code, err = _run([video, "--out", tmp_path / "out", "--mode", "clip", "--still-threshold", "0",
                      "--workers", "1", "--no-report"], capsys)  # the pose cache is reused
    assert code == 0, err
    [segment] = _doc(tmp_path / "out", "still")["segments"]
    assert segment["movement"]["body_part"] is not None
