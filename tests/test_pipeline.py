"""End to end: real clips and generated videos through run_pipeline, its outputs, batch behaviour."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import run_pipeline
from pipeline.export import CSV_COLUMNS, validate
from pipeline.video_decode import iter_frames
from pipeline.video_probe import probe
from pipeline.video_write import write_video
from tests.helpers import blank_video

ROOT = Path(__file__).resolve().parent.parent


def _docs(out):
    return {p.name[:-5]: json.loads(p.read_text()) for p in sorted(out.rglob("*.json"))}


def test_demo_clips_end_to_end(demo_run, demo_clips, ref_checkpoint):
    out, code = demo_run
    assert code == 0
    docs = _docs(out)
    assert sorted(docs) == sorted(p.stem for p in demo_clips)
    sha = hashlib.sha256(ref_checkpoint.read_bytes()).hexdigest()
    for name, doc in docs.items():
        validate(doc)
        assert doc["analysis"]["mode"] == "clip"
        assert [c["sha256"] for c in doc["model"]["checkpoints"]] == [sha, sha]
        assert {c["stream"] for c in doc["model"]["checkpoints"]} == {"joint", "bone"}
        assert len(doc["segments"]) == 1
        seg = doc["segments"][0]
        assert 0 <= seg["start_s"] < seg["end_s"] <= doc["video"]["duration_s"] + 0.05
        assert seg["action"]["code"] == seg["top5"][0]["code"]
        probs = [t["probability"] for t in seg["top5"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-6
        rows = list(csv.DictReader((out / f"{name}.csv").open()))
        assert list(rows[0]) == CSV_COLUMNS and len(rows) == 1
        assert rows[0]["action_code"] == seg["action"]["code"]
        assert float(rows[0]["end_s"]) == pytest.approx(seg["end_s"], abs=1e-3)


def test_clip_prediction_matches_direct_inference(demo_run, ref_checkpoint):
    """The pipeline's label is MMN's on the cached keypoints (nothing invented along the way)."""
    from pose.result import load_pose
    from pose.tracking import select_people
    from recognizer.inference import Recognizer

    out, _ = demo_run
    rec = Recognizer(ref_checkpoint, ref_checkpoint, device="cpu")
    for name, doc in _docs(out).items():
        pose = load_pose(out / f"{name}.pose.npz")
        track = select_people(pose.tracks)[0]
        pred = rec.predict([track.keypoints])[0]
        seg = doc["segments"][0]
        assert seg["action"]["id"] == pred.top5[0]["id"]
        assert seg["action"]["probability"] == pytest.approx(pred.top5[0]["probability"], abs=1e-5)


def test_elan_and_submission(demo_run, demo_clips):
    import pympi

    out, _ = demo_run
    for clip in demo_clips:
        eaf = pympi.Elan.Eaf(str(out / f"{clip.stem}.eaf"))
        assert list(eaf.get_tier_names())[:3] == ["person_0", "person_0 weight-free actions", "person_0 body part"]
        (start, end, value), = eaf.get_annotation_data_for_tier("person_0")
        assert 0 <= start < end and value
        (_, _, part), = eaf.get_annotation_data_for_tier("person_0 body part")
        doc = json.loads((out / f"{clip.stem}.json").read_text())
        assert part.startswith(doc["segments"][0]["movement"]["body_part"])
        best = doc["segments"][0]["movement"]["actions"][0]
        (_, _, kin), = eaf.get_annotation_data_for_tier("person_0 weight-free actions")
        assert kin.startswith(f"{best['code']} {best['name']} ({best['score']:.2f}")
        # hands resting on the lap in every demo clip: a resting contact, never a touch event
        for hand in ("left", "right"):
            values = [v for *_, v in eaf.get_annotation_data_for_tier(f"person_0 {hand} hand")]
            assert values and all(v == "rests on legs" for v in values), values
        media = eaf.get_linked_files()[0]
        assert media["MEDIA_URL"].endswith(clip.name) and media["RELATIVE_MEDIA_URL"].endswith(clip.name)
    rows = list(csv.reader((out / "prediction.csv").open()))
    assert rows[0] == ["vid"] + [f"action_pred_{i}" for i in range(1, 6)] + [f"body_pred_{i}" for i in range(1, 6)]
    assert sorted(r[0] for r in rows[1:]) == sorted(c.name for c in demo_clips)
    labels = {int(r.split("\t")[0]): int(r.split("\t")[3]) for r in
              (run_pipeline.ROOT / "assets" / "ma52_labels.tsv").read_text().splitlines()[1:]}
    for r in rows[1:]:
        ids, bodies = list(map(int, r[1:6])), list(map(int, r[6:11]))
        assert len(set(ids)) == 5 and bodies == [labels[i] for i in ids]
    with zipfile.ZipFile(out / "prediction.zip") as z:  # what is uploaded: the CSV above, alone
        assert z.testzip() is None and z.namelist() == ["prediction.csv"]
        assert list(csv.reader(io.StringIO(z.read("prediction.csv").decode()))) == rows


@pytest.fixture(scope="module")
def long_video(tmp_path_factory, demo_clips):
    """Demo clips joined by frozen frames: motion only where the clips are."""
    path = tmp_path_factory.mktemp("long") / "interview.mp4"
    spans, frames, fps = [], [], 30.0
    gaps = [2.0, 3.0, 3.0, 2.0]
    for i, clip in enumerate(demo_clips):
        imgs = [f.image.copy() for f in iter_frames(clip, max_side=540)]
        frames += [imgs[0]] * int(gaps[i] * fps)
        start = len(frames) / fps
        frames += imgs
        spans.append((start, len(frames) / fps))
        last = imgs[-1]
    frames += [last] * int(gaps[-1] * fps)
    h, w = frames[0].shape[:2]
    write_video(path, iter(frames), fps, (w, h))
    return path, spans, len(frames) / fps


def test_long_video_segments_follow_motion(tmp_path, long_video, ref_checkpoint):
    path, spans, duration = long_video
    out = tmp_path / "out"
    code = run_pipeline.main([str(path), "--out", str(out), "--checkpoint", str(ref_checkpoint), "--device", "cpu"])
    assert code == 0
    doc = json.loads((out / "interview.json").read_text())
    validate(doc)
    assert doc["analysis"]["mode"] == "long"
    active = sum(w["status"] == "active" for w in doc["windows"])
    assert active and doc["timing"]["mmn_s"] > 0 and doc["timing"]["preprocess_s"] > 0
    segs = [(s["start_s"], s["end_s"]) for s in doc["segments"]]
    assert segs and all(s["action"] is not None for s in doc["segments"])
    for a, b in spans:  # every clip is covered by some segment
        assert any(s < b and e > a for s, e in segs), (a, b, segs, doc["windows"])
    edges = [0.0] + [x for span in spans for x in span] + [duration]
    for gap_start, gap_end in zip(edges[::2], edges[1::2]):  # the frozen parts, away from the clips
        quiet = (gap_start + (1.0 if gap_start > 0 else 0.0), gap_end - 1.0)
        assert not any(s < quiet[1] and e > quiet[0] for s, e in segs), (quiet, segs)
    for s, e in segs:
        assert 0 <= s < e <= duration + 0.05
        # edges snap to the motion: each segment lies on a clip, give or take the smoothing
        assert any(a - 0.5 <= s and e <= b + 0.75 for a, b in spans), (s, e, spans)


def _small(path, seconds=1.0):
    from pipeline.sample import sample_frames

    write_video(path, sample_frames(seconds, 10, 192), 10, (192, 192))
    return path


def test_batch_nested_duplicates_broken_file_and_resume(tmp_path, capsys):
    src = tmp_path / "in"
    (src / "a").mkdir(parents=True)
    (src / "b" / "deeper").mkdir(parents=True)
    _small(src / "a" / "clip.mp4")
    (src / "b" / "deeper" / "clip.mp4").write_bytes((src / "a" / "clip.mp4").read_bytes())
    (src / "a" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    (src / "b" / "notes.txt").write_text("not a video")
    out = tmp_path / "out"
    code = run_pipeline.main([str(src), "--out", str(out), "--mode", "long"])
    err = capsys.readouterr().err
    assert code == 1
    assert "broken.mp4" in err and "1 failed" in err and "2 done" in err
    assert (out / "a" / "clip.json").exists() and (out / "b" / "deeper" / "clip.json").exists()
    assert not (out / "a" / "broken.json").exists()
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".part") or p.name.endswith(".lock")]
    assert leftovers == []
    doc = json.loads((out / "a" / "clip.json").read_text())
    validate(doc)
    assert doc["model"] is None and "No MMN checkpoint configured" in doc["notes"][0]
    assert doc["video"]["path"] == "a/clip.mp4"
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    code = run_pipeline.main([str(src), "--out", str(out), "--mode", "long", "--resume"])
    err = capsys.readouterr().err
    assert code == 1 and "2 skipped" in err and "1 failed" in err
    batch_files = ("errors.log", "index.html", "summary.csv")  # about the batch: rewritten by every run
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name not in batch_files} == \
        {p: m for p, m in stamps.items() if p.name not in batch_files}
    assert (out / "a" / "clip.report.html").exists() and "broken.mp4" in (out / "summary.csv").read_text()


def test_changed_settings_are_not_resumed(tmp_path, capsys):
    video = _small(tmp_path / "v.mp4")
    out = tmp_path / "out"
    assert run_pipeline.main([str(video), "--out", str(out), "--mode", "long"]) == 0
    capsys.readouterr()
    assert run_pipeline.main([str(video), "--out", str(out), "--mode", "long", "--window", "1.5", "--resume"]) == 0
    assert "1 done" in capsys.readouterr().err
    doc = json.loads((out / "v.json").read_text())
    assert doc["analysis"]["window_s"] == 1.5
    assert doc["timing"]["pose_cached"] is True  # same video, same pose settings: the cache is reused


def test_usage_errors(tmp_path, capsys):
    assert run_pipeline.main([str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "o")]) == 2
    assert "missing.mp4: no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert run_pipeline.main([str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "folder holds no video" in capsys.readouterr().err
    video = blank_video(tmp_path / "v.mp4")
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    assert run_pipeline.main([str(video), "--out", str(tmp_path / "o"), "--checkpoint", str(bad)]) == 2
    assert "bad.pt: not a readable PyTorch checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        run_pipeline.main(["--help"])
    assert e.value.code == 0
    assert "examples:" in capsys.readouterr().out



def test_overlay_video(tmp_path, small_video, ref_checkpoint):
    out = tmp_path / "o"
    assert run_pipeline.main([str(small_video), "--out", str(out), "--overlay", "--checkpoint", str(ref_checkpoint),
                              "--mode", "clip", "--device", "cpu"]) == 0
    overlay = out / "person.overlay.mp4"
    src, dst = probe(small_video), probe(overlay)
    assert (dst.width, dst.height) == (src.width, src.height) and dst.fps == pytest.approx(src.fps)
    frames = [f.image for f in iter_frames(overlay)]
    original = [f.image for f in iter_frames(small_video)]
    assert len(frames) == len(original)
    assert np.abs(frames[5].astype(int) - original[5].astype(int)).mean() > 1  # skeleton and label drawn


def test_bad_inputs_are_reported_before_the_models_load(tmp_path):
    """A mistyped path or a folder without videos: one line, exit code 2, before torch is even imported
    (so at once, not after seconds of loading)."""
    import subprocess
    import sys

    (tmp_path / "empty").mkdir()
    probe_script = ("import sys, run_pipeline; code = run_pipeline.main(sys.argv[1:]); "
                    "print(code, 'torch' in sys.modules, 'mediapipe' in sys.modules)")
    for bad, says in ((tmp_path / "missing.mp4", "no such file or folder"), (tmp_path / "empty", "holds no video")):
        res = subprocess.run([sys.executable, "-c", probe_script, str(bad), "--out", str(tmp_path / "out")],
                             capture_output=True, text=True, cwd=ROOT)
        assert res.stdout.split() == ["2", "False", "False"], res.stdout + res.stderr
        assert says in res.stderr and "Traceback" not in res.stderr
        assert not (tmp_path / "out").exists()


def test_inputs_from_list_files_and_name_clashes(tmp_path):
    from pipeline.inputs import InputError, collect_inputs

    (tmp_path / "x" / "deep").mkdir(parents=True)
    for rel in ("x/a.mp4", "x/a.mov", "x/deep/a.mp4", "b.mkv"):
        (tmp_path / rel).write_bytes(b"\0")
    (tmp_path / "list.txt").write_text("# interviews\nx/a.mp4\n\n" + str(tmp_path / "b.mkv") + "\nx/a.mp4\n")
    jobs = collect_inputs([tmp_path / "list.txt", tmp_path / "x"])
    rels = sorted(str(j.rel) for j in jobs)
    assert rels == ["b", "x/a", "x/a_mov", "x/deep/a"]  # duplicates once; clip.mp4 / clip.mov both kept
    (tmp_path / "bad.txt").write_text("missing.mp4\n")
    jobs = collect_inputs([tmp_path / "bad.txt"])  # a missing listed file fails later, as that video
    assert jobs[0].path.name == "missing.mp4"
    with pytest.raises(InputError):
        collect_inputs([])


def test_readme_demo_command(readme_demo):
    """The README's main command: a generated sample, the whole pipeline, no checkpoint."""
    out, err = readme_demo
    assert "No MMN checkpoint configured" in err and "1 done" in err
    for name in ("astronaut_demo.report.html", "index.html", "summary.csv"):  # the browser reports
        assert (out / name).is_file(), name
    doc = json.loads((out / "astronaut_demo.json").read_text())
    validate(doc)
    assert doc["analysis"]["mode"] == "long" and doc["segments"]
    # without a checkpoint an action can only be the weight-free recognizer's, beside its evidence
    for s in doc["segments"]:
        assert s["action"] is None or (s["action"]["source"] == "kinematics"
                                       and s["action"]["code"] == s["movement"]["actions"][0]["code"])
    moving = [(s["start_s"], s["end_s"]) for s in doc["segments"]]
    # the sample nods over 2-4 s and sways over 6-8 s: both are found
    assert any(s < 4 and e > 2 for s, e in moving) and any(s < 8 and e > 6 for s, e in moving)


