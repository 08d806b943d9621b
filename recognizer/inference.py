"""Inference API used by the pipeline: clips of keypoints -> probabilities, top-5 actions, body part.

One or two MMN streams: with a joint and a bone checkpoint the logits are averaged 0.5 / 0.5 (the
official two-stream fusion). ``device="auto"`` picks CUDA when available. The model runs in fp32
unless reduced precision is asked for (``precision="bf16"`` or ``"fp16"``, under autocast): the
labels do not depend on the device. On the CPU a batch runs as micro-batches of ``MICRO_BATCH``
clips (the activations stay in the CPU caches: about 2x the throughput at batch 64, the same outputs;
docs/PERFORMANCE.md). The pipeline, ``microaction-classify`` and ``microaction-evaluate`` all run
this one path.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from common.errors import OptionError
from definitions.labels import LabelSet, ma52_labels

from .checkpoints import CheckpointError, load_mmn
from .mmn import MMN
from .preprocess import prepare_streams

MICRO_BATCH = 8  # clips per forward pass on the CPU
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise OptionError("--device cuda was asked for, but no CUDA GPU is available to PyTorch")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise OptionError(f"device must be auto, cpu or cuda[:N]; got {name!r}")
    return torch.device(name)


@dataclass
class Prediction:
    probabilities: np.ndarray  # [num_classes]
    top5: list[dict]  # id, code, name, probability (best first)
    body_id: int
    body_name: str

    @property
    def action(self) -> dict:
        return self.top5[0]


class Recognizer:
    """Loads one or two MMN streams once and classifies batches of clips."""

    def __init__(
        self,
        joint_checkpoint: str | Path | None = None,
        bone_checkpoint: str | Path | None = None,
        device: str = "auto",
        batch_size: int = 64,
        num_joints: int = 44,
        precision: str = "fp32",
    ):
        if joint_checkpoint is None and bone_checkpoint is None:
            raise OptionError("a joint or a bone checkpoint is needed")
        if precision not in PRECISIONS:
            raise OptionError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
        self.precision = precision
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.streams: dict[str, MMN] = {}
        for stream, path in (("joint", joint_checkpoint), ("bone", bone_checkpoint)):
            if path is None:
                continue
            model = load_mmn(path, device=self.device, num_joints=num_joints)
            declared = model.checkpoint.stream
            if declared and declared != stream:
                raise CheckpointError(f"{path}: this checkpoint was trained on the {declared} stream, "
                                      f"but was given as the {stream} checkpoint")
            self.streams[stream] = model
        models = list(self.streams.values())
        if len({m.cfg.num_classes for m in models}) != 1:
            raise CheckpointError("the joint and bone checkpoints have different numbers of classes")
        carrier = next((m.checkpoint for m in models if m.checkpoint.labels), None)
        self.labels = (LabelSet.from_list(carrier.labels, carrier.label_set or "custom") if carrier
                       else ma52_labels())
        if len(self.labels) != models[0].cfg.num_classes:
            raise CheckpointError(
                f"{models[0].checkpoint.path}: {models[0].cfg.num_classes} classes but the "
                f"{self.labels.name} label set has {len(self.labels)}; use a checkpoint that carries its labels"
            )
        self.runners = {s: _runner(m, self.device, precision) for s, m in self.streams.items()}
        self.seconds = {"preprocess": 0.0, "mmn": 0.0}  # time spent so far, for the pipeline's timing
        self._timing_lock = threading.Lock()

    @property
    def checkpoints(self) -> list[dict]:
        return [dict(m.checkpoint.summary(), stream=s) for s, m in self.streams.items()]

    def logits(self, clips: list[np.ndarray]) -> np.ndarray:
        """Fused logits [N, classes] for clips of keypoints [L, V, 2] (pixels, layout order)."""
        out = []
        for start in range(0, len(clips), self.batch_size):
            chunk = clips[start:start + self.batch_size]
            t0 = time.perf_counter()
            inputs = prepare_streams(chunk, tuple(self.runners))
            t1 = time.perf_counter()
            fused = None
            for stream, run in self.runners.items():
                lg = run(*inputs[stream])
                fused = lg if fused is None else fused + lg
            out.append(fused / len(self.runners))
            with self._timing_lock:
                self.seconds["preprocess"] += t1 - t0
                self.seconds["mmn"] += time.perf_counter() - t1
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)

    def predict(self, clips: list[np.ndarray]) -> list[Prediction]:
        return [self.prediction(p) for p in softmax(self.logits(clips))]

    def prediction(self, probs: np.ndarray) -> Prediction:
        order = np.argsort(-probs, kind="stable")[:5]
        top5 = [dict(id=int(i), code=self.labels[int(i)].code, name=self.labels[int(i)].name,
                     probability=float(probs[i])) for i in order]
        best = self.labels[int(order[0])]
        return Prediction(probabilities=probs, top5=top5, body_id=best.body_id, body_name=best.body_name)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _runner(model: MMN, device: torch.device, precision: str = "fp32"):
    """A function x, index_t (numpy) -> logits (numpy float32) for one stream."""
    amp = PRECISIONS[precision]
    step = MICRO_BATCH if device.type == "cpu" else None

    def run(x: np.ndarray, index_t: np.ndarray) -> np.ndarray:
        with torch.inference_mode(), torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            xt = torch.from_numpy(x).to(device, non_blocking=True)
            it = torch.from_numpy(index_t).to(device, non_blocking=True)
            if step is None or len(xt) <= step:
                return model(xt, it).float().cpu().numpy()
            return torch.cat([model(xt[i:i + step], it[i:i + step]).float()
                              for i in range(0, len(xt), step)]).cpu().numpy()

    return run
