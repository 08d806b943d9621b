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

import contextlib
import json
import os
import re
from pathlib import Path

import numpy as np

from common.errors import UserError
from definitions.layout import ma52_layout

from .tracking import detection_upright
from .types import DETECTED, MISSING, Detection

_FRAME_ID = re.compile(r"(\d+)(?:\.\w+)?$")


class AlphaPoseError(UserError, ValueError):
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


CHUNK_CHARS = 1 << 20


def _records(path: Path):
    """The records of a results file, one at a time: the file is read a MiB at a time and each record
    decoded on its own (AlphaPose's files reach gigabytes for long videos; NaN/Infinity, which Python's
    json writes, are read as such)."""
    try:
        f = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise AlphaPoseError(f"{path}: file not found") from None
    except OSError as e:
        raise AlphaPoseError(f"{path}: cannot be read ({e.strerror or e})") from None
    decoder = json.JSONDecoder()
    with f:
        try:
            yield from _decode_list(path, f, decoder)
        except UnicodeDecodeError:
            raise AlphaPoseError(f"{path}: not valid JSON (not UTF-8 text)") from None


def _decode_list(path: Path, f, decoder: json.JSONDecoder):
    buf, pos, eof = f.read(CHUNK_CHARS), 0, False

    def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        text = f.read(CHUNK_CHARS)
        eof = not text
        buf, pos = buf[pos:] + text, 0
        return not eof

    def next_char() -> str:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf) or not more():
                return buf[pos] if pos < len(buf) else ""

    first = next_char()
    if first == "{":
        if '"people"' in buf:
            raise AlphaPoseError(
                f"{path}: this is AlphaPose's --format cmu / open output; run AlphaPose without --format "
                "(its default results file, a JSON list of records with image_id and keypoints)")
        raise AlphaPoseError(f"{path}: expected a JSON list of AlphaPose records")
    if first != "[":
        raise AlphaPoseError(f"{path}: not valid JSON (it does not start with a list)")
    pos += 1
    if next_char() == "]":
        return
    while True:
        next_char()  # raw_decode takes no leading whitespace
        while True:
            try:
                record, end = decoder.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as e:
                if not more():  # the record is cut off or broken
                    raise AlphaPoseError(f"{path}: not valid JSON ({e.msg})") from None
        pos = end
        yield record
        sep = next_char()
        if sep == "]":
            return
        if sep != ",":
            raise AlphaPoseError(f"{path}: not valid JSON (expected ',' or ']' between records)")
        pos += 1


def read_alphapose_json(path: str | Path) -> dict[int, list[Detection]]:
    """``alphapose-results.json`` -> {frame index: detections}. Frames without people are absent.
    The file is read record by record; only the 44 MA-52 joints of each record are kept."""
    path = Path(path)
    frames: dict[int, list[Detection]] = {}
    for i, rec in enumerate(_records(path)):
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


def results_for_video(json_path, num_frames: int, width: int, height: int,
                      rotation: int = 0) -> tuple[dict[int, list[Detection]], int]:
    """AlphaPose's results read (``read_alphapose_json``) and checked against the video they are said to be
    of (``num_frames`` frames, ``width`` x ``height`` as displayed, display ``rotation``): the detections by
    frame number of the video, and the number the results' frames start from (0, or 1 for an image folder
    extracted with ``%06d``). ``AlphaPoseError`` for results of another video (``check_inside``, or a frame
    number past the video's end)."""
    frames = read_alphapose_json(json_path)
    check_inside(json_path, frames, width, height, rotation)
    numbered_from = 0
    if frames and 0 not in frames and max(frames) == num_frames:
        # image folders extracted with %06d start at 1: frame k of the results is frame k-1 of the video
        frames, numbered_from = {k - 1: v for k, v in frames.items()}, 1
    if frames and max(frames) >= num_frames:
        raise AlphaPoseError(
            f"{json_path}: refers to frame {max(frames)} but the video has {num_frames} frames "
            "(results of another video?)")
    return frames, numbered_from


