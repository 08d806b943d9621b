"""Training, resuming, fine-tuning and evaluation on a small generated dataset (a reduced model)."""
from __future__ import annotations

import csv
import json

import pytest
import torch

from definitions.skeleton_io import write_ma52_pickles, write_pyskl
from recognizer import evaluate
from recognizer.checkpoints import load_mmn
from recognizer.data import Augment
from recognizer.inference import Recognizer
from recognizer.train import TrainConfig, lr_at, main as train_main, train
from tests.helpers import confusion_png_ok, synthetic_clips, write_label_tsv

SMALL = dict(width=32, blocks_per_scale=1, batch_size=16, lr=3e-3, warmup_epochs=1, min_lr=1e-4,
             weight_decay=0.01, device="cpu")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    d = tmp_path_factory.mktemp("synthetic")
    write_ma52_pickles(synthetic_clips(32, seed=1), d, "train")
    write_ma52_pickles(synthetic_clips(12, seed=2), d, "val")
    return d, write_label_tsv(d / "labels.tsv")


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    d, labels = dataset
    out = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(train=str(d / "train_data.pkl"), val=str(d / "val_data.pkl"), labels=str(labels),
                      out=str(out), epochs=8, **SMALL)
    return train(cfg), out


def test_learns_the_generated_motions(trained):
    result, out = trained
    assert result["best"]["top1"] >= 0.9, result["best"]
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert len(rows) == 8
    assert {"epoch", "lr", "train_loss", "val_loss", "top1", "top5", "f1_mean"} <= set(rows[0])
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])


def test_best_checkpoint_runs_in_the_recognizer(trained, dataset):
    _, out = trained
    model = load_mmn(out / "best.pt")
    assert model.checkpoint.format == "mmn-microaction" and model.checkpoint.stream == "joint"
    assert model.cfg.width == 32 and model.cfg.num_classes == 4
    rec = Recognizer(out / "best.pt", device="cpu")
    clips = synthetic_clips(3, seed=9)
    preds = rec.predict([c.keypoints for c in clips])
    assert [p.top5[0]["code"] for p in preds] == [f"X{c.label + 1}" for c in clips]
    assert preds[0].body_name == "head" and len(preds[0].top5) == 4


def test_resume_continues_the_same_run(dataset, tmp_path):
    d, labels = dataset
    common = dict(train=str(d / "train_data.pkl"), val=str(d / "val_data.pkl"), labels=str(labels), epochs=2,
                  **SMALL)
    straight = tmp_path / "straight"
    train(TrainConfig(out=str(straight), **common))
    split = tmp_path / "split"
    first = train(TrainConfig(out=str(split), stop_after=1, **common))
    assert first["epochs_done"] == 1
    train(TrainConfig(out=str(split), resume=True, **common))
    a = torch.load(straight / "last.pt", weights_only=True)["model"]
    b = torch.load(split / "last.pt", weights_only=True)["model"]
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-6), k
    rows = list(csv.DictReader((split / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]


def test_fine_tune_to_other_classes_and_pyskl(trained, tmp_path):
    _, out = trained
    clips = synthetic_clips(6, seed=5, classes=("wave_right", "nod"))
    write_pyskl(clips, tmp_path / "mine.pkl", split="train")
    labels = write_label_tsv(tmp_path / "two.tsv", classes=("wave_right", "nod"))
    cfg = TrainConfig(train=str(tmp_path / "mine.pkl"), train_split="train", labels=str(labels),
                      out=str(tmp_path / "ft"), epochs=1, init=str(out / "best.pt"), **SMALL)
    train(cfg)
    model = load_mmn(tmp_path / "ft" / "best.pt")
    assert model.cfg.num_classes == 2
    assert [a["name"] for a in model.checkpoint.labels] == ["wave right", "nod"]


def test_schedule_is_the_released_one():
    cfg = TrainConfig(train="", out="", epochs=120, warmup_epochs=20)
    steps = 176  # 11,250 clips / 64
    assert lr_at(0, cfg, steps) == pytest.approx(1e-7)
    assert lr_at(20 * steps, cfg, steps) == pytest.approx(1e-3)
    assert lr_at(70 * steps, cfg, steps) == pytest.approx(1e-5 + 0.5 * (1e-3 - 1e-5))
    assert lr_at(120 * steps, cfg, steps) == pytest.approx(1e-5)


def test_augmentation_really_changes_inputs():
    from recognizer.data import SkeletonDataset

    clips = synthetic_clips(1, seed=3)[:1]
    plain = SkeletonDataset(clips, train=True, augment=Augment(p=0.0), seed=0)
    always = SkeletonDataset(clips, train=True, augment=Augment(p=1.0), seed=0)
    x0, it0, _ = plain[0]
    x1, it1, _ = always[0]
    assert not torch.allclose(x0, x1)
    again, _, _ = always[0]
    assert torch.equal(x1, again)  # deterministic for a seed and epoch
    always.set_epoch(1)
    assert not torch.equal(always[0][0], x1)


def test_evaluate_command(trained, dataset, tmp_path, capsys):
    d, labels = dataset
    _, out = trained
    code = evaluate.main([str(d / "val_data.pkl"), "--checkpoint", str(out / "best.pt"), "--labels", str(labels),
                          "--out", str(tmp_path / "ev"), "--device", "cpu"])
    assert code == 0
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert m["top1"] >= 0.9 and 0 <= m["f1_mean"] <= 1
    confusion_png_ok(tmp_path / "ev" / "confusion.png", classes=4)
    rows = list(csv.DictReader((tmp_path / "ev" / "per_class.csv").open()))
    assert len(rows) == 4 and sum(int(r["support"]) for r in rows) == 48
    sub = list(csv.reader((tmp_path / "ev" / "prediction.csv").open()))
    assert len(sub) == 49 and len(sub[1]) == 9  # 4 classes: top-4 ids and their bodies
    assert "top1" in capsys.readouterr().out


def test_bad_training_input(tmp_path, capsys):
    (tmp_path / "x_data.pkl").write_bytes(b"nope")
    assert train_main(["--train", str(tmp_path / "x_data.pkl"), "--out", str(tmp_path / "o")]) == 2
    assert "x_data.pkl: not a readable pickle" in capsys.readouterr().err


def test_trained_checkpoint_in_the_pipeline(trained, small_video, tmp_path):
    import run_pipeline
    from pipeline.export import validate

    _, out = trained
    code = run_pipeline.main([str(small_video), "--out", str(tmp_path / "o"), "--checkpoint", str(out / "best.pt"),
                              "--mode", "clip", "--device", "cpu"])
    assert code == 0
    doc = json.loads((tmp_path / "o" / "person.json").read_text())
    validate(doc)
    assert doc["model"]["labels"] == "labels" and doc["model"]["checkpoints"][0]["format"] == "mmn-microaction"
    assert doc["segments"][0]["action"]["code"] in {"X1", "X2", "X3", "X4"}