def test_the_command_ends_at_once_but_after_its_exit_handlers_and_output(tmp_path):
    """``exit_now`` (the end of ``microaction-run``): the exit code, buffered output and exit handlers
    (logging's, multiprocessing's) all come through; only the interpreter's module teardown is skipped."""
    import subprocess
    import sys

    script = tmp_path / "ends.py"
    script.write_text(
        "import atexit, logging, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from common.cli import exit_now\n"
        f"logging.basicConfig(filename={str(tmp_path / 'log.txt')!r})\n"
        "logging.warning('logged')\n"
        f"atexit.register(lambda: open({str(tmp_path / 'handler.txt')!r}, 'w').write('ran'))\n"
        "sys.stdout.write('no newline, still in the buffer')\n"
        "sys.stderr.write('error text')\n"
        "exit_now(3)\n"
        "print('never')\n")
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert res.returncode == 3
    assert res.stdout == "no newline, still in the buffer" and res.stderr == "error text"
    assert (tmp_path / "handler.txt").read_text() == "ran" and "logged" in (tmp_path / "log.txt").read_text()


def test_terminal_shows_no_native_log_lines(tmp_path, small_video):
    """MediaPipe's C++ log lines (absl, TensorFlow Lite) stay off the terminal, in the main process and
    in pose worker processes; MICROACTION_NATIVE_LOGS=1 lets them through (so this test can fail)."""
    import os
    import shutil
    import subprocess
    import sys

    noise = ("W0000", "I0000", "INFO: Created TensorFlow Lite", "absl::InitializeLog")
    videos = {1: tmp_path / "one", 2: tmp_path / "two"}
    for n, folder in videos.items():  # with 2 workers, two videos: one video of one chunk runs in this process
        folder.mkdir()
        for name in ["a.mp4", "b.mp4"][:n]:
            shutil.copy(small_video, folder / name)
    for workers, keep in ((1, "0"), (2, "0"), (2, "1")):
        env = dict(os.environ, MICROACTION_NATIVE_LOGS=keep)
        out = tmp_path / f"out{workers}{keep}"
        res = subprocess.run([sys.executable, run_pipeline.__file__, str(videos[workers]), "--out", str(out),
                              "--workers", str(workers), "--no-report"], capture_output=True, text=True, env=env,
                             cwd=tmp_path)
        assert res.returncode == 0 and f"{workers} done" in res.stderr
        found = [line for line in res.stderr.splitlines() if any(n in line for n in noise)]
        assert (found == []) if keep == "0" else found
        timings = [json.loads(p.read_text())["timing"] for p in out.glob("*.json")]
        assert {t["pose_workers"] for t in timings} == {0 if workers == 1 else 2}  # here, or 2 worker processes
        # pose time counts the workers' time on the video too, not only the assembly of their results
        assert all(0.3 * t["total_s"] < t["pose_s"] <= t["total_s"] for t in timings), timings


