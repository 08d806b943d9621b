"""Loading and saving MMN checkpoints.

Two formats are read:

* the official format released with MMN: a plain state dict (``torch.save(model.state_dict())``),
  keys optionally prefixed with ``module.``; joints and classes are inferred from the tensors;
* the project's own format, written by ``recognizer.train``: a dict with ``format`` =
  ``"mmn-microaction"``, ``format_version``, ``config``, ``state_dict`` (this project's key names),
  ``labels``, ``stream`` and ``training`` settings.

Files are always read with ``torch.load(..., weights_only=True)``: nothing in them is executed.
Every tensor must be used and every shape must match; anything else is a ``CheckpointError`` with a
one-line message naming the file and the first offending key.
"""
from __future__ import annotations

import hashlib
import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from common.fileio import atomic_path

from .errors import CheckpointError
from .mmn import MMN, MMNConfig

PROJECT_FORMAT = "mmn-microaction"
FORMAT_VERSION = 1


# Official module paths -> this project's, per level of the network. A key is translated by its
# longest matching path prefix (whole dot-separated components).
_TOP = {
    "STPE": "embed.joint_code",
    "projection": "embed.proj",
    "head": "classifier",
    "fusion.down1": "fusion.pool.0",
    "fusion.down2": "fusion.pool.1",
    "fusion.down3": "fusion.pool.2",
    "fusion.f4_proc": "fusion.last",
    "fusion.gate_conv.0": "fusion.gate_reduce",
    "fusion.gate_conv.1": "fusion.gate_bn",
    "fusion.gate_conv.3": "fusion.gate_out",
    "fusion.res_conv": "fusion.residual",
}
_DOWNSAMPLE = {"reduction": "conv", "bn": "bn"}
_BLOCK = {
    "gconv": "skeletal_adj",
    "mapping": "in_map",
    "norm_1": "norm1",
    "norm_2": "norm2",
    "tconv": "temporal_conv",
    "Motion.0": "motion_conv",
    "Motion.1": "motion_bn",
    "proj": "out_proj",
    "mlp.fc1": "ffn.0",
    "mlp.fc2": "ffn.2",
    "MTM.0": "mtm_conv",
    "MTM.2": "mtm_bn",
    "MSM.adj": "msm_joint_mix",
    "MSM.fc": "msm_fc",
    "MSM.bn": "msm_bn",
    "aggregation_gate.0": "gate_reduce",
    "aggregation_gate.1": "gate_bn",
    "aggregation_gate.3": "gate_out",
    "aggregation.0": "agg_conv",
    "aggregation.1": "agg_bn",
}
# (official prefix pattern, project prefix pattern, table for the rest of the key)
_LEVELS = [
    (r"MFM\.(\d+)\.blocks\.(\d+)\.", r"scales\.(\d+)\.(\d+)\.", "MFM.{}.blocks.{}.", "scales.{}.{}.", _BLOCK),
    (r"DSs\.(\d+)\.", r"downsample\.(\d+)\.", "DSs.{}.", "downsample.{}.", _DOWNSAMPLE),
]


def _rename_path(rest: str, table: dict[str, str]) -> str | None:
    parts = rest.split(".")
    for n in range(len(parts), 0, -1):
        head = ".".join(parts[:n])
        if head in table:
            return ".".join([table[head]] + parts[n:])
    return None


def _translate(key: str, to_project: bool) -> str | None:
    for off_re, our_re, off_fmt, our_fmt, table in _LEVELS:
        src_re, dst_fmt = (off_re, our_fmt) if to_project else (our_re, off_fmt)
        m = re.match(src_re, key)
        if m:
            table = table if to_project else {v: k for k, v in table.items()}
            rest = _rename_path(key[m.end():], table)
            return None if rest is None else dst_fmt.format(*m.groups()) + rest
    table = _TOP if to_project else {v: k for k, v in _TOP.items()}
    return _rename_path(key, table)


def official_to_project_key(key: str) -> str | None:
    """The project's name for an official state-dict key (None when the key is unknown)."""
    return _translate(key, to_project=True)


def project_to_official_key(key: str) -> str | None:
    """The official name for one of this project's state-dict keys."""
    return _translate(key, to_project=False)


@dataclass
class CheckpointInfo:
    """What a loaded checkpoint is: recorded with every prediction."""

    path: str
    sha256: str
    format: str  # "official" or PROJECT_FORMAT
    config: MMNConfig
    stream: str | None = None  # "joint" / "bone" when the file says so
    labels: list[dict] | None = None  # the project format's label set, None = MA-52
    label_set: str | None = None  # its name
    training: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            "file": Path(self.path).name,
            "sha256": self.sha256,
            "format": self.format,
            "stream": self.stream,
            "num_joints": self.config.num_joints,
            "num_classes": self.config.num_classes,
        }


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read(path: Path) -> object:
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint file not found")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        text = str(e)
        detail = text.split("WeightsUnpickler error:")[-1].strip().split("\n")[0].strip() or type(e).__name__
        if re.search(r"Unsupported global|GLOBAL|REDUCE|BUILD|not an allowed global", text):
            raise CheckpointError(
                f"{path}: refused: the file holds Python objects that would need code execution to "
                f"load (only tensors and plain metadata are accepted): {detail[:160]}"
            ) from None
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({detail[:160]})") from None
    except PermissionError:
        raise CheckpointError(f"{path}: permission denied") from None
    except Exception as e:  # whatever a damaged file makes the reader raise (struct.error, ...)
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({msg[:160]})") from None


