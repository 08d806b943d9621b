"""AlphaPose backends: its results JSON (any machine), or AlphaPose itself run live (a GPU box).

The released MMN weights were trained on AlphaPose Halpe-136 keypoints, so results from AlphaPose
are the closest match to the training data. Only whole-body (136-point) output carries the 44 MA-52
joints: a 26- or 17-point file is refused with a clear error.

JSON route: run AlphaPose on the video yourself (``--format coco``, the default; add
``--pose_track`` to get track ids), then pass ``--pose alphapose-json --alphapose-json FILE``.
``image_id`` ``"<k>.jpg"`` is frame k of the video; the frame's time comes from the video's own
timestamps.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .layout import ma52_layout
from .types import DETECTED, MISSING, Detection

_FRAME_ID = re.compile(r"(\d+)(?:\.\w+)?$")


class AlphaPoseError(ValueError):
    """Unusable AlphaPose input (one line naming the file and the problem)."""


def halpe_to_detection(points: np.ndarray, scores: np.ndarray, box=None, track_id=None) -> Detection:
    """136 Halpe points [136, 2] and scores [136] -> a 44-joint detection."""
    sel = list(ma52_layout().halpe136)
    kp = np.asarray(points, np.float32)[sel].copy()
    sc = np.asarray(scores, np.float32).reshape(-1)[sel].copy()
    bad = ~np.isfinite(kp).all(-1) | ~np.isfinite(sc)
    kp[bad] = np.nan
    sc[bad] = 0
    src = np.where(bad, MISSING, DETECTED).astype(np.uint8)
    return Detection(kp, np.clip(sc, 0, 1), src,
                     None if box is None else np.asarray(box, np.float32), track_id)


def _frame_index(image_id, path: Path) -> int:
    if isinstance(image_id, (int, np.integer)) and not isinstance(image_id, bool):
        if image_id < 0:
            raise AlphaPoseError(f"{path}: image_id {int(image_id)} is negative: not a frame number")
        return int(image_id)
    m = _FRAME_ID.search(str(image_id))
    if not m:
        raise AlphaPoseError(f"{path}: image_id {str(image_id)[:40]!r} does not name a frame number")
    return int(m.group(1))


def _track_id(idx) -> int | None:
    """AlphaPose's idx is a track id with tracking; without it, a list of merged detection ids."""
    if isinstance(idx, bool):
        return None
    if isinstance(idx, (int, np.integer)):
        return int(idx)
    if isinstance(idx, float) and idx.is_integer():
        return int(idx)
    return None


def read_alphapose_json(path: str | Path) -> dict[int, list[Detection]]:
    """``alphapose-results.json`` -> {frame index: detections}. Frames without people are absent."""
    path = Path(path)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AlphaPoseError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AlphaPoseError(f"{path}: not valid JSON ({str(e)[:100]})") from None
    if isinstance(records, dict) and any(isinstance(v, dict) and "people" in v for v in list(records.values())[:5]) \
            or isinstance(records, dict) and "people" in records:
        raise AlphaPoseError(f"{path}: this is AlphaPose's --format cmu / open output; run AlphaPose without "
                             "--format (its default results file, a JSON list of records with image_id and keypoints)")
    if not isinstance(records, list):
        raise AlphaPoseError(f"{path}: expected a JSON list of AlphaPose records")
    frames: dict[int, list[Detection]] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or "keypoints" not in rec or "image_id" not in rec:
            raise AlphaPoseError(f"{path}: record {i} lacks 'image_id' or 'keypoints'")
        flat = rec["keypoints"]
        if not isinstance(flat, list) or len(flat) % 3:
            raise AlphaPoseError(f"{path}: record {i}: keypoints must be a flat [x, y, score, ...] list")
        n = len(flat) // 3
        if n != 136:
            kind = {26: "Halpe-26", 17: "COCO-17"}.get(n, f"{n}-point")
            raise AlphaPoseError(
                f"{path}: {kind} keypoints; the MA-52 model needs whole-body Halpe-136 keypoints "
                f"(run AlphaPose with a halpe136 config)")
        try:
            arr = np.asarray(flat, np.float64).reshape(136, 3)
        except (TypeError, ValueError):
            raise AlphaPoseError(f"{path}: record {i}: keypoints are not all numbers") from None
        box = rec.get("box")
        if box is not None:
            try:
                box = np.asarray(box, np.float64).reshape(4)
            except (TypeError, ValueError):
                box = None
        det = halpe_to_detection(arr[:, :2], arr[:, 2], box, _track_id(rec.get("idx")))
        frames.setdefault(_frame_index(rec["image_id"], path), []).append(det)
    return frames