def check_inside(json_path, frames: dict, width: int, height: int, rotation: int) -> None:
    """Refuse results whose people are mostly outside the displayed frame: another video's, or a
    rotated video that AlphaPose (OpenCV) read unrotated."""
    dets = [d for found in frames.values() for d in found if np.isfinite(d.keypoints).any()]
    if not dets:
        return
    rotated = (f"the video is shown rotated by {rotation} degrees, and AlphaPose (OpenCV) may have read it "
               "unrotated: write a rotated copy (`ffmpeg -i in.mp4 out.mp4` applies the rotation) and run AlphaPose "
               "and this tool on that")
    c = np.asarray([np.nanmedian(d.keypoints, axis=0) for d in dets])
    outside = ((c[:, 0] < 0) | (c[:, 0] > width) | (c[:, 1] < 0) | (c[:, 1] > height)).mean()
    if outside > 0.5:
        why = rotated if rotation % 360 else "results of another video, or of a resized copy?"
        raise AlphaPoseError(f"{json_path}: {outside:.0%} of the people lie outside the {width}x{height} frame ({why})")
    if rotation % 360:  # people lying on their side or upside down in a rotated video: read unrotated
        L = ma52_layout()
        shoulders, hips = L.indices("left_shoulder", "right_shoulder"), L.indices("left_hip", "right_hip")
        up = np.asarray([np.nanmean(d.keypoints[shoulders], 0) - np.nanmean(d.keypoints[hips], 0) for d in dets])
        ok = np.isfinite(up).all(1)
        if ok.sum() >= 5 and (up[ok, 1] > -np.abs(up[ok, 0])).mean() > 0.5:  # not mostly upright
            raise AlphaPoseError(f"{json_path}: most people are not upright in the displayed frame ({rotated})")


FACE_HAND_JOINTS = 110  # Halpe-136: joints 26-135 (face and hands); 0-25 are body and feet


@contextlib.contextmanager
def _working_dir(folder: Path):
    """AlphaPose's detector configs name their files relative to the AlphaPose root, and read them at
    creation and at the first detection: work from there meanwhile."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def decode_heatmaps(hm, crops, heatmap_to_coord, hm_shape, norm_type) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps [N, 136, h, w] -> coordinates [N, 136, 2] and scores [N, 136, 1] in the frame, as
    AlphaPose's demo does: a ``Combined``-loss model comes with two decoders, the heatmap one for the
    26 body joints and the integral-regression one for the 110 face and hand joints."""
    coords, scores = [], []
    for i in range(hm.shape[0]):
        box = list(crops[i])
        if isinstance(heatmap_to_coord, (list, tuple)):
            body, face_hand = heatmap_to_coord
            n_body = hm.shape[1] - FACE_HAND_JOINTS
            c1, s1 = body(hm[i][:n_body], box, hm_shape=hm_shape, norm_type=norm_type)
            c2, s2 = face_hand(hm[i][n_body:], box, hm_shape=hm_shape, norm_type=norm_type)
            c, sc = np.concatenate([_np(c1), _np(c2)], 0), np.concatenate([_np(s1), _np(s2)], 0)
        else:
            c, sc = heatmap_to_coord(hm[i], box, hm_shape=hm_shape, norm_type=norm_type)
        coords.append(_np(c))
        scores.append(_np(sc).reshape(-1, 1))
    return np.stack(coords), np.stack(scores)


def uses_heatmap_loss(cfg) -> bool:
    """Pose NMS's thresholds depend on the model's loss: heatmap (MSELoss) models take the defaults,
    regression and combined ones others (``DATA_PRESET.LOSS_TYPE``, default MSELoss, as AlphaPose reads it)."""
    preset = cfg.DATA_PRESET
    loss = preset.get("LOSS_TYPE", "MSELoss") if hasattr(preset, "get") else getattr(preset, "LOSS_TYPE", "MSELoss")
    return loss == "MSELoss"


