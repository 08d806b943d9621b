"""Benchmark metrics against hand-worked cases and scikit-learn."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from recognizer.metrics import benchmark_metrics, confusion_matrix, per_class_report


def test_hand_worked_case():
    # 4 actions; actions 0,1 are body part 0 and actions 2,3 body part 1
    body_of = np.array([0, 0, 1, 1])
    scores = np.array([
        [0.7, 0.1, 0.1, 0.1],  # true 0, pred 0
        [0.6, 0.3, 0.05, 0.05],  # true 1, pred 0 (right body), action 1 is 2nd
        [0.1, 0.1, 0.2, 0.6],  # true 2, pred 3 (right body)
        [0.1, 0.5, 0.1, 0.3],  # true 3, pred 1 (wrong body), action 3 is 2nd
    ])
    labels = np.array([0, 1, 2, 3])
    m = benchmark_metrics(scores, labels, body_of)
    assert m["top1"] == 0.25
    assert m["top5"] == 1.0
    assert m["body_top1"] == 0.75
    # action F1 per class: c0: tp1 fp1 fn0 -> 2/3; c1: tp0 -> 0; c2: 0; c3: 0 -> macro 1/6
    assert m["f1_macro_action"] == pytest.approx(1 / 6)
    assert m["f1_micro_action"] == pytest.approx(0.25)
    # body: true [0,0,1,1], pred [0,0,1,0]: b0: tp2 fp1 fn0 -> 0.8; b1: tp1 fp0 fn1 -> 2/3
    assert m["f1_macro_body"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert m["f1_micro_body"] == pytest.approx(0.75)
    assert m["f1_mean"] == pytest.approx((1 / 6 + 0.25 + (0.8 + 2 / 3) / 2 + 0.75) / 4)


def test_against_scikit_learn_on_random_predictions():
    rng = np.random.default_rng(0)
    body_of = np.repeat(np.arange(7), [5, 6, 13, 8, 6, 10, 4])
    labels = rng.integers(0, 52, 500)
    scores = rng.random((500, 52)) + np.eye(52)[labels] * rng.random((500, 1)) * 1.5
    m = benchmark_metrics(scores, labels, body_of)
    pred = scores.argmax(1)
    assert m["top1"] == pytest.approx(np.mean(pred == labels))
    assert m["f1_macro_action"] == pytest.approx(f1_score(labels, pred, average="macro"))
    assert m["f1_micro_action"] == pytest.approx(f1_score(labels, pred, average="micro"))
    assert m["f1_macro_body"] == pytest.approx(f1_score(body_of[labels], body_of[pred], average="macro"))
    top5 = np.argsort(-scores, 1)[:, :5]
    assert m["top5"] == pytest.approx(np.mean([labels[i] in top5[i] for i in range(500)]))


def test_report_and_confusion():
    scores = np.eye(3)[[0, 1, 1, 2]]
    labels = np.array([0, 1, 2, 2])
    cm = confusion_matrix(labels, scores.argmax(1), 3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    rep = per_class_report(scores, labels, ["a", "b", "c"])
    assert rep[1] == {"id": 1, "name": "b", "support": 1, "precision": 0.5, "recall": 1.0, "f1": 0.6667}
