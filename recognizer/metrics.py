"""The MA-52 benchmark's metrics, per-class reports and the confusion-matrix picture.

Top-1 / top-5 accuracy on actions, top-1 on body parts (the body of the top-1 action), F1 macro and
micro (scikit-learn's ``f1_score``, as the benchmark uses) at the action and body levels, and
F1_mean = (F1_macro_body + F1_micro_body + F1_macro_action + F1_micro_action) / 4.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _f1(y_true: np.ndarray, y_pred: np.ndarray, average: str) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average=average, zero_division=0))


def benchmark_metrics(scores: np.ndarray, labels: np.ndarray, body_of: np.ndarray) -> dict[str, float]:
    """``scores`` [N, classes] (logits or probabilities), ``labels`` [N], ``body_of`` [classes]."""
    scores, labels, body_of = np.asarray(scores), np.asarray(labels), np.asarray(body_of)
    order = np.argsort(-scores, axis=1, kind="stable")
    top1 = order[:, 0]
    k = min(5, scores.shape[1])
    body_true, body_pred = body_of[labels], body_of[top1]
    m = {
        "top1": float(np.mean(top1 == labels)),
        "top5": float(np.mean((order[:, :k] == labels[:, None]).any(axis=1))),
        "body_top1": float(np.mean(body_pred == body_true)),
        "f1_macro_action": _f1(labels, top1, "macro"),
        "f1_micro_action": _f1(labels, top1, "micro"),
        "f1_macro_body": _f1(body_true, body_pred, "macro"),
        "f1_micro_body": _f1(body_true, body_pred, "micro"),
    }
    m["f1_mean"] = (m["f1_macro_body"] + m["f1_micro_body"] + m["f1_macro_action"] + m["f1_micro_action"]) / 4
    return m


def per_class_report(scores: np.ndarray, labels: np.ndarray, names: list[str]) -> list[dict]:
    from sklearn.metrics import precision_recall_fscore_support

    pred = np.argmax(scores, axis=1)
    p, r, f, support = precision_recall_fscore_support(labels, pred, labels=list(range(len(names))),
                                                       zero_division=0)
    return [{"id": c, "name": name, "support": int(support[c]), "precision": round(float(p[c]), 4),
             "recall": round(float(r[c]), 4), "f1": round(float(f[c]), 4)} for c, name in enumerate(names)]


def confusion_matrix(labels: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    from sklearn.metrics import confusion_matrix as sk_confusion

    return sk_confusion(labels, pred, labels=list(range(num_classes)))


def save_confusion_png(path: str | Path, cm: np.ndarray, names: list[str], title: str = "") -> None:
    """The confusion matrix as a picture: each row (true class) normalised to 100 %, the colour bar in
    percent, the cells' percentages and counts written in them (up to 20 classes; with more, only the
    diagonal's percentages, the cells being too small), class names on both axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from common.fileio import atomic_path

    n = len(names)
    size = max(6.0, 0.3 * n + 3)
    fig, ax = plt.subplots(figsize=(size + 1.5, size), dpi=110)
    rows = cm.sum(axis=1, keepdims=True)
    pct = 100 * np.divide(cm, rows, out=np.zeros(cm.shape, float), where=rows > 0)
    im = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("% of the true class's clips")
    font = 10 if n <= 10 else (8 if n <= 20 else 6)
    ax.set_xticks(range(n), names, rotation=90, fontsize=font)
    ax.set_yticks(range(n), names, fontsize=font)
    for i in range(n):
        for j in range(n):
            if (n <= 20 and cm[i, j]) or (n > 20 and i == j and rows[i, 0]):
                text = f"{pct[i, j]:.0f}%" + (f"\n({int(cm[i, j])})" if n <= 20 else "")
                ax.text(j, i, text, ha="center", va="center", fontsize=font - 1,
                        color="white" if pct[i, j] > 55 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    total = int(cm.sum())
    ax.set_title((title + "\n" if title else "") + f"confusion matrix: rows normalised to 100 %, "
                 f"cells % (count); {total} clips")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
