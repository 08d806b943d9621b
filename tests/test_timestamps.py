"""Frame times that are not what a frame rate promises (issue 30): equal timestamps, holes in them, and
the one home for "the frame interval of a stretch" (``common.frames``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from common.frames import frame_interval, holes, spread_equal_times
from pipeline.export import validate
from pipeline.sample import sample_frames
from pipeline.video_write import write_video
from tests.helpers import ffmpeg
from tests.test_robustness import _run


def test_frame_interval_ignores_equal_times_and_holes():
    assert frame_interval([0, 0, 0.1, 0.1, 0.2, 0.2]) == pytest.approx(0.1)
    assert frame_interval(np.r_[np.arange(10) * 0.04, 20 + np.arange(10) * 0.04]) == pytest.approx(0.04)
    assert frame_interval([5.0]) == pytest.approx(1 / 30) and frame_interval([2.0, 2.0]) == pytest.approx(1 / 30)


def test_equal_times_are_spread_and_holes_found():
    t, n = spread_equal_times([0, 0, 0.1, 0.1, 0.2, 0.2])
    assert n == 3 and np.allclose(t, [0, 0.05, 0.1, 0.15, 0.2, 0.25])
    t, n = spread_equal_times([0, 0.1, 0.2, 0.15, 0.3])  # a time earlier than the one before
    assert n == 1 and np.allclose(t, [0, 0.1, 0.2, 0.25, 0.3])
    assert spread_equal_times(np.arange(5) * 0.1)[1] == 0
    times = np.r_[np.arange(16) * 0.05, 10.8 + np.arange(16) * 0.05]
    assert holes(times) == [16]
    assert holes(np.r_[np.arange(10) * 0.1, 1.5 + np.arange(10) * 0.1]) == []  # 0.6 s of dropped frames: no hole


def _nod(path: Path, seconds: float, fps: int = 20) -> Path:
    """The sample portrait nodding (from 2 s into its script), ``seconds`` long."""
    frames = list(sample_frames(2.0 + seconds, fps, 160))[2 * fps:]
    write_video(path, iter(frames), fps, (160, 160))
    return path


def _retimed(src: Path, dst: Path, ts: str) -> Path:
    """``src`` with its packets' timestamps rewritten (``setts`` expression over N, the packet number)."""
    plain = dst.with_name(f"{dst.stem}.nob.mp4")  # no B-frames: decoding order is presentation order
    ffmpeg("-i", str(src), "-c:v", "libx264", "-bf", "0", str(plain))
    ffmpeg("-i", str(plain), "-c", "copy", "-bsf:v", f"setts=ts={ts}", str(dst))
    return dst


def _doc(out: Path, name: str) -> dict:
    doc = json.loads((out / f"{name}.json").read_text())
    validate(doc)
    return doc


def test_equal_timestamp_pairs_measure_as_the_real_rate(tmp_path, capsys):
    """An mkv whose frame times come in equal pairs (the issue: 0.031 instead of 0.141, no note; a 6 s
    one failed with ZeroDivisionError)."""
    pairs = _retimed(_nod(tmp_path / "nod.mp4", 1.6), tmp_path / "pairs.mkv", "floor(N/2)*2*DURATION")
    same = pairs.with_name("pairs.nob.mp4")  # the same packets with their own times
    code, err = _run([same, pairs, "--out", tmp_path / "out", "--workers", "1", "--no-report"], capsys)
    assert code == 0, err
    good, paired = _doc(tmp_path / "out", "pairs.nob"), _doc(tmp_path / "out", "pairs")
    assert paired["analysis"]["mode"] == good["analysis"]["mode"] == "clip"
    e0, e1 = (d["segments"][0]["movement"]["motion_energy"] for d in (good, paired))
    assert e0 > 0.1 and abs(e1 - e0) <= 0.1 * e0, (e0, e1)
    assert any(n.startswith("16 frames had the same timestamp as the frame before") for n in paired["notes"])
    assert paired["segments"][0]["end_s"] == pytest.approx(1.6, abs=0.051)


def test_equal_timestamps_in_a_long_video_do_not_fail(tmp_path, capsys):
    pairs = _retimed(_nod(tmp_path / "nod.mp4", 6.0), tmp_path / "pairs6.mkv", "floor(N/2)*2*DURATION")
    code, err = _run([pairs, "--out", tmp_path / "out", "--workers", "1", "--no-report"], capsys)
    assert code == 0, err
    doc = _doc(tmp_path / "out", "pairs6")
    assert doc["analysis"]["mode"] == "long" and doc["segments"]
    assert any("60 frames had the same timestamp" in n for n in doc["notes"])


def test_a_hole_in_the_timestamps_is_named_and_never_spanned(tmp_path, capsys):
    """Frames 0-15, then 10 s without any, then frames 16-31 (the issue: fps 4.06, one segment across
    8 absent windows, no note)."""
    holed = _retimed(_nod(tmp_path / "nod.mp4", 1.6), tmp_path / "holed.mkv", "(N+gte(N\\,16)*200)*DURATION")
    code, err = _run([holed, "--out", tmp_path / "out", "--workers", "1", "--no-report", "--mode", "long"], capsys)
    assert code == 0, err
    doc = _doc(tmp_path / "out", "holed")
    assert "No frame from 0.75 s to 10.80 s (a hole of 10.1 s in the video's timestamps)" in " ".join(doc["notes"])
    assert [s["first_frame"] for s in doc["shots"]] == [0, 16]
    for s in doc["segments"]:
        assert s["end_s"] <= 0.8 + 1e-6 or s["start_s"] >= 10.8 - 1e-6, s
    inside = [w for w in doc["windows"] if w["start_s"] >= 1.0 and w["end_s"] <= 10.7]
    assert len(inside) >= 7 and {w["status"] for w in inside} == {"absent"}


def test_seconds_become_frames_the_same_way_at_every_rate():
    """A gap of at most 0.25 s and a stretch of at least 0.3 s in frames: never rounded past the time they
    stand for (0.25 s is 3 frames at 15 fps, 7 at 30, 15 at 60; 0.3 s is 5, 9, 18), and 1/28 s stored
    rounded to the microsecond (0.035714 s) still makes 0.5 s 14 frames."""
    from common.frames import frames_covering, frames_within

    assert [frames_within(0.25, 1 / f) for f in (15, 25, 30, 50, 60)] == [3, 6, 7, 12, 15]
    assert [frames_covering(0.3, 1 / f) for f in (15, 25, 30, 50, 60)] == [5, 8, 9, 15, 18]
    assert frames_covering(0.5, 0.035714) == 14 and frames_within(0.5, 0.035714) == 14
    assert frames_covering(0.01, 1 / 30) == 1 and frames_within(0.01, 1 / 30) == 1