def _shape(t: torch.Tensor) -> list[int]:
    return list(t.shape)


def _infer_config(path: Path, sd: dict[str, torch.Tensor]) -> MMNConfig:
    try:
        code = sd["embed.joint_code"]
        head = sd["classifier.weight"]
        first = sd["embed.proj.0.weight"]
    except KeyError as e:
        raise CheckpointError(f"{path}: not an MMN checkpoint: tensor {e.args[0]!r} is missing") from None
    if code.dim() != 2 or head.dim() != 2 or first.dim() != 4:
        raise CheckpointError(f"{path}: not an MMN checkpoint: unexpected tensor ranks")
    n_scales = 1 + len({k.split(".")[1] for k in sd if k.startswith("downsample.")})
    n_blocks = 1 + max((int(k.split(".")[2]) for k in sd if k.startswith("scales.0.")), default=-1)
    return MMNConfig(
        num_joints=code.shape[1], num_classes=head.shape[0], in_channels=first.shape[1],
        width=code.shape[0], num_scales=n_scales, blocks_per_scale=max(n_blocks, 1),
    )


def _strict_load(path: Path, model: MMN, sd: dict[str, torch.Tensor], names: dict[str, str]) -> None:
    """Copy sd into model; every key used, every shape equal. names: project key -> file's key."""
    expected = model.state_dict()
    for key, tensor in sd.items():
        if key not in expected:
            raise CheckpointError(f"{path}: unexpected tensor {names.get(key, key)!r} (not part of MMN)")
        if _shape(tensor) != _shape(expected[key]):
            raise CheckpointError(
                f"{path}: tensor {names.get(key, key)!r} has shape {_shape(tensor)}, "
                f"the model expects {_shape(expected[key])}"
            )
    for key in expected:
        if key not in sd:
            official = project_to_official_key(key) if names else key
            raise CheckpointError(f"{path}: missing tensor {official or key!r}")
    model.load_state_dict(sd, strict=True)


# where training scripts commonly put the weights in a checkpoint dict, and the prefixes their keys get
# from DataParallel / DistributedDataParallel ("module.") and torch.compile ("_orig_mod.")
STATE_DICT_WRAPPERS = ("state_dict", "model_state_dict", "model", "net")
KEY_PREFIXES = ("module.", "_orig_mod.")


def _official_state(path: Path, raw: dict) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    sd, names = {}, {}
    for key, tensor in raw.items():
        if not isinstance(key, str) or not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{path}: not a state dict: entry {key!r} is not a tensor")
        bare = key
        while bare.startswith(KEY_PREFIXES):
            bare = bare.split(".", 1)[1]
        ours = official_to_project_key(bare)
        if ours is None and project_to_official_key(bare) is not None:
            ours = bare  # a plain state dict saved from this project's MMN
        if ours is None:
            raise CheckpointError(f"{path}: unexpected tensor {key!r} (not part of MMN)")
        sd[ours] = tensor
        names[ours] = key
    return sd, names


# bounds of a project checkpoint's config (the released model: width 96, 4 scales of 3 blocks)
CONFIG_BOUNDS = {"in_channels": (1, 8), "width": (4, 1024), "num_scales": (1, 8), "blocks_per_scale": (1, 16),
                 "groups": (1, 64), "mlp_ratio": (1, 16)}


