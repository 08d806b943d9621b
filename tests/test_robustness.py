"""Bad inputs and interrupted runs: a clear one-line error naming the file, nothing partial left,
the other inputs still processed, the right exit code."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import run_pipeline
from definitions.skeleton_io import SkeletonFileError, read_skeleton_file
from pipeline.export import validate
from pipeline.batch import run_batch
from pipeline.inputs import collect_inputs
from pipeline.lock import video_lock
from pipeline.options import Options
from pipeline.run import Pipeline
from pipeline.sample import sample_frames
from pipeline.ffmpeg_tools import VideoError
from pipeline.video_decode import iter_frames
from pipeline.video_probe import probe
from pipeline.video_write import write_video
from pose.alphapose import AlphaPoseError, read_alphapose_json
from pose.types import PersonTrack
from recognizer.preprocess import prepare_clip
from tests.helpers import blank_video, ffmpeg


def _person_video(path: Path, seconds=1.0, fps=10, size=160) -> Path:
    write_video(path, sample_frames(seconds, fps, size), fps, (size, size))
    return path


def _leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.endswith((".part", ".lock", ".bak"))]


def _run(args, capsys):
    code = run_pipeline.main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_zero_decodable_frames(tmp_path):
    good = blank_video(tmp_path / "good.mp4", seconds=1, fps=10)
    data = bytearray(good.read_bytes())
    start = data.find(b"mdat") + 4
    data[start:] = bytes(len(data) - start)  # the header is intact, every frame is garbage
    bad = tmp_path / "no frames.mp4"
    bad.write_bytes(bytes(data))
    assert probe(bad).num_frames == 10
    with pytest.raises(VideoError) as e:
        list(iter_frames(bad))
    assert str(bad) in str(e.value) and "\n" not in str(e.value)


def test_mixed_bad_inputs_in_one_batch(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    _person_video(src / "interview ü 1.mp4")  # spaces and non-ASCII
    (src / "empty.mp4").write_bytes(b"")
    (src / "notes.mov").write_text("meeting notes, not a video\n")
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:duration=1", str(src / "voice.mp4"))
    good = blank_video(tmp_path / "t.mp4", seconds=2, fps=10)
    (src / "cut.mp4").write_bytes(good.read_bytes()[:700])
    out = tmp_path / "out"
    code, err = _run([src, "--out", out, "--mode", "long"], capsys)
    assert code == 1
    for name, why in (("empty.mp4", "empty file"), ("notes.mov", "not a readable video"),
                      ("voice.mp4", "no video stream (audio-only file)"), ("cut.mp4", "cut.mp4")):
        line = next(ln for ln in err.splitlines() if "failed:" in ln and name in ln)
        assert why in line
    assert "1 done" in err and "4 failed" in err
    assert "Traceback" not in err
    doc = json.loads((out / "interview ü 1.json").read_text(encoding="utf-8"))
    validate(doc)
    assert doc["video"]["file"] == "interview ü 1.mp4"
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".json") == ["interview ü 1.json"]
    assert _leftovers(out) == []


@pytest.mark.parametrize("seconds, fps, size", [
    (0.1, 10, 160),  # a single frame
    (1.0, 7.5, 16),  # tiny, odd frame rate
    (0.5, 60000 / 1001, 96),  # 59.94 fps
])
def test_odd_videos_run_through(tmp_path, capsys, seconds, fps, size):
    path = _person_video(tmp_path / "odd.mp4", seconds=seconds, fps=fps, size=size)
    code, err = _run([path, "--out", tmp_path / "o"], capsys)
    assert code == 0, err
    doc = json.loads((tmp_path / "o" / "odd.json").read_text())
    validate(doc)
    assert doc["video"]["num_frames"] == max(1, round(seconds * fps))
    assert doc["video"]["fps"] == pytest.approx(fps, rel=1e-3)
    for s in doc["segments"]:
        assert 0 <= s["start_s"] < s["end_s"] <= doc["video"]["duration_s"] + 1.0 / fps + 1e-3


def test_4k_video(tmp_path, capsys):
    path = blank_video(tmp_path / "uhd.mp4", seconds=0.3, fps=10, size=(3840, 2160))
    code, err = _run([path, "--out", tmp_path / "o"], capsys)
    assert code == 0, err
    doc = json.loads((tmp_path / "o" / "uhd.json").read_text())
    assert (doc["video"]["width"], doc["video"]["height"]) == (3840, 2160)
    assert doc["segments"] == [] and "No person was found" in " ".join(doc["notes"])


def _as_another_user(fn) -> str:
    """``fn()``'s result, or its error as ``Type: message``, run without root's right to read any file: in
    a forked child that has become ``nobody`` when the tests run as root (as in CI), here otherwise."""
    def call() -> str:
        try:
            return f"returned: {fn()}"
        except Exception as e:
            return f"{type(e).__name__}: {e}"

    if os.geteuid() != 0:
        return call()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no more root, then the call (everything it needs is imported already)
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(write, call().encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        said = f.read().decode()
    os.waitpid(pid, 0)
    return said


def test_unreadable_file(tmp_path):
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="unreadable-"))  # one that another user may look into
    try:
        folder.chmod(0o755)
        path = blank_video(folder / "locked.mp4")
        path.chmod(0)
        said = _as_another_user(lambda: probe(path))
        assert said == f"VideoError: {path}: permission denied"
        path.chmod(0o644)  # the same call on the same file, readable: the check above was the permission
        assert _as_another_user(lambda: probe(path).num_frames) == "returned: 10"
    finally:
        shutil.rmtree(folder)


def test_output_folder_that_cannot_be_written(tmp_path, capsys):
    video = blank_video(tmp_path / "v.mp4")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, err = _run([video, "--out", blocker / "out"], capsys)
    assert code == 2 and "output folder cannot be written" in err and str(blocker / "out") in err


class _InterruptingBackend:
    """MediaPipe, but Ctrl-C arrives at frame ``at`` of the ``video``-th video."""

    def __init__(self, video: int, at: int):
        from pose.mediapipe_backend import MediaPipeBackend

        self.inner = MediaPipeBackend(max_side=None)
        self.name, self.settings, self.max_side = self.inner.name, self.inner.settings, None
        self.video, self.at, self.videos, self.frames = video, at, 0, 0

    def reset(self):  # called before and after each video
        if self.frames:
            self.videos += 1
        self.frames = 0
        self.inner.reset()

    def close(self):
        self.inner.close()

    def process(self, image, w, h, time=None):
        self.frames += 1
        if self.videos == self.video and self.frames == self.at:
            raise KeyboardInterrupt
        return self.inner.process(image, w, h)


def test_ctrl_c_mid_batch_then_resume(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        _person_video(src / name, seconds=1.0)
    out = tmp_path / "out"
    opts = Options(out=out, mode="long")
    jobs = collect_inputs([src])
    pipe = Pipeline(opts, backend=_InterruptingBackend(video=1, at=5))
    summary = run_batch(jobs, pipe)
    assert summary.interrupted and summary.exit_code == 130
    assert [o.status for o in summary.outcomes] == ["done"]
    assert (out / "a.json").exists()
    assert not any((out / f"b{s}").exists() for s in (".json", ".csv", ".eaf", ".pose.npz"))
    assert _leftovers(out) == []
    code, err = _run([src, "--out", out, "--mode", "long", "--resume"], capsys)
    assert code == 0 and "1 skipped" in err and "2 done" in err


def test_two_runs_on_one_output_folder(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    _person_video(src / "a.mp4")
    _person_video(src / "b.mp4")
    out = tmp_path / "out"
    job_b = collect_inputs([src])[1]
    with video_lock(job_b.outputs(out)["lock"]):  # another run is busy with b.mp4: skipped here, not failed
        code, err = _run([src, "--out", out, "--mode", "long"], capsys)
    assert code == 1 and "1 skipped" in err and "0 failed" in err  # but not done: exit 1 (tests/test_hostile.py)
    assert "being processed by another run" in " ".join(err.split())
    assert (out / "a.json").exists() and not (out / "b.json").exists()
    code, err = _run([src, "--out", out, "--mode", "long", "--resume"], capsys)
    assert code == 0 and "1 skipped" in err and "1 done" in err


def test_person_leaving_and_coming_back(tmp_path):
    from pipeline.segments import analyse_track

    t = np.arange(120) / 30.0
    rng = np.random.default_rng(0)
    base = rng.random((44, 2)) * 300 + 100
    kp = np.repeat(base[None], 120, 0).astype(np.float32)
    kp[:, :12] += (20 * np.sin(2 * np.pi * 2 * t))[:, None, None]  # the head moves all along
    kp[40:80] = np.nan  # out of the picture for 1.33 s
    scores = np.where(np.isnan(kp[..., 0]), 0, 0.9).astype(np.float32)
    track = PersonTrack(0, kp, scores, np.ones((120, 44), np.uint8))
    segs, wins = analyse_track(track, t, (640, 480), "long")
    assert any(w.status == "absent" for w in wins)
    assert len(segs) == 2  # before and after the absence, not across it
    assert segs[0].end_s <= 40 / 30 + 0.5 and segs[1].start_s >= 80 / 30 - 0.5


def test_alphapose_json_with_nan_and_inf(tmp_path):
    pts = [float(v) for v in range(136 * 3)]
    pts[0], pts[4] = float("nan"), float("inf")  # nose x, left eye y
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{"image_id": "0.jpg", "keypoints": pts}]))  # json writes NaN / Infinity
    det = read_alphapose_json(path)[0][0]
    assert np.isnan(det.keypoints[0]).all() and det.scores[0] == 0
    assert np.isnan(det.keypoints[1]).all() and det.scores[1] == 0
    assert np.isfinite(det.keypoints[2:]).all()


# ---- property-based: the readers and prepare_clip never fail in an unexpected way ----

finite = st.floats(-1e5, 1e5, allow_nan=False)
coord = st.one_of(finite, st.just(math.nan), st.just(math.inf), st.just(-math.inf))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.float64, st.tuples(st.integers(1, 90), st.just(44), st.just(2)), elements=coord,
              fill=st.one_of(finite, st.just(math.nan))))
def test_prepare_clip_property(k):
    if not np.isfinite(k).all(-1).any():
        with pytest.raises(ValueError):
            prepare_clip(k)
        return
    for stream in ("joint", "bone"):
        x, it = prepare_clip(k, stream)
        assert x.shape == (2, 64, 44, 1) and np.isfinite(x).all()
        assert np.isfinite(it).all() and it.min() >= -1 and it.max() < 1
    x, _ = prepare_clip(k, "joint")
    assert x.min() >= -1 - 1e-5 and x.max() <= 1 + 1e-5


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.floats(allow_nan=True) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.sampled_from(
        ["image_id", "keypoints", "score", "box", "idx", "category_id", "x"]), inner, max_size=6),
    max_leaves=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(json_values)
def test_alphapose_reader_property(tmp_path, value):
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(value))
    try:
        frames = read_alphapose_json(path)
    except AlphaPoseError as e:
        assert str(path) in str(e) and "\n" not in str(e)
    else:
        assert isinstance(frames, dict)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300), st.sampled_from([".pkl", ".npy", ".npz"]))
def test_skeleton_reader_property(tmp_path, blob, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(blob)
    try:
        clips = read_skeleton_file(path)
    except SkeletonFileError as e:
        assert str(path) in str(e)
    else:
        assert all(c.keypoints.shape[1:] == (44, 2) for c in clips)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(json_values)
def test_pickled_structures_property(tmp_path, value):
    import pickle

    path = tmp_path / "fuzz_data.pkl"
    path.write_bytes(pickle.dumps({"annotations": value if isinstance(value, list) else [value]}))
    try:
        read_skeleton_file(path)
    except SkeletonFileError as e:
        assert str(path) in str(e)
