"""Bad inputs and faults, second pass (issue 17, in part): each case asserts the exit code, a message
naming the file or option, no traceback on the terminal, and no stale or half-written output."""
from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

import run_pipeline
from pipeline.options import Options
from tests.test_robustness import _person_video, _run


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err


@pytest.mark.parametrize("option, value, says", [
    ("--window", "nan", "--window must be a positive number"),
    ("--window", "-2", "--window must be a positive number"),
    ("--stride", "inf", "--stride must be a positive number"),
    ("--still-threshold", "nan", "--still-threshold must be a number >= 0"),
    ("--max-side", "-5", "--max-side must be 0 (full size) or at least 64"),
    ("--max-side", "10", "--max-side must be 0 (full size) or at least 64"),
    ("--person", "foo", "--person must be subject, all or a person id"),
    ("--max-persons", "0", "--max-persons must be at least 1"),
])
def test_options_that_cannot_work_are_refused_before_any_work(tmp_path, capsys, option, value, says):
    video = _person_video(tmp_path / "v.mp4")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        run_pipeline.main([str(video), "--out", str(out), option, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert says in err
    _no_traceback(err)
    assert not out.exists()  # nothing created


@pytest.mark.parametrize("name", ["interview [draft].mp4", "odd [/x] name.mp4", "[bold]loud[/bold].mp4"])
def test_file_names_are_shown_as_they_are(tmp_path, capsys, monkeypatch, name):
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: the summary table keeps names on one line
    video = _person_video(tmp_path / name)
    code, err = _run([video, "--out", tmp_path / "out", "--mode", "long"], capsys)
    assert code == 0, err
    shown = name.split("/")[-1]  # "odd [/x] name.mp4" is the file "x] name.mp4" in the folder "odd ["
    assert shown in err
    assert (tmp_path / "out" / shown.replace(".mp4", ".json")).exists()
    # a broken video with such a name fails in one line that names it
    bad = (tmp_path / name).parent / f"broken {shown}"  # its path holds "[/broken ...]" for the first case
    bad.write_bytes(b"not a video at all")
    code, err = _run([bad, "--out", tmp_path / "out2"], capsys)
    assert code == 1 and f"broken {shown}" in " ".join(err.split())
    _no_traceback(err)


def test_paths_starting_with_a_dash_are_files_not_options(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "videos"
    folder.mkdir()
    _person_video(folder / "-report.mp4")
    (folder / "list.txt").write_text("-report.mp4\n")
    monkeypatch.chdir(folder)
    code, err = _run([folder / "list.txt", "--out", tmp_path / "out", "--mode", "long"], capsys)
    assert code == 0, err
    assert (tmp_path / "out" / "-report.json").exists()
    assert not list(folder.glob("ffprobe-*.log")) and not list(folder.glob("ffmpeg-*.log"))  # -report was not run


def _first_doc(out, name="v"):
    return json.loads((out / f"{name}.json").read_text())


def test_resume_recomputes_when_the_video_changed_anywhere(tmp_path, capsys):
    from pose.result import load_pose, video_fingerprint

    video = _person_video(tmp_path / "v.mp4", seconds=2.0)
    out = tmp_path / "out"
    assert _run([video, "--out", out, "--mode", "long"], capsys)[0] == 0
    before = _first_doc(out)
    data = bytearray(video.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte in the middle of the encoded video

    video.write_bytes(bytes(data))
    code, err = _run([video, "--out", out, "--mode", "long", "--resume"], capsys)
    assert code == 0, err  # the changed video still decodes: it is done again, not failed
    assert "0 skipped" in err  # not passed off as complete
    after = _first_doc(out)
    fingerprint = video_fingerprint(video)
    assert before["video"]["fingerprint"] != fingerprint == after["video"]["fingerprint"]
    assert after["timing"] != before["timing"]  # a new run's record, not the old one kept
    assert load_pose(out / "v.pose.npz").fingerprint == fingerprint  # the pose too was recomputed


def test_fingerprint_reads_the_whole_file(tmp_path):
    from pose.result import video_fingerprint

    path = tmp_path / "big.bin"
    data = bytearray(os.urandom(5 << 20))  # 5 MiB: one byte between the old first/middle/last MiB samples
    path.write_bytes(bytes(data))
    before = video_fingerprint(path)
    data[(1 << 20) + 100] ^= 1
    path.write_bytes(bytes(data))
    assert video_fingerprint(path) != before


def test_resume_recomputes_when_the_alphapose_results_changed(tmp_path, capsys):
    from tests.test_pose import _record, _write

    video = _person_video(tmp_path / "v.mp4", seconds=1.0)
    results = tmp_path / "v.json"
    _write(results, [_record(f, (40, 40)) for f in range(10)])
    args = [video, "--out", tmp_path / "out", "--pose", "alphapose-json", "--alphapose-json", results, "--mode", "long"]
    assert _run(args, capsys)[0] == 0
    assert "1 skipped" in _run(args + ["--resume"], capsys)[1]  # unchanged: complete
    _write(results, [_record(f, (60, 40)) for f in range(10)])
    code, err = _run(args + ["--resume"], capsys)
    assert code == 0 and "0 skipped" in err and "1 done" in err


def test_tool_version_and_method_constants_are_part_of_the_settings_key(monkeypatch):
    import pipeline

    opts = Options(out=None)
    key = opts.settings_key([])
    with monkeypatch.context() as m:
        m.setattr(pipeline, "__version__", "9.9.9")
        assert opts.settings_key([]) != key
    assert opts.settings_key([]) == key
    from pipeline import description

    monkeypatch.setattr(description, "MAX_EPISODE_S", 4.0)
    assert opts.settings_key([]) != key
    assert Options(out=None, raw_keypoints=True).settings_key([]) != key


def test_pose_cache_of_another_joint_count_is_recomputed(tmp_path, capsys):
    video = _person_video(tmp_path / "v.mp4", seconds=1.0)
    out = tmp_path / "out"
    assert _run([video, "--out", out, "--mode", "long"], capsys)[0] == 0
    cache = out / "v.pose.npz"
    with np.load(cache) as z:
        arrays = {k: z[k] for k in z.files}
    for k in list(arrays):
        if k.startswith(("keypoints_", "raw_keypoints_")):
            arrays[k] = arrays[k][:, :17]
    np.savez(cache, **arrays)
    code, err = _run([video, "--out", out, "--mode", "long"], capsys)
    assert code == 0, err
    _no_traceback(err)
    from pose.result import load_pose

    assert load_pose(cache).tracks[0].keypoints.shape[1:] == (44, 2)


class _BuggyBackend:
    """A backend with a bug of ours (not a user error)."""

    name, max_side, settings = "mediapipe", None, {}

    def reset(self):
        pass

    def close(self):
        pass

    def process(self, image, w, h, time=None):
        return 1 / 0


def test_a_bug_of_ours_keeps_its_traceback_and_says_where(tmp_path):
    from pipeline.batch import run_batch
    from pipeline.inputs import collect_inputs
    from pipeline.run import Pipeline

    video = _person_video(tmp_path / "v.mp4")
    out = tmp_path / "out"
    out.mkdir()
    summary = run_batch(collect_inputs([video]), Pipeline(Options(out=out, mode="long"), backend=_BuggyBackend()))
    (o,) = summary.outcomes
    assert o.status == "failed" and "ZeroDivisionError" in o.message and "errors.log" in o.message
    log = (out / "errors.log").read_text()
    assert "Traceback" in log and "1 / 0" in log and str(video) in log
    assert summary.exit_code == 1


# -- checkpoints: metadata checked before it is trusted -------------------------------------------------
@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    import torch

    from recognizer.checkpoints import save_project_checkpoint
    from recognizer.mmn import MMN, MMNConfig

    path = tmp_path_factory.mktemp("ckpt") / "small.pt"
    save_project_checkpoint(path, MMN(MMNConfig(num_classes=3, width=16, blocks_per_scale=1)), stream="joint",
                            labels=[{"id": i, "code": f"X{i}", "name": f"a{i}", "body_id": 0, "body_name": "body"}
                                    for i in range(3)])
    return path, torch.load(path, weights_only=True)


@pytest.mark.parametrize("change, says", [
    (lambda p: p["config"].update(blocks_per_scale=200000), "blocks_per_scale must be a whole number in 1..16"),
    (lambda p: p["config"].update(width="wide"), "width must be a whole number"),
    (lambda p: p.update(config=[1, 2]), "not a mapping"),
    (lambda p: p.update(labels="MA-52"), "bad labels in checkpoint"),
    (lambda p: p["labels"][1].update(name=7), "entry 1 must be"),
    (lambda p: p["state_dict"].update({k: v * float("nan") for k, v in list(p["state_dict"].items())[:1]}),
     "NaN or infinite"),
    (lambda p: p["state_dict"].update({k: v.long() for k, v in list(p["state_dict"].items())[:1]}),
     "must be floating point"),
])
def test_bad_checkpoint_metadata_is_a_one_line_error(tmp_path, capsys, small_checkpoint, change, says):
    import copy
    import time

    import torch

    _, payload = small_checkpoint
    bad = copy.deepcopy(payload)
    change(bad)
    path = tmp_path / "bad.pt"
    torch.save(bad, path)
    video = _person_video(tmp_path / "v.mp4")
    t = time.perf_counter()
    code, err = _run([video, "--out", tmp_path / "out", "--checkpoint", path], capsys)
    assert time.perf_counter() - t < 30  # refused before building anything huge
    assert code == 2 and says in " ".join(err.split()) and "bad.pt" in err
    _no_traceback(err)
    assert not (tmp_path / "out" / "v.json").exists()


@pytest.mark.parametrize("args, says", [
    (["--epochs", "-1"], "--epochs must be at least 1"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--lr", "nan"], "--lr must be a finite number"),
    (["--blocks-per-scale", "200000"], "--blocks-per-scale at most 16"),
])
def test_training_options_that_cannot_work(tmp_path, capsys, args, says):
    from recognizer.train import main

    with pytest.raises(SystemExit) as exc:
        main(["--train", str(tmp_path / "x.pkl"), "--out", str(tmp_path / "run"), *args])
    assert exc.value.code == 2 and says in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


# -- inputs and outputs ------------------------------------------------------------------------------
def test_list_file_with_a_missing_path(tmp_path, capsys):
    (tmp_path / "videos").mkdir()
    video = _person_video(tmp_path / "videos" / "v.mp4")
    (tmp_path / "list.txt").write_text(f"videos/{video.name}\n# a comment\n/nowhere/at/all/missing.mp4\n")
    out = tmp_path / "out"
    code, err = _run([tmp_path / "list.txt", "--out", out, "--mode", "long"], capsys)
    assert code == 1 and "missing.mp4" in err and "1 done" in err  # that video fails, the others are done
    _no_traceback(err)
    assert (out / "v.json").exists()  # mirrored below the existing inputs' folder, not from the root
    assert not (out / "nowhere").exists()


def test_output_folder_inside_the_input_folder(tmp_path, capsys):
    src = tmp_path / "videos"
    src.mkdir()
    _person_video(src / "v.mp4")
    out = src / "results"
    assert _run([src, "--out", out, "--mode", "long", "--overlay"], capsys)[0] == 0
    assert (out / "v.overlay.mp4").exists()
    code, err = _run([src, "--out", out, "--mode", "long", "--overlay", "--resume"], capsys)
    assert code == 0 and "1 skipped" in err and "0 done" in err  # its own overlay is not an input
    assert not (out / "results").exists()
    # outputs beside the inputs (--out is the input folder): only the overlays are ours
    assert _run([src, "--out", src, "--mode", "long", "--overlay"], capsys)[0] == 0
    code, err = _run([src, "--out", src, "--mode", "long", "--overlay", "--resume"], capsys)
    assert code == 0 and "1 skipped" in err


def test_bad_checkpoint_found_while_pose_began_stops_the_run_in_one_line(tmp_path, capsys):
    """With pose workers the first chunks are handed out while the checkpoints load: a bad one stops the
    run (exit 2, one line naming it) before any video is finished, the workers stop, and nothing but
    finished pose chunks (kept for the rerun) is left in the output folder."""
    from tests.test_robustness import _leftovers

    folder = tmp_path / "in"
    for name in ("a", "b"):
        _person_video(folder / f"{name}.mp4")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    out = tmp_path / "new_out"
    code, err = _run([folder, "--out", out, "--workers", "2", "--checkpoint", tmp_path / "junk.pt"], capsys)
    assert code == 2 and "junk.pt" in err and len(err.strip().splitlines()) == 1, err
    _no_traceback(err)
    left = sorted(p.relative_to(out) for p in out.rglob("*")) if out.exists() else []
    assert all(p.parts[0].endswith(".pose-parts") for p in left), left
    assert out.exists() or not _leftovers(tmp_path)


def test_bad_checkpoint_leaves_no_empty_output_folder(tmp_path, capsys):
    video = _person_video(tmp_path / "v.mp4")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    code, err = _run([video, "--out", tmp_path / "new_out", "--checkpoint", tmp_path / "junk.pt"], capsys)
    assert code == 2 and "junk.pt" in err
    assert not (tmp_path / "new_out").exists()


# -- AlphaPose results -----------------------------------------------------------------------------
def test_alphapose_results_numbered_from_one_negative_ids_and_other_formats(tmp_path, capsys):
    from tests.test_pose import _record, _write

    video = _person_video(tmp_path / "v.mp4", seconds=1.0)  # 10 frames
    base = [video, "--out", tmp_path / "out", "--pose", "alphapose-json", "--mode", "long", "--alphapose-json"]
    ones = _write(tmp_path / "from_one.json", [_record(f, (40, 40)) for f in range(1, 11)])  # 1..10 (%06d)
    code, err = _run(base + [ones], capsys)
    assert code == 0, err
    doc = json.loads((tmp_path / "out" / "v.json").read_text())
    assert doc["pose"]["settings"]["frames_numbered_from"] == 1 and doc["pose"]["persons"][0]["frames_seen"] == 10
    neg = _write(tmp_path / "neg.json", [_record(0, (40, 40)) | {"image_id": -3}])
    code, err = _run(base + [neg, "--resume"], capsys)
    assert code == 1 and "neg.json: image_id -3 is negative" in " ".join(err.split())
    cmu = tmp_path / "cmu.json"
    cmu.write_text(json.dumps({"0.jpg": {"version": 1.3, "people": [{"pose_keypoints_2d": [0, 0, 1]}]}}))
    code, err = _run(base + [cmu, "--resume"], capsys)
    assert code == 1 and "--format cmu / open output" in " ".join(err.split())
    _no_traceback(err)


def test_alphapose_results_that_end_early_or_are_empty_are_noted(tmp_path, capsys):
    """AlphaPose stops at OpenCV's frame count or the first unreadable frame: a cut tail looks like
    nobody, so the record says so."""
    from tests.test_pose import _record, _write

    video = _person_video(tmp_path / "v.mp4", seconds=4.0)  # 40 frames at 10 fps
    base = [video, "--pose", "alphapose-json", "--mode", "long", "--alphapose-json"]
    for name, recs, says in (("tail.json", [_record(f, (40, 40)) for f in range(15)], "end at frame 14 of 40"),
                             ("empty.json", [], "hold no detection at all"),
                             ("full.json", [_record(f, (40, 40)) for f in range(39)], None)):
        out = tmp_path / f"out_{name[:-5]}"
        code, err = _run(base + [_write(tmp_path / name, recs), "--out", out], capsys)
        assert code == 0, err
        notes = " ".join(json.loads((out / "v.json").read_text())["notes"])
        assert (says in notes) if says else "AlphaPose results" not in notes


def test_cut_off_video_is_done_with_a_warning(tmp_path, capsys):
    """A file cut off half-way while it was copied: its index (at the front) still declares every frame,
    the frames after the cut are gone. It is analysed as far as it goes, with a warning and a note."""
    from pipeline.video_probe import probe
    from tests.helpers import ffmpeg

    whole = _person_video(tmp_path / "whole.mp4", seconds=3.0)
    front = tmp_path / "front.mp4"
    ffmpeg("-i", str(whole), "-c", "copy", "-movflags", "+faststart", str(front))
    data = front.read_bytes()
    video = tmp_path / "v.mp4"
    video.write_bytes(data[: len(data) // 2])
    assert probe(video).num_frames == 30
    code, err = _run([video, "--out", tmp_path / "out", "--mode", "long"], capsys)
    assert code == 0, err
    flat = " ".join(err.split())
    assert "1 done" in flat and "0 failed" in flat
    row = re.findall(r"warning: only (\d+) of the 30 frames", flat)  # the summary's warning
    doc = _first_doc(tmp_path / "out")
    decoded = doc["video"]["num_frames"]
    assert row == [str(decoded)], err
    assert 0 < decoded < 27  # fewer than 90 % of the declared frames: the run went as far as the file goes
    assert f"only {decoded} of the 30 frames the file declares could be decoded" in " ".join(doc["notes"])


# -- other entry points ----------------------------------------------------------------------------
def test_classify_and_evaluate_on_an_empty_pickle(tmp_path, capsys, ref_checkpoint):
    from definitions.skeleton_io import write_ma52_pickles
    from pipeline.classify import main as classify
    from recognizer.evaluate import main as evaluate

    data, _ = write_ma52_pickles([], tmp_path, "empty")
    assert classify([str(data), "--checkpoint", str(ref_checkpoint)]) == 2
    assert evaluate([str(data), "--checkpoint", str(ref_checkpoint), "--out", str(tmp_path / "ev")]) == 2
    out = capsys.readouterr()
    assert "holds no clips" in out.out + out.err and "Traceback" not in out.out + out.err


def test_evaluate_refuses_out_of_range_labels_and_unwritable_out_before_inference(tmp_path, capsys, ref_checkpoint):
    from definitions.skeleton_io import SkeletonClip, write_ma52_pickles
    from recognizer.evaluate import main as evaluate

    kp = np.random.default_rng(0).random((30, 44, 2)).astype(np.float32) * 300
    data, _ = write_ma52_pickles([SkeletonClip("c0", kp, label=77)], tmp_path, "val")
    assert evaluate([str(data), "--checkpoint", str(ref_checkpoint), "--out", str(tmp_path / "ev")]) == 2
    assert "outside the checkpoint's 0..51" in " ".join(capsys.readouterr().out.split())
    data, _ = write_ma52_pickles([SkeletonClip("c0", kp, label=3)], tmp_path, "val2")
    (tmp_path / "file").write_text("")
    assert evaluate([str(data), "--checkpoint", str(ref_checkpoint), "--out", str(tmp_path / "file" / "ev")]) == 2
    assert "cannot be written" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("command", ["train", "export"])
def test_train_and_export_refuse_an_unwritable_out_before_any_work(tmp_path, capsys, command):
    from pose.export_skeletons import main as export
    from recognizer.train import main as train

    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "run"
    if command == "train":  # the training pickle is not even read
        code = train(["--train", str(tmp_path / "missing.pkl"), "--out", str(out)])
    else:
        code = export([str(tmp_path / "missing.csv"), "--out", str(out)])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and f"{out}: output folder cannot be written" in err
    _no_traceback(err)


@pytest.mark.parametrize("labels, split, says", [
    ("id\tcode\nx\ty\n", "train", "labels.tsv"),
    (None, "../escape", "--split must be a plain name"),
    (None, "a/b", "--split must be a plain name"),
])
def test_export_malformed_labels_or_escaping_split(tmp_path, capsys, labels, split, says):
    from pose.export_skeletons import main as export

    args = [str(tmp_path / "ann.csv"), "--out", str(tmp_path / "out"), "--split", split]
    (tmp_path / "ann.csv").write_text("pose,start_s,end_s,label\n")
    if labels is not None:
        (tmp_path / "labels.tsv").write_text(labels)
        args += ["--labels", str(tmp_path / "labels.tsv")]
    try:
        code = export(args)
    except SystemExit as e:
        code = e.code
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and says in err, err
    _no_traceback(err)
    assert not (tmp_path / "escape").exists() and not list(tmp_path.glob("out/*.pkl"))


def test_cut_off_alphapose_results_fail_that_video_in_one_line(tmp_path, capsys):
    video = _person_video(tmp_path / "v.mp4")
    results = tmp_path / "v.json"
    record = {"image_id": "0.jpg", "keypoints": [1.0, 2.0, 0.9] * 136}
    results.write_text(json.dumps([record] * 3)[:-700])  # AlphaPose killed while writing
    code, err = _run([video, "--out", tmp_path / "out", "--pose", "alphapose-json", "--alphapose-json", results],
                     capsys)
    flat = " ".join(err.split())
    assert code == 1 and f"{results}: not valid JSON" in flat
    _no_traceback(err)
    assert not (tmp_path / "out" / "v.json").exists()


# -- a full disk ----------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 400 KiB tmpfs (root only, where mounting is allowed; skipped elsewhere)."""
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({res.stderr.decode(errors='replace').strip()[:80]})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_full_disk_is_a_clean_error_for_that_video(tmp_path, capsys, small_disk):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.mp4", "b.mp4"):
        _person_video(src / name, seconds=2.0)
    code, err = _run([src, "--out", small_disk / "out", "--mode", "long"], capsys)
    flat = " ".join(err.split())
    assert code == 1 and "2 failed" in flat  # each video failed in one line, the batch went on to the end
    assert flat.count("no space left") >= 2
    _no_traceback(err)
    # nothing half-written: finished pose chunks stay (complete, for the rerun once there is space); the
    # batch index (small, written whole) lists the two failures
    leftovers = [p.name for p in (small_disk / "out").rglob("*") if p.is_file()
                 and p.name not in ("errors.log", "index.html", "summary.csv")
                 and not p.parent.name.endswith(".pose-parts")]
    assert leftovers == []
    summary = (small_disk / "out" / "summary.csv")
    assert summary.read_text().count(",failed,") == 2
    for part in (small_disk / "out").rglob("*.pose-parts/*"):
        assert part.suffix == ".npz" and np.load(part)["times"].size


def test_disk_full_while_writing_the_outputs_is_a_clean_error_without_a_mount(tmp_path, capsys, monkeypatch):
    """The same failure where no small disk can be mounted: the disk is full when the outputs' temporary
    files are flushed (``fsync`` reports ENOSPC there on a real full disk with delayed allocation), for
    every file of the videos; the small batch index, written after the failed videos freed their space,
    fits."""
    import errno

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("a.mp4", "b.mp4"):
        _person_video(src / name, seconds=2.0)
    real_fsync, full = os.fsync, []

    def fsync(fd):
        name = os.readlink(f"/proc/self/fd/{fd}")
        if name.startswith(str(out)) and not os.path.basename(name).startswith((".summary.csv.", ".index.html.")):
            full.append(name)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    code, err = _run([src, "--out", out, "--mode", "long"], capsys)
    flat = " ".join(err.split())
    assert full  # the outputs were written (and failed) through the atomic writer
    assert code == 1 and "2 failed" in flat, err
    for name in ("a.mp4", "b.mp4"):  # each video's failure in one line, naming it and the full disk
        lines = [ln for ln in err.splitlines() if ln.startswith(f"failed: {src / name}: ")]
        assert lines and all("No space left on device" in ln for ln in lines), err  # as it fails, and at the end
    _no_traceback(err)
    # nothing half-written: no temporary file, no output of either video; the batch index lists both
    leftovers = [p.name for p in out.rglob("*") if p.is_file()
                 and p.name not in ("errors.log", "index.html", "summary.csv")
                 and not p.parent.name.endswith(".pose-parts")]
    assert leftovers == []
    assert (out / "summary.csv").read_text().count(",failed,") == 2


def test_disk_array_reserves_its_space(small_disk):
    from common.diskarray import DiskArray

    arr = DiskArray((44, 2), np.float32, fill=np.nan, scratch_dir=small_disk)
    with pytest.raises(OSError, match="no space left on the disk for the keypoint data"):
        for n in range(1, 12):
            arr.ensure(1024 * 2 ** n)


def test_disk_array_reserves_its_space_without_a_mount(tmp_path, monkeypatch):
    """The same where no small disk can be mounted: a 400 KiB disk, as ``posix_fallocate`` (where a real
    full disk says so) sees it; the rows reserved before stay usable."""
    import errno

    from common.diskarray import DiskArray

    real = os.posix_fallocate

    def fallocate(fd, offset, length):
        if offset + length > 400 << 10:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, offset, length)

    monkeypatch.setattr(os, "posix_fallocate", fallocate)
    arr = DiskArray((44, 2), np.float32, fill=np.nan, scratch_dir=tmp_path)
    rows = None
    with pytest.raises(OSError, match=f"{tmp_path}: no space left on the disk for the keypoint data"):
        for n in range(1, 12):
            rows = arr.ensure(64 * 2 ** n)  # 352 bytes a row: 128 rows, 256, ... until 400 KiB is passed
    assert rows is not None and 0 < rows.nbytes <= 400 << 10
    rows[:] = 1.0  # what was reserved is there
    assert float(rows.sum()) == rows.size


def test_unreachable_ray_address_is_a_quick_one_line_error(tmp_path, capsys):
    import socket
    import time

    from pipeline.distributed import RayUnavailable, check_reachable

    with socket.socket() as s:  # a port on this machine that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.perf_counter()
    with pytest.raises(RayUnavailable, match=f"127.0.0.1:{port}: cannot reach the Ray cluster"):
        check_reachable(f"127.0.0.1:{port}", timeout=2)
    assert time.perf_counter() - t < 5
    with pytest.raises(RayUnavailable, match="expected host:port"):
        check_reachable("nonsense")
    check_reachable("auto")  # left to Ray
    # as a user meets it: the run stops at once with that one line, exit code 2, no output folder left
    video = _person_video(tmp_path / "v.mp4")
    out = tmp_path / "out"
    t = time.perf_counter()
    code, err = _run([video, "--out", out, "--engine", "ray", "--ray-address", f"127.0.0.1:{port}"], capsys)
    assert time.perf_counter() - t < 10  # Ray alone retries an unreachable address for minutes
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if "cannot reach the Ray cluster" in ln]
    assert len(lines) == 1 and f"--ray-address 127.0.0.1:{port}: cannot reach the Ray cluster" in lines[0], err
    _no_traceback(err)
    assert not out.exists()