def test_weight_free_actions_wait_for_the_pose_model_to_settle():
    """In long mode a change of posture that starts within the first description.LANDMARK_SETTLING_S after a
    person appears or a shot starts is dropped however long it is held (its amplitude is measured from
    landmarks that had not settled); a repeated movement is kept when MIN_EPISODE_S of it is left after the
    settling; contacts are kept."""
    from pipeline.segments import settled
    from recognizer.kinematics import ActionInstance

    t = np.arange(0, 4, 1 / 15)
    present = np.ones(len(t), bool)
    found = [ActionInstance("D1", 0.0, 1.0, 0.5),  # a "tiptoe" from the first frame, held to 1 s: dropped
             ActionInstance("D1", 0.6, 1.5, 0.5),  # after the settling: kept
             ActionInstance("B1", 0.2, 1.2, 0.5),  # nodding on 0.7 s past the settling: kept
             ActionInstance("B2", 0.1, 0.7, 0.5),  # 0.2 s left: dropped
             ActionInstance("F1", 0.0, 1.0, 0.5),  # a hand at the head: kept
             ActionInstance("B3", 2.1, 3.5, 0.5),  # a turn starting 0.1 s after the cut at 2.0 s: dropped
             ActionInstance("A4", 2.6, 3.5, 0.5)]  # after it: kept
    got = settled(found, t, present, cuts=[30])
    assert [(i.code, i.start_s) for i in got] == [("D1", 0.6), ("B1", 0.2), ("F1", 0.0), ("A4", 2.6)]
