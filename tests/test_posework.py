"""Pose as chunk tasks: worker counts give equal results, seams are within tolerance, interrupted runs
resume from their finished chunks, and skipped frames are interpolated."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import run_pipeline
from pipeline import motion
from pipeline.forkserver import start_worker_server
from pipeline.posework import MIN_CHUNK_S, BackendSpec, ChunkTask, LocalWorkers, plan_chunks, will_use_workers
from pipeline.sample import make_sample_video
from pipeline.cut_detection import CutDetector
from pipeline.video_decode import Sampling, iter_frames
from pipeline.ffmpeg_tools import VideoError
from pipeline.video_probe import probe
from pose.estimate import estimate, fill_skipped, make_backend
from pose.result import load_pose
from pose.types import DETECTED, PersonTrack
from tests.helpers import dies_in_worker, docs_by_workers, ffmpeg, worker_imports

ROOT = Path(__file__).resolve().parent.parent


def test_chunk_plan_depends_on_the_video_alone():
    assert plan_chunks(0) == [(0.0, math.inf)] and plan_chunks(2 * MIN_CHUNK_S - 0.1) == [(0.0, math.inf)]
    two = plan_chunks(20.0)
    assert [a for a, _ in two] == [0.0, 10.0] and two[-1][1] == math.inf
    hour = plan_chunks(3600.0)
    assert len(hour) == 60 and hour[1][0] == 60.0
    starts = [a for a, _ in plan_chunks(125.0)]
    assert starts == sorted(starts) and all(10 <= b - a <= 60 for a, b in zip(starts, starts[1:]))


@pytest.fixture(scope="module")
def long_sample(tmp_path_factory):
    """24 s of the animated portrait at 5 fps: two chunks with a seam at 12 s."""
    return make_sample_video(tmp_path_factory.mktemp("long") / "talk.mp4", seconds=24, fps=5, size=192)


def test_two_workers_equal_one_and_seams_stay_within_tolerance(tmp_path, long_sample, ref_checkpoint):
    assert len(plan_chunks(probe(long_sample).duration)) == 2
    docs = docs_by_workers(long_sample, tmp_path, ref_checkpoint)
    assert docs[1] == docs[2]  # the chunks do not depend on the number of workers: equal results
    subject = next(p for p in docs[1]["pose"]["persons"] if p["subject"])
    assert subject["presence"] == 1.0  # one id across the seam

    # against one continuous pass over the whole video (no seam): the seam tolerance
    chunked = load_pose(tmp_path / "w1" / "talk.pose.npz").track(subject["id"])
    info = probe(long_sample)
    backend = make_backend("mediapipe", max_side=960)
    try:
        whole = estimate(iter_frames(long_sample, info, max_side=960, small_width=256), info.width,
                         info.height, info.fps, backend, cuts=CutDetector(info.fps))
        whole = max(whole.tracks, key=lambda t: t.num_frames_seen)
    finally:
        backend.close()
    scale = motion.body_scale(np.asarray(whole.keypoints))
    ok = (np.asarray(whole.scores) >= 0.5) & (np.asarray(chunked.scores) >= 0.5)
    dev = np.linalg.norm(np.asarray(whole.keypoints) - np.asarray(chunked.keypoints), axis=-1) / scale
    seam = 60  # 12 s at 5 fps
    assert dev[:seam - 10][ok[:seam - 10]].max() <= 0.002  # before the seam: the same frames, the same model
    assert np.median(dev[ok]) <= 0.01 and np.percentile(dev[ok], 99) <= 0.05
    near = dev[seam - 5:seam + 5][ok[seam - 5:seam + 5]]  # the seam tolerance (README "Speed")
    assert np.percentile(near, 95) <= 0.05 and near.max() <= 0.1


def _stand_in_task(video: str, index: int = 0) -> ChunkTask:
    return ChunkTask(video, {}, index, 1, 10.0 * index, math.inf, None, BackendSpec("mediapipe"))


def test_a_dead_worker_process_is_replaced_and_its_tasks_run_again(tmp_path):
    """A worker killed once (memory, a crash): its tasks and the others in the pool run again in a fresh
    pool. A task whose process dies every time fails alone, in one line, and the pool goes on working."""
    workers = LocalWorkers(2, fn=dies_in_worker)
    try:
        once = str(tmp_path / "video-once")
        futs = [workers.submit(_stand_in_task(once, i)) for i in range(3)]
        assert [f.result(timeout=120) for f in futs] == [0, 1, 2] and workers.restarts == 1

        doomed = workers.submit(_stand_in_task("crash", 1))
        with pytest.raises(VideoError) as e:
            doomed.result(timeout=120)
        assert str(e.value) == ("crash: the pose worker process stopped abruptly 3 times while working on 10.0 s to "
                                "the end (killed by the system, e.g. for lack of memory, or a crash in the pose model)")
        assert workers.restarts == 4
        assert workers.submit(_stand_in_task(str(tmp_path / "fine"), 5)).result(timeout=120) == 5
        assert workers.busy() == 0
    finally:
        workers.close()

    # tasks only queued behind the one that kills its process are not to blame: they all finish
    workers = LocalWorkers(1, fn=dies_in_worker)
    try:
        doomed = workers.submit(_stand_in_task("crash", 1))
        queued = [workers.submit(_stand_in_task(str(tmp_path / "fine"), i)) for i in range(4)]
        with pytest.raises(VideoError, match="stopped abruptly 3 times while working on 10.0 s to the end"):
            doomed.result(timeout=120)
        assert [f.result(timeout=120) for f in queued] == [0, 1, 2, 3]
    finally:
        workers.close()


def test_worker_processes_start_only_when_there_is_something_to_share(tmp_path):
    """One video of one chunk runs in this process whatever --workers says; two videos go to the workers."""
    from pipeline.posework import InlineWorkers
    from pipeline.batch import run_batch
    from pipeline.inputs import collect_inputs
    from pipeline.options import Options
    from pipeline.run import Pipeline

    for name in ("a", "b"):
        make_sample_video(tmp_path / "in" / f"{name}.mp4", seconds=1, fps=10, size=128)
    for videos, kind in (([tmp_path / "in" / "a.mp4"], InlineWorkers), ([tmp_path / "in"], LocalWorkers)):
        pipe = Pipeline(Options(out=tmp_path / kind.__name__, workers=2, report=False))
        try:
            assert run_batch(collect_inputs(videos), pipe).exit_code == 0
            assert type(pipe.pool.workers) is kind
        finally:
            pipe.close()


@pytest.mark.skipif("forkserver" not in __import__("multiprocessing").get_all_start_methods(),
                    reason="no forkserver here (Windows): workers are spawned")
def test_workers_are_forked_from_a_server_that_has_imported_mediapipe_once(tmp_path):
    """Worker processes start with mediapipe already imported (once, in the forkserver), never with this
    process's torch; the server can be started early, and a pool started afterwards uses it."""
    import torch  # noqa: F401  (this process has torch: the workers must not)

    assert start_worker_server()
    workers = LocalWorkers(2, fn=worker_imports)
    try:
        seen = [f.result(timeout=120) for f in [workers.submit(_stand_in_task(str(tmp_path / "v"), i)) for i in range(2)]]
    finally:
        workers.close()
    assert all(s["mediapipe"] and not s["torch"] for s in seen), seen
    assert all(s["parent"] != os.getpid() for s in seen)  # forked by the server, not by this process


