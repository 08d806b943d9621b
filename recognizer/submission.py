"""The MA-52 test server's prediction file, written one way for every command that makes it
(``microaction-run --submission`` from its segments, ``microaction-evaluate`` from its logits).

``prediction.csv``: a header ``vid, action_pred_1..k, body_pred_1..k``, then per video its name
(``.mp4`` added to a bare clip id) and its top-k action ids and their body ids, best first (k = 5, or
fewer for a label set with fewer classes); rows sorted by name. ``prediction.zip`` holds it for upload.
"""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np

from common.fileio import atomic_path, write_text_atomic


def top_k_rows(ids: list[str], logits: np.ndarray, body_of: np.ndarray, k: int = 5) -> list[tuple]:
    """Rows ``(vid, action ids, body ids)`` from logits [N, classes] (``body_of``: body id per class)."""
    k = min(k, logits.shape[1])
    rows = []
    for vid, row in zip(ids, logits):
        top = np.argsort(-row, kind="stable")[:k]
        rows.append((vid, [int(i) for i in top], [int(b) for b in body_of[top]]))
    return rows


def submission_text(rows: list[tuple]) -> str:
    k = min((len(actions) for _, actions, _ in rows), default=5)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["vid"] + [f"action_pred_{i}" for i in range(1, k + 1)] + [f"body_pred_{i}" for i in range(1, k + 1)])
    for vid, actions, bodies in sorted(rows, key=lambda r: r[0]):
        name = vid if Path(vid).suffix else f"{vid}.mp4"
        w.writerow([name, *actions[:k], *bodies[:k]])
    return buf.getvalue()


def write_submission(out_dir: Path, rows: list[tuple]) -> Path:
    """``prediction.csv`` and ``prediction.zip`` in ``out_dir`` (atomically); the CSV's path."""
    text = submission_text(rows)
    csv_path = out_dir / "prediction.csv"
    write_text_atomic(csv_path, text)
    with atomic_path(out_dir / "prediction.zip") as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("prediction.csv", text)
    return csv_path