def _checked_config(path: Path, config: object, inferred: MMNConfig) -> MMNConfig:
    """The metadata's config, its types and bounds checked before any model is built (a huge config
    would take gigabytes and minutes)."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: bad config in checkpoint (a {type(config).__name__}, not a mapping)")
    known = set(MMNConfig().to_dict())
    unknown = sorted(set(config) - known)
    if unknown:
        raise CheckpointError(f"{path}: bad config in checkpoint (unknown field {unknown[0]!r})")
    for name, (lo, hi) in CONFIG_BOUNDS.items():
        v = config.get(name, getattr(MMNConfig(), name))
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise CheckpointError(f"{path}: bad config in checkpoint ({name} must be a whole number in {lo}..{hi}; "
                                  f"got {v!r})")
    for name in ("head_dropout", "drop_path"):
        v = config.get(name, getattr(MMNConfig(), name))
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
            raise CheckpointError(f"{path}: bad config in checkpoint ({name} must be in [0, 1); got {v!r})")
    cfg = MMNConfig(**{**config, "num_joints": inferred.num_joints, "num_classes": inferred.num_classes})
    if cfg.width_problem():
        raise CheckpointError(f"{path}: bad config in checkpoint ({cfg.width_problem()})")
    return cfg


def _checked_labels(path: Path, labels: object) -> list[dict] | None:
    """The metadata's label list, each entry's fields and types checked."""
    if labels is None:
        return None
    if not isinstance(labels, list):
        raise CheckpointError(f"{path}: bad labels in checkpoint (a {type(labels).__name__}, not a list)")
    for i, item in enumerate(labels):
        ok = isinstance(item, dict) and all(
            isinstance(item.get(k), t) and not isinstance(item.get(k), bool)
            for k, t in (("id", int), ("code", str), ("name", str), ("body_id", int), ("body_name", str)))
        if not ok or item["id"] != i:
            raise CheckpointError(f"{path}: bad labels in checkpoint (entry {i} must be {{id: {i}, code, name, "
                                  f"body_id, body_name}}; got {str(item)[:80]})")
    return labels


def _check_tensors(path: Path, sd: dict) -> None:
    """Every weight a finite floating-point tensor (NaN or integer weights give NaN probabilities)."""
    for k, t in sd.items():
        if not isinstance(t, torch.Tensor):
            raise CheckpointError(f"{path}: {k} is a {type(t).__name__}, not a tensor")
        if k.endswith("num_batches_tracked"):
            continue
        if not t.is_floating_point():
            raise CheckpointError(f"{path}: {k} holds {t.dtype} values; weights must be floating point")
        if not torch.isfinite(t).all():
            raise CheckpointError(f"{path}: {k} holds NaN or infinite values")


def load_mmn(
    path: str | Path,
    device: str | torch.device = "cpu",
    num_joints: int | None = None,
    num_classes: int | None = None,
) -> MMN:
    """Load an MMN checkpoint (official or project format) as an eval-mode model on ``device``.

    ``num_joints`` / ``num_classes``, when given, are what the caller needs; a checkpoint made for
    another skeleton or label set is then a clear error. The returned model carries
    ``model.checkpoint`` (a ``CheckpointInfo``).
    """
    path = Path(path)
    raw = _read(path)
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: not an MMN checkpoint (holds a {type(raw).__name__}, not a state dict)")

    meta: dict = {}
    if raw.get("format") == PROJECT_FORMAT:
        if int(raw.get("format_version", 0)) > FORMAT_VERSION:
            raise CheckpointError(
                f"{path}: written by a newer version of this tool (format {raw.get('format_version')}); please update"
            )
        sd = raw.get("state_dict")
        if not isinstance(sd, dict):
            raise CheckpointError(f"{path}: project checkpoint without a state_dict")
        names: dict[str, str] = {}
        meta = raw
        fmt = PROJECT_FORMAT
    else:
        for wrapper in STATE_DICT_WRAPPERS:  # {"state_dict": ..., "optimizer": ..., "epoch": ...} and alike
            if isinstance(raw.get(wrapper), dict) and raw[wrapper]:
                raw = raw[wrapper]
                break
        sd, names = _official_state(path, raw)
        fmt = "official"

    _check_tensors(path, sd)
    cfg = _infer_config(path, sd)
    if meta.get("config"):
        cfg = _checked_config(path, meta["config"], cfg)
    if num_joints is not None and cfg.num_joints != num_joints:
        raise CheckpointError(
            f"{path}: checkpoint is for {cfg.num_joints} joints, this needs {num_joints} (MA-52: 44, iMiGUE: 22)"
        )
    if num_classes is not None and cfg.num_classes != num_classes:
        raise CheckpointError(f"{path}: checkpoint has {cfg.num_classes} classes, this needs {num_classes}")

    model = MMN(cfg)
    _strict_load(path, model, sd, names)
    labels = _checked_labels(path, meta.get("labels"))
    if labels is not None and len(labels) != cfg.num_classes:
        raise CheckpointError(f"{path}: {len(labels)} labels in the metadata but {cfg.num_classes} classes")
    model.checkpoint = CheckpointInfo(
        path=str(path), sha256=file_sha256(path), format=fmt, config=cfg,
        stream=meta.get("stream"), labels=labels, label_set=meta.get("label_set"),
        training=dict(meta.get("training") or {}),
    )
    return model.to(device).eval()


def save_project_checkpoint(
    path: str | Path,
    model: MMN,
    *,
    stream: str,
    labels: list[dict] | None = None,
    label_set: str | None = None,
    training: dict | None = None,
    extra: dict | None = None,
) -> None:
    """Write a project-format checkpoint atomically (loadable with ``weights_only=True``)."""
    payload = {
        "format": PROJECT_FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.cfg.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "stream": stream,
        "labels": labels,
        "label_set": label_set,
        "training": training or {},
    }
    if extra:
        payload.update(extra)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def export_official(path: str | Path, model: MMN) -> None:
    """Write the model as an official-format plain state dict (for the official code)."""
    sd = {project_to_official_key(k): v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save(sd, tmp)