def test_pose_begins_while_the_models_load(tmp_path, monkeypatch, ref_checkpoint):
    """With worker processes the first chunks are handed out before torch is imported and the checkpoints
    are loaded (~2 s the workers need not wait): here the loading itself waits until a worker has begun
    a chunk, so handing the chunks out only after the models would never finish."""
    import recognizer.inference as inference
    from pipeline.batch import run_batch
    from pipeline.inputs import collect_inputs
    from pipeline.options import Options
    from pipeline.run import Pipeline

    for name in ("a", "b"):
        make_sample_video(tmp_path / "in" / f"{name}.mp4", seconds=1, fps=5, size=96)
    real, box = inference.Recognizer, {}

    def after_a_chunk_began(*args, **kwargs):
        deadline = time.monotonic() + 120
        while True:
            workers = getattr(getattr(box.get("pipeline"), "pool", None), "_workers", None)
            begun = getattr(workers, "_begun", None)
            if begun and any(Path(begun).iterdir()):
                return real(*args, **kwargs)
            assert time.monotonic() < deadline, "no pose chunk began while the models loaded"
            time.sleep(0.05)

    monkeypatch.setattr(inference, "Recognizer", after_a_chunk_began)
    pipe = box["pipeline"] = Pipeline.from_options(
        Options(out=tmp_path / "out", workers=2, report=False, checkpoint=ref_checkpoint), background=True)
    try:
        summary = run_batch(collect_inputs([tmp_path / "in"]), pipe)
    finally:
        pipe.close()
    assert summary.exit_code == 0 and len(summary.outcomes) == 2
    assert all(o.doc["model"]["checkpoints"] and o.doc["settings_key"] == pipe.settings_key for o in summary.outcomes)