class AlphaPoseLiveBackend:
    """Run AlphaPose's detector and whole-body pose model on our decoded frames.

    Needs an AlphaPose installation (its ``alphapose`` and ``detector`` packages importable, a CUDA
    build as AlphaPose requires), a Halpe-136 config and its checkpoint.
    """

    name = "alphapose"

    def __init__(self, config: str | Path, checkpoint: str | Path, device: str = "auto", detector: str = "yolo"):
        try:
            import torch
            from alphapose.models import builder
            from alphapose.utils.config import update_config
            from alphapose.utils.pPose_nms import pose_nms
            from alphapose.utils.presets import SimpleTransform
            from alphapose.utils.transforms import get_func_heatmap_to_coord
            from detector.apis import get_detector
        except ImportError as e:
            raise AlphaPoseError(
                f"AlphaPose is not installed ({e.name or e}). Install it from its repository "
                "(MVIG-SJTU/AlphaPose, docs/INSTALL.md: CUDA PyTorch, then `python setup.py build develop`) "
                "and put it on PYTHONPATH; or run AlphaPose separately and use "
                "`--pose alphapose-json --alphapose-json alphapose-results.json`") from None
        from types import SimpleNamespace

        self.torch = torch
        self.cfg = update_config(str(config))
        dev = "cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device)
        self.device = torch.device(dev)
        gpus = [int(self.device.index or 0)] if self.device.type == "cuda" else [-1]
        self.opt = SimpleNamespace(detector=detector, gpus=gpus, device=self.device, tracking=False,
                                   min_box_area=0, pose_track=False, pose_flow=False)
        self.model = builder.build_sppe(self.cfg.MODEL, preset_cfg=self.cfg.DATA_PRESET)
        self.model.load_state_dict(torch.load(str(checkpoint), map_location="cpu", weights_only=True))
        self.model.to(self.device).eval()
        self.detector = get_detector(self.opt)
        dataset = builder.retrieve_dataset(self.cfg.DATASET.TRAIN)
        self.transform = SimpleTransform(dataset, scale_factor=0, input_size=self.cfg.DATA_PRESET.IMAGE_SIZE,
                                         output_size=self.cfg.DATA_PRESET.HEATMAP_SIZE, rot=0,
                                         sigma=self.cfg.DATA_PRESET.SIGMA, train=False, add_dpg=False,
                                         gpu_device=self.device)
        self.heatmap_to_coord = get_func_heatmap_to_coord(self.cfg)
        self.pose_nms = pose_nms
        self.settings = {"config": Path(config).name, "checkpoint": Path(checkpoint).name, "detector": detector}
        self.max_side = None

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass

    def process(self, image: np.ndarray, width: int, height: int, time: float | None = None) -> list[Detection]:
        torch = self.torch
        with torch.no_grad():
            img = self.detector.image_preprocess(image)
            img = torch.from_numpy(img) if isinstance(img, np.ndarray) else img
            img = img.unsqueeze(0) if img.dim() == 3 else img
            dims = torch.FloatTensor([image.shape[1], image.shape[0]]).repeat(1, 2)
            dets = self.detector.images_detection(img, dims)
            if isinstance(dets, int) or dets.shape[0] == 0:
                return []
            dets = (torch.from_numpy(dets) if isinstance(dets, np.ndarray) else dets).cpu()
            boxes, scores = dets[:, 1:5], dets[:, 5:6]
            ids = torch.zeros(scores.shape)
            inps = torch.zeros(boxes.size(0), 3, *self.cfg.DATA_PRESET.IMAGE_SIZE)
            crops = torch.zeros(boxes.size(0), 4)
            for i, box in enumerate(boxes):
                inps[i], crop = self.transform.test_transform(image, box)
                crops[i] = torch.FloatTensor(crop)
            hm = self.model(inps.to(self.device)).cpu()
            coords, confs = [], []
            for i in range(hm.shape[0]):
                c, s = self.heatmap_to_coord(hm[i], crops[i].tolist(), hm_shape=self.cfg.DATA_PRESET.HEATMAP_SIZE,
                                             norm_type=self.cfg.LOSS.get("NORM_TYPE", None))
                coords.append(torch.from_numpy(c).unsqueeze(0))
                confs.append(torch.from_numpy(s).unsqueeze(0))
            boxes, scores, ids, coords, confs, _ = self.pose_nms(boxes, scores, ids, torch.cat(coords),
                                                                  torch.cat(confs), 0)
            results = [{"keypoints": coords[k], "kp_score": confs[k], "idx": ids[k],
                        "bbox": [boxes[k][0], boxes[k][1], boxes[k][2] - boxes[k][0], boxes[k][3] - boxes[k][1]]}
                       for k in range(len(scores))]
        return convert_live_results(results, scale=(width / image.shape[1], height / image.shape[0]))


def convert_live_results(results: list[dict], scale: tuple[float, float] = (1.0, 1.0),
                         tracked: bool = False) -> list[Detection]:
    """AlphaPose's in-memory results (``keypoints`` [136, 2], ``kp_score`` [136, 1], ``bbox``,
    ``idx``; tensors or arrays) -> detections, scaled to the displayed frame. ``idx`` is used as the
    track id only when AlphaPose ran its tracker (``tracked``); our own tracking is used otherwise."""
    out = []
    for r in results:
        kp = _np(r["keypoints"]).reshape(-1, 2)
        if kp.shape[0] != 136:
            raise AlphaPoseError(f"AlphaPose returned {kp.shape[0]} keypoints; the MA-52 model needs Halpe-136")
        kp = kp * np.asarray(scale)
        box = r.get("bbox")
        box = None if box is None else np.array([float(_np(b)) for b in box]) * np.tile(scale, 2)
        idx = r.get("idx") if tracked else None
        idx = _np(idx).reshape(-1) if idx is not None else None
        track = int(idx[0]) if idx is not None and idx.size == 1 else None
        out.append(halpe_to_detection(kp, _np(r["kp_score"]).reshape(-1), box, track))
    return out


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, np.float64)
