"""Skeleton files in the field's formats: read and write.

* ``.npy`` / ``.npz``: one clip [L, 44, 2] in pixels (``.npz``: ``keypoints`` and optional
  ``scores`` [L, 44]);
* the official MA-52 pickle pair ``<split>_data.pkl`` (``{'annotations': [{'frame_dir', 'keypoint'
  [M, T, 44, 2]}]}``) and ``<split>_label.pkl`` (``[{'file_name', 'label'}]``);
* pyskl / mmaction2 annotations (``{'split': {...}, 'annotations': [...]}``, keypoints
  [M, T, V, 2] and scores [M, T, V]).

Pickles are read with ``common.safe_pickle`` (no code from the file runs) and written atomically.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.errors import UserError
from common.fileio import atomic_path
from common.safe_pickle import UnsafePickleError, load_pickle


class SkeletonFileError(UserError, ValueError):
    """A skeleton file that cannot be used (one-line message naming the file)."""


@dataclass
class SkeletonClip:
    clip_id: str
    keypoints: np.ndarray  # [T, V, 2] pixels, layout order
    scores: np.ndarray | None = None  # [T, V]
    label: int | None = None
    img_shape: tuple[int, int] | None = None  # (h, w)


def _as_keypoints(path: Path, arr: object, what: str, num_joints: int) -> np.ndarray:
    k = np.asarray(arr)
    if k.dtype == object or not np.issubdtype(k.dtype, np.number):
        raise SkeletonFileError(f"{path}: {what} is not a numeric array")
    if k.ndim == 4:  # [M, T, V, 2]: the first person (MA-52 uses M = 1)
        if k.shape[0] < 1:
            raise SkeletonFileError(f"{path}: {what} holds no person")
        k = k[0]
    if k.ndim != 3 or k.shape[1] != num_joints or k.shape[2] != 2:
        raise SkeletonFileError(
            f"{path}: {what} has shape {tuple(np.shape(arr))}; expected [frames, {num_joints}, 2] "
            f"(or [persons, frames, {num_joints}, 2])"
        )
    if k.shape[0] == 0:
        raise SkeletonFileError(f"{path}: {what} holds no frame")
    return k.astype(np.float32)


def _load_pickle(path: Path) -> object:
    try:
        return load_pickle(path)
    except UnsafePickleError as e:
        raise SkeletonFileError(f"{path}: {e}") from None
    except Exception as e:  # truncated or not a pickle at all
        raise SkeletonFileError(f"{path}: not a readable pickle ({type(e).__name__}: {str(e)[:120]})") from None


def read_ma52_pickle(data_path: str | Path, label_path: str | Path | None = None,
                     num_joints: int = 44, split: str | None = None) -> list[SkeletonClip]:
    """Official MA-52 release (labels from ``label_path`` or the ``_label.pkl`` beside the data) or a
    pyskl pickle (``split`` picks one of its splits)."""
    data_path = Path(data_path)
    data = _load_pickle(data_path)
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise SkeletonFileError(f"{data_path}: not an MA-52/pyskl skeleton pickle (no 'annotations' list)")
    if label_path is None and data_path.name.endswith("_data.pkl"):
        guess = data_path.with_name(data_path.name[: -len("_data.pkl")] + "_label.pkl")
        label_path = guess if guess.exists() else None
    labels: dict[str, int] = {}
    if label_path is not None:
        raw = _load_pickle(Path(label_path))
        if not isinstance(raw, list):
            raise SkeletonFileError(f"{label_path}: label pickle must be a list of {{file_name, label}}")
        for item in raw:
            try:
                labels[str(item["file_name"])] = int(item["label"])
            except (KeyError, TypeError, ValueError):
                raise SkeletonFileError(f"{label_path}: bad label entry {str(item)[:80]}") from None
    wanted = None
    if split is not None:
        splits = data.get("split")
        if not isinstance(splits, dict) or split not in splits:
            have = sorted(splits) if isinstance(splits, dict) else []
            raise SkeletonFileError(f"{data_path}: no split {split!r} in the file (splits: {have})")
        wanted = {str(x) for x in splits[split]}
    clips = []
    for i, ann in enumerate(data["annotations"]):
        if wanted is not None and isinstance(ann, dict) and str(ann.get("frame_dir")) not in wanted:
            continue
        if not isinstance(ann, dict) or "keypoint" not in ann:
            raise SkeletonFileError(f"{data_path}: annotation {i} has no 'keypoint'")
        cid = str(ann.get("frame_dir", i))
        kp = _as_keypoints(data_path, ann["keypoint"], f"annotation {cid!r}", num_joints)
        score = ann.get("keypoint_score")
        score = np.asarray(score, np.float32)[0] if score is not None and np.ndim(score) == 3 else None
        label = labels.get(cid, ann.get("label"))
        shape = ann.get("img_shape")
        clips.append(SkeletonClip(cid, kp, score, None if label is None else int(label),
                                  tuple(shape) if shape is not None else None))
    return clips


def read_skeleton_file(path: str | Path, num_joints: int = 44, split: str | None = None) -> list[SkeletonClip]:
    """Any supported skeleton file -> clips."""
    path = Path(path)
    if not path.exists():
        raise SkeletonFileError(f"{path}: file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return [SkeletonClip(path.stem, _as_keypoints(path, np.load(path, allow_pickle=False), "array",
                                                           num_joints))]
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                key = "keypoints" if "keypoints" in z.files else (z.files[0] if len(z.files) == 1 else None)
                if key is None:
                    raise SkeletonFileError(f"{path}: .npz needs a 'keypoints' array; has {z.files}")
                kp = _as_keypoints(path, z[key], key, num_joints)
                scores = z["scores"].astype(np.float32) if "scores" in z.files else None
            return [SkeletonClip(path.stem, kp, scores)]
    except SkeletonFileError:
        raise
    except Exception as e:
        raise SkeletonFileError(f"{path}: not a readable numpy file ({type(e).__name__}: {str(e)[:120]})") from None
    if suffix in (".pkl", ".pickle"):
        return read_ma52_pickle(path, num_joints=num_joints, split=split)
    raise SkeletonFileError(f"{path}: unknown skeleton file type {suffix!r} (use .npy, .npz or .pkl)")


def _dump(obj: object, path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        pickle.dump(obj, f, protocol=4)


def write_ma52_pickles(clips: list[SkeletonClip], out_dir: str | Path, split: str) -> tuple[Path, Path]:
    """Write ``<split>_data.pkl`` and ``<split>_label.pkl`` as the official training code reads them."""
    out_dir = Path(out_dir)
    data = {"annotations": [{"frame_dir": c.clip_id,
                             "keypoint": np.asarray(c.keypoints, np.float32)[None]} for c in clips]}
    labels = [{"file_name": c.clip_id, "label": -1 if c.label is None else int(c.label)} for c in clips]
    dp, lp = out_dir / f"{split}_data.pkl", out_dir / f"{split}_label.pkl"
    _dump(data, dp)
    _dump(labels, lp)
    return dp, lp


def write_pyskl(clips: list[SkeletonClip], path: str | Path, split: str = "train") -> Path:
    """Write a pyskl / mmaction2 annotation pickle with one split."""
    anns = []
    for c in clips:
        k = np.asarray(c.keypoints, np.float32)
        score = c.scores if c.scores is not None else np.isfinite(k).all(-1).astype(np.float32)
        shape = tuple(c.img_shape) if c.img_shape else (0, 0)
        anns.append({"frame_dir": c.clip_id, "total_frames": int(k.shape[0]), "img_shape": shape,
                     "original_shape": shape, "label": -1 if c.label is None else int(c.label),
                     "keypoint": np.nan_to_num(k)[None], "keypoint_score": np.asarray(score, np.float32)[None]})
    path = Path(path)
    _dump({"split": {split: [c.clip_id for c in clips]}, "annotations": anns}, path)
    return path