def test_pose_goes_first_only_when_workers_will_run(tmp_path):
    short = make_sample_video(tmp_path / "short.mp4", seconds=1, fps=5, size=64)
    long = make_sample_video(tmp_path / "long.mp4", seconds=2 * MIN_CHUNK_S + 1, fps=2, size=64)
    assert not will_use_workers([short], 2)  # one video of one chunk runs in this process
    assert will_use_workers([short, short], 2) and will_use_workers([long], 2)
    assert not will_use_workers([long], 1) and not will_use_workers([], 2)
    assert not will_use_workers([tmp_path / "missing.mp4"], 2)  # reported when processed, not here


def _processes_naming(path: Path) -> list[str]:
    """Command lines of running processes that mention ``path`` (Linux /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if str(path) in text:
            found.append(text)
    return found


def _ctrl_c_as_in_a_terminal() -> None:
    """The child gets Ctrl-C's default disposition even when the tests run with SIGINT ignored (started
    in the background by a non-interactive shell): an ignored SIGINT is inherited, and Python keeps it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_interrupted_run_resumes_from_finished_chunks(tmp_path):
    video = make_sample_video(tmp_path / "interview.mp4", seconds=30, fps=3, size=192)
    assert len(plan_chunks(probe(video).duration)) == 3
    out = tmp_path / "out"
    parts = out / ".interview.pose-parts"
    # interrupted with two worker processes at work; resumed and compared with one
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_pipeline.py"), str(video), "--out", str(out),
                             "--workers", "2", "--mode", "long"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=tmp_path, preexec_fn=_ctrl_c_as_in_a_terminal)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (parts.is_dir() and any(parts.glob("*.npz"))):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    time.sleep(0.5)
    assert _processes_naming(video) == []  # no decoder (nor worker busy with it) left running
    kept = {p.name: p.stat().st_mtime_ns for p in parts.glob("*.npz")}
    assert 1 <= len(kept) < 3 and not (out / "interview.json").exists()
    assert not list(parts.glob("*.part"))  # nothing half-written

    assert run_pipeline.main([str(video), "--out", str(out), "--workers", "1", "--mode", "long", "--resume"]) == 0
    doc = json.loads((out / "interview.json").read_text())
    assert doc["timing"]["pose_chunks"] == 3 and doc["timing"]["pose_chunks_reused"] == len(kept)
    assert not parts.exists()  # gone once the pose cache is written

    fresh = tmp_path / "fresh"
    assert run_pipeline.main([str(video), "--out", str(fresh), "--workers", "1", "--mode", "long"]) == 0
    again = json.loads((fresh / "interview.json").read_text())
    assert doc["timing"]["pose_chunks_reused"] and "pose_chunks_reused" in again["timing"]
    for d in (doc, again):
        d.pop("timing")
        d.pop("outputs")  # the files' fingerprints: the ELAN file holds its date and paths
    assert doc == again
    a, b = load_pose(out / "interview.pose.npz"), load_pose(fresh / "interview.pose.npz")
    np.testing.assert_array_equal(a.tracks[0].keypoints, b.tracks[0].keypoints)


