"""The fine-tuning workflow as a user runs it: the installed commands, from a folder of their own, on
the real demo clips; and the traps on the way (clear one-line messages, nothing half-written)."""
from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.helpers import cmd, confusion_png_ok

LABELS = "action_id\tcode\taction_name\tbody_id\tbody_name\n0\tX1\tswaying\t0\tbody\n1\tX2\tnodding\t1\thead\n" \
         "2\tX3\tlooking aside\t1\thead\n"


def _repo_files() -> set[str]:
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True,
                         text=True).stdout
    return set(out.splitlines())


def _eaf(path: Path, video: Path, spans: list[tuple[float, float, str]]) -> Path:
    import pympi

    eaf = pympi.Elan.Eaf(author="annotator")
    eaf.add_linked_file(video.resolve().as_uri(), mimetype="video/mp4")
    eaf.add_tier("actions")
    for a, b, value in spans:
        eaf.add_annotation("actions", int(a * 1000), int(b * 1000), value)
    eaf.to_file(str(path))
    return path


@pytest.mark.slow
def test_whole_fine_tuning_workflow_from_another_folder(tmp_path, demo_dir, ref_checkpoint):
    before = _repo_files()
    work = tmp_path / "my_study"  # the researcher's own folder, nowhere near the repository
    work.mkdir()
    clips = {"A1_shaking_body__0030_01_0002": "X1", "B1_nodding__0019_02_0078": "X2",
             "B3_turning_head__0010_02_0101": "X3"}
    # 1. pose caches from the pipeline
    cmd("microaction-run", demo_dir, "--out", "results", "--mode", "clip", cwd=work)
    (work / "my_labels.tsv").write_text(LABELS)
    # 2. annotations: a CSV for training, ELAN files for validation
    with open(work / "train.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["pose", "start_s", "end_s", "label"])
        for stem, code in clips.items():
            w.writerow([f"results/{stem}.pose.npz", 0.0, 1.5, code])
    for stem, code in clips.items():
        name = {"X1": "swaying", "X2": "nodding", "X3": "looking aside"}[code]  # names work as labels too
        _eaf(work / "results" / f"{stem}.eaf", demo_dir / f"{stem}.mp4", [(0.1, 1.4, name)])
    # 3. export (the label set goes beside the data)
    cmd("microaction-export", "train.csv", "--labels", "my_labels.tsv", "--out", "mydata", "--split", "train", cwd=work)
    eafs = [f"results/{s}.eaf" for s in clips]
    cmd("microaction-export", *eafs, "--tier", "actions", "--labels", "my_labels.tsv", "--out", "mydata",
        "--split", "val", cwd=work)
    assert (work / "mydata" / "labels.tsv").read_text() == "# label set: my_labels\n" + LABELS
    # 4. two epochs from the official-format checkpoint; no --labels: taken from mydata/labels.tsv
    res = cmd("microaction-train", "--train", "mydata/train_data.pkl", "--val", "mydata/val_data.pkl", "--init",
              ref_checkpoint, "--epochs", "2", "--warmup-epochs", "1", "--batch-size", "4", "--out", "runs/mine",
              cwd=work)
    assert "labels: mydata/labels.tsv (3 actions)" in res.stderr
    assert "epoch 1/2:" in res.stderr and "epoch 2/2:" in res.stderr  # plain lines: the output is not a terminal
    # 5. evaluation, 6. the pipeline with the new checkpoint, 7. classify a pose cache
    cmd("microaction-evaluate", "mydata/val_data.pkl", "--checkpoint", "runs/mine/best.pt", "--out", "eval", cwd=work)
    confusion_png_ok(work / "eval" / "confusion.png", classes=3, well_recognised=False)  # two epochs only
    cmd("microaction-run", demo_dir / "B1_nodding__0019_02_0078.mp4", "--out", "final", "--mode", "clip",
        "--checkpoint", "runs/mine/best.pt", cwd=work)
    doc = json.loads((work / "final" / "B1_nodding__0019_02_0078.json").read_text())
    assert doc["segments"][0]["action"]["name"] in ("swaying", "nodding", "looking aside")
    assert doc["model"]["labels"] == "my_labels"
    rows = list(csv.DictReader((work / "final" / "B1_nodding__0019_02_0078.csv").open()))
    assert rows[0]["action_name"] in ("swaying", "nodding", "looking aside")
    res = cmd("microaction-classify", "results/B1_nodding__0019_02_0078.pose.npz", "--checkpoint", "runs/mine/best.pt",
              "--start", "0.2", "--end", "1.5", cwd=work)
    assert any(n in res.stdout for n in ("swaying", "nodding", "looking aside"))
    assert _repo_files() == before  # nothing written into the source tree


# -- traps ------------------------------------------------------------------------------------------
def _one_line_error(res, *parts):
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, res.stderr
    for p in parts:
        assert p in res.stderr, res.stderr


@pytest.fixture(scope="module")
def study(tmp_path_factory, demo_dir):
    work = tmp_path_factory.mktemp("traps")
    import run_pipeline

    clip = demo_dir / "B1_nodding__0019_02_0078.mp4"
    assert run_pipeline.main([str(clip), "--out", str(work / "results"), "--mode", "clip"]) == 0
    (work / "my_labels.tsv").write_text(LABELS)
    return work


def _csv(path: Path, rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([["pose", "start_s", "end_s", "label"], *rows])
    return path


def test_label_file_with_a_missing_column(study):
    bad = study / "bad_labels.tsv"
    bad.write_text("action_id\tcode\taction_name\tbody_id\n0\tX1\tswaying\t0\n")
    _csv(study / "a.csv", [["results/B1_nodding__0019_02_0078.pose.npz", 0, 1, "X1"]])
    res = cmd("microaction-export", "a.csv", "--labels", "bad_labels.tsv", "--out", "d1", cwd=study, ok=False)
    _one_line_error(res, "bad_labels.tsv:1", "body_name")
    assert not (study / "d1").exists()
    res = cmd("microaction-train", "--train", "x.pkl", "--labels", "bad_labels.tsv", "--out", "r1", cwd=study, ok=False)
    _one_line_error(res)
    bad.write_text("action_id\tcode\taction_name\tbody_id\tbody_name\n0\tX1\tswaying\tzero\tbody\n")
    res = cmd("microaction-export", "a.csv", "--labels", "bad_labels.tsv", "--out", "d1", cwd=study, ok=False)
    _one_line_error(res, "bad_labels.tsv:2", "body_id")


def test_annotation_past_the_end_of_the_video_and_other_bad_rows(study):
    pose = "results/B1_nodding__0019_02_0078.pose.npz"
    for rows, expect in (
        ([[pose, 0, 1, "X1"], [pose, 1.0, 9.0, "X2"]], ("a.csv:3", "past the end of the video")),
        ([[pose, 0, 1, "nope"]], ("a.csv:2", "'nope' is not in the label set")),
        ([[pose, "x", 1, "X1"]], ("a.csv:2", "start_s and end_s must be numbers")),
        ([[pose, 1.2, 0.4, "X1"]], ("a.csv:2", "before end_s")),
        ([["results/missing.pose.npz", 0, 1, "X1"]], ("a.csv:2", "missing.pose.npz")),
    ):
        _csv(study / "a.csv", rows)
        res = cmd("microaction-export", "a.csv", "--labels", "my_labels.tsv", "--out", "d2", cwd=study, ok=False)
        _one_line_error(res, *expect)
        assert not (study / "d2" / "train_data.pkl").exists()
    (study / "b.csv").write_text("pose,start,end,label\n")
    res = cmd("microaction-export", "b.csv", "--out", "d2", cwd=study, ok=False)
    _one_line_error(res, "b.csv:1", "start_s")
    res = cmd("microaction-export", "b.csv", "--out", "d2", "--split", "../../elsewhere", cwd=study, ok=False)
    assert res.returncode == 2 and "--split must be a plain name" in res.stderr


def test_custom_data_without_a_label_set_is_refused(study):
    _csv(study / "c.csv", [["results/B1_nodding__0019_02_0078.pose.npz", 0, 1.5, "X2"]])
    cmd("microaction-export", "c.csv", "--labels", "my_labels.tsv", "--out", "d3", cwd=study)
    (study / "d3" / "labels.tsv").unlink()  # as data exported before labels.tsv existed
    res = cmd("microaction-train", "--train", "d3/train_data.pkl", "--epochs", "1", "--out", "r3", cwd=study, ok=False)
    _one_line_error(res, "holds 1 classes", "--labels")
    assert not (study / "r3" / "best.pt").exists()


def test_another_label_set_into_the_same_folder_is_refused(study):
    _csv(study / "e.csv", [["results/B1_nodding__0019_02_0078.pose.npz", 0, 1.5, "A1"]])
    cmd("microaction-export", "e.csv", "--out", "d4", cwd=study)  # MA-52 labels
    _csv(study / "f.csv", [["results/B1_nodding__0019_02_0078.pose.npz", 0, 1.5, "X1"]])
    res = cmd("microaction-export", "f.csv", "--labels", "my_labels.tsv", "--out", "d4", "--split", "val", cwd=study,
              ok=False)
    _one_line_error(res, "another label set")
    assert not (study / "d4" / "val_data.pkl").exists()


def test_interrupted_training_says_what_was_saved(tmp_path):
    from recognizer.train import interrupted_message

    import torch

    msg = interrupted_message(tmp_path)
    assert "nothing was saved" in msg and "without --resume" in msg
    torch.save({"epoch": 2}, tmp_path / "last.pt")  # the state after three finished epochs
    msg = interrupted_message(tmp_path)
    assert "epoch 3 is the last one saved" in msg and "and --resume" in msg


def test_classify_a_pose_cache(study, ref_checkpoint):
    from pipeline.classify import main

    assert main([str(study / "results" / "B1_nodding__0019_02_0078.pose.npz"), "--checkpoint", str(ref_checkpoint),
                 "--end", "1.0"]) == 0
    assert main([str(study / "results" / "B1_nodding__0019_02_0078.pose.npz"), "--checkpoint", str(ref_checkpoint),
                 "--person", "7"]) == 2
    clip_cache = np.load(study / "results" / "B1_nodding__0019_02_0078.pose.npz")
    assert "raw_keypoints_0" in clip_cache.files