class AlphaPoseLiveBackend:
    """Run AlphaPose's detector and whole-body pose model on our decoded frames, as its own
    ``scripts/demo_inference.py`` does (``../shared/docs/alphapose-contract.md``): the detector gets BGR
    frames, the pose model RGB; combined-loss models decode body and face/hand joints with their two
    decoders; pose NMS gets the loss flag; the detector works from the AlphaPose root. Flip test off,
    as in the demo.

    Needs an AlphaPose installation (its ``alphapose`` and ``detector`` packages importable, a CUDA
    build as AlphaPose requires), a Halpe-136 config and its checkpoint.
    """

    name = "alphapose"

    def __init__(self, config: str | Path, checkpoint: str | Path, device: str = "auto", detector: str = "yolo"):
        config, checkpoint = Path(config).resolve(), Path(checkpoint).resolve()
        try:
            import torch
            import detector as detector_pkg
            from alphapose.models import builder
            from alphapose.utils.config import update_config
            from alphapose.utils.pPose_nms import pose_nms
            from alphapose.utils.presets import SimpleTransform
            from alphapose.utils.transforms import get_func_heatmap_to_coord
            from detector.apis import get_detector
        except ImportError as e:
            if (e.name or "").startswith("tkinter") or "tkinter" in str(e):
                raise AlphaPoseError("AlphaPose needs tkinter (its dataset registry imports it): install your "
                                     "system's python3-tk package") from None
            raise AlphaPoseError(
                f"AlphaPose is not installed ({e.name or e}). Install it from its repository "
                "(MVIG-SJTU/AlphaPose, docs/INSTALL.md: CUDA PyTorch, then `python setup.py build develop`) "
                "and put it on PYTHONPATH; or run AlphaPose separately and use "
                "`--pose alphapose-json --alphapose-json alphapose-results.json`") from None
        from types import SimpleNamespace

        for what, path in (("config", config), ("checkpoint", checkpoint)):
            if not path.is_file():
                raise AlphaPoseError(f"{path}: AlphaPose {what} not found")
        self.torch = torch
        self.root = Path(detector_pkg.__file__).resolve().parent.parent  # the AlphaPose checkout
        self.cfg = update_config(str(config))
        dev = "cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device)
        self.device = torch.device(dev)
        gpus = [int(self.device.index or 0)] if self.device.type == "cuda" else [-1]
        self.opt = SimpleNamespace(detector=detector, gpus=gpus, device=self.device, tracking=False,
                                   min_box_area=0, pose_track=False, pose_flow=False)
        self.model = builder.build_sppe(self.cfg.MODEL, preset_cfg=self.cfg.DATA_PRESET)
        try:
            state = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
            self.model.load_state_dict(state)
        except Exception as e:  # noqa: BLE001 - any unreadable or mismatched file: one line naming it
            raise AlphaPoseError(f"{checkpoint}: not an AlphaPose checkpoint for {config.name} "
                                 f"({' '.join(str(e).split())[:160]})") from None
        self.model.to(self.device).eval()
        with _working_dir(self.root):
            self.detector = get_detector(self.opt)
        dataset = builder.retrieve_dataset(self.cfg.DATASET.TRAIN)
        self.transform = SimpleTransform(dataset, scale_factor=0, input_size=self.cfg.DATA_PRESET.IMAGE_SIZE,
                                         output_size=self.cfg.DATA_PRESET.HEATMAP_SIZE, rot=0,
                                         sigma=self.cfg.DATA_PRESET.SIGMA, train=False, add_dpg=False,
                                         gpu_device=self.device)
        self.heatmap_to_coord = get_func_heatmap_to_coord(self.cfg)
        self.heatmap_loss = uses_heatmap_loss(self.cfg)
        self.pose_nms = pose_nms
        self.settings = {"config": config.name, "checkpoint": checkpoint.name, "detector": detector,
                         "flip_test": False, "combined_decoders": isinstance(self.heatmap_to_coord, (list, tuple)),
                         "heatmap_loss_nms": self.heatmap_loss}
        self.max_side = None

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass

    def process(self, image: np.ndarray, width: int, height: int, time: float | None = None) -> list[Detection]:
        """``image``: an RGB frame (our decoder's), possibly downscaled from ``width`` x ``height``."""
        torch = self.torch
        with torch.no_grad():
            bgr = np.ascontiguousarray(image[:, :, ::-1])  # the detector flips BGR to RGB itself
            with _working_dir(self.root):  # the first detection loads the detector's weights
                img = self.detector.image_preprocess(bgr)
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
                inps[i], crop = self.transform.test_transform(image, box)  # the pose model takes RGB
                crops[i] = torch.FloatTensor(crop)
            hm = self.model(inps.to(self.device)).cpu()
            coords, confs = decode_heatmaps(hm, crops.tolist(), self.heatmap_to_coord,
                                            self.cfg.DATA_PRESET.HEATMAP_SIZE, self.cfg.LOSS.get("NORM_TYPE", None))
            boxes, scores, ids, coords, confs, _ = self.pose_nms(
                boxes, scores, ids, torch.from_numpy(coords), torch.from_numpy(confs), self.opt.min_box_area,
                use_heatmap_loss=self.heatmap_loss)
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
        det = halpe_to_detection(kp, _np(r["kp_score"]).reshape(-1), box, track)
        if detection_upright(det):  # a lying skeleton is no interviewee (``pose.tracking.detection_upright``)
            out.append(det)
    return out


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, np.float64)