def test_skipped_frames_are_interpolated_within_shots():
    n = 9
    kp = np.full((n, 44, 2), np.nan, np.float32)
    sc = np.zeros((n, 44), np.float32)
    src = np.zeros((n, 44), np.uint8)
    pose = np.zeros(n, bool)
    pose[[0, 2, 4, 6]] = True
    for f, x in ((0, 0.0), (2, 20.0), (4, 40.0), (6, 100.0)):
        kp[f], sc[f], src[f] = x, 1.0, DETECTED
    track = fill_skipped(PersonTrack(0, kp, sc, src), pose, cuts=[6])
    k = np.asarray(track.keypoints)[:, 0, 0]
    assert k[1] == 10.0 and k[3] == 30.0  # linear between pose frames
    assert k[5] == 40.0  # the cut at frame 6: the shot's last pose frame is held, never mixed across it
    assert k[7] == 100.0 and k[8] == 100.0  # the video's end: held
    assert track.present.all() and (np.asarray(track.sources) == DETECTED).all()


def test_chunk_decoding_matches_whole_decoding_with_a_start_offset(tmp_path):
    """Seeking keeps each frame's own time (containers that start at 3 s too), and the frames pose sees
    do not depend on where decoding began."""
    src = make_sample_video(tmp_path / "a.mp4", seconds=6, fps=25, size=96)
    video = tmp_path / "offset.mp4"
    ffmpeg("-i", str(src), "-c", "copy", "-output_ts_offset", "3", str(video))
    info = probe(video)
    whole = [(f.time, f.image is not None) for f in iter_frames(video, info, every_s=1 / 15, small_width=64)]
    part = [(f.time, f.image is not None) for f in iter_frames(video, info, start_s=2.0, every_s=1 / 15, small_width=64)]
    assert whole[0][0] == pytest.approx(0.0, abs=1e-6) and len(whole) == 150
    first = next(i for i, (t, _) in enumerate(whole) if t >= 2.0 - 1e-6)
    assert part == whole[first:]
    assert 0.55 <= sum(s for _, s in whole) / len(whole) <= 0.65  # 15 of 25 frames a second
    assert [s for _, s in whole] == Sampling(1 / 15, info.fps).mask([t for t, _ in whole]).tolist()


def test_every_frame_at_full_size_while_the_pose_model_settles(tmp_path):
    """``all_until_s``: every frame before it comes at full size (ffmpeg's select and the Python rule
    agree frame by frame, also when decoding starts later), then the first of each slot."""
    video = make_sample_video(tmp_path / "a.mp4", seconds=6, fps=25, size=96)
    info = probe(video)
    for start in (None, 2.0):
        frames = [(f.time, f.image is not None) for f in
                  iter_frames(video, info, start_s=start, every_s=1 / 10, all_until_s=(start or 0) + 1.0, small_width=64)]
        times, full = np.array([t for t, _ in frames]), np.array([s for _, s in frames])
        settling = times < (start or 0) + 1.0 - 0.02
        assert settling.sum() == 25 and full[settling].all()
        assert 0.35 <= full[~settling].mean() <= 0.45  # 10 of 25 frames a second after that
        assert full.tolist() == Sampling(1 / 10, info.fps, (start or 0) + 1.0).mask(times).tolist()


@pytest.mark.parametrize("args,message", [(["--workers", "0"], "--workers must be at least 1"),
                                          (["--pose-fps", "0.5"], "--pose-fps must be"),
                                          (["--pose-fps", "fast"], "--pose-fps must be")])
def test_speed_options_are_checked(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as e:
        run_pipeline.main([str(tmp_path), "--out", str(tmp_path / "o"), *args])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_pose_fps_and_chunk_geometry_count_for_the_cache_but_workers_do_not(tmp_path, monkeypatch):
    from pipeline.options import Options

    base = Options(out=tmp_path)
    assert Options(out=tmp_path, workers=7).settings_key([]) == base.settings_key([])
    assert Options(out=tmp_path, pose_fps=15).settings_key([]) != base.settings_key([])
    # the chunk geometry is part of the pose cache's settings: another chunk length or count recomputes
    from pipeline import posework

    settings = {"model": "m"}
    one = posework.pose_settings(settings, None, 100.0)
    assert one == posework.pose_settings(settings, None, 100.0)
    assert posework.pose_settings(settings, None, 30.0) != one  # 3 chunks, not 8
    monkeypatch.setattr(posework, "MIN_CHUNK_S", posework.MIN_CHUNK_S + 5)
    assert posework.pose_settings(settings, None, 100.0) != one
    monkeypatch.undo()
    monkeypatch.setattr(posework, "WARMUP_S", posework.WARMUP_S + 1)
    assert posework.pose_settings(settings, None, 100.0) != one
