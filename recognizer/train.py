"""Train or fine-tune MMN (joint or bone stream).

    microaction-train --train train_data.pkl --val val_data.pkl --stream joint --out runs/joint

Defaults are the released MA-52 configuration: AdamW (lr 1e-3, weight decay 0.1), batch 64, 120
epochs, cosine schedule stepped per iteration with 20 warm-up epochs from 1e-7 and a minimum lr of
1e-5, label-smoothing cross-entropy (0.1), augmentation probability 0.2 (see ``recognizer.data``:
here the paper's affine and temporal-jitter augmentation really applies).

Data: the official MA-52 pickle pair (``<split>_data.pkl`` with ``<split>_label.pkl`` beside it) or a
pyskl pickle (``--train-split`` / ``--val-split``). Your own label set: ``--labels labels.tsv`` (the
columns of ``assets/ma52_labels.tsv``). ``--init CKPT`` fine-tunes from a checkpoint (the classifier
is re-initialised when the number of classes differs).

Writes into ``--out``: ``best.pt`` (project format, loadable by the pipeline), ``last.pt`` (the
training state; ``--resume`` continues from it, exactly), ``log.csv`` (per epoch: ``epoch``, ``lr``
= the learning rate of the epoch's last step, ``train_loss``, ``train_top1``, and on validation
``val_loss`` and the benchmark metrics of ``recognizer.metrics``, then ``seconds``). Every file is
written atomically. Labels: ``--labels`` (a TSV or ``ma52``), else the ``labels.tsv`` that the export
wrote beside the data, else MA-52 when the data holds at least half of its classes.
"""
from __future__ import annotations

import argparse
import csv
import io
import math
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from common.cli import program_name, user_error_exit
from common.fileio import atomic_path, check_writable_dir, ensure_writable_dir, write_text_atomic
from definitions.labels import LABELS_FILE, LabelSet, load_labels, ma52_labels
from definitions.skeleton_io import SkeletonFileError, read_skeleton_file

from .checkpoints import CheckpointError, load_mmn, save_project_checkpoint
from .data import Augment, SkeletonDataset
from .inference import resolve_device
from .metrics import benchmark_metrics
from .mmn import MMN, MMNConfig

STATE_FORMAT = "mmn-train-state"


@dataclass
class TrainConfig:
    train: str
    out: str
    val: str | None = None
    train_split: str | None = None
    val_split: str | None = None
    labels: str | None = None
    stream: str = "joint"
    epochs: int = 120
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_epochs: int = 20
    warmup_lr: float = 1e-7
    min_lr: float = 1e-5
    label_smoothing: float = 0.1
    aug: Augment = field(default_factory=Augment)
    seed: int = 1
    init: str | None = None
    width: int = 96
    blocks_per_scale: int = 3
    drop_path: float = 0.3
    device: str = "auto"
    amp: bool = True
    workers: int | None = None
    eval_every: int = 1
    stop_after: int | None = None
    resume: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["aug"] = self.aug.to_dict()
        d["aug"]["scale"] = list(d["aug"]["scale"])
        return d


def lr_at(step: int, cfg: TrainConfig, steps_per_epoch: int) -> float:
    """Linear warm-up from warmup_lr over warmup_epochs, then cosine down to min_lr (per iteration)."""
    warm = cfg.warmup_epochs * steps_per_epoch
    total = cfg.epochs * steps_per_epoch
    if step < warm:
        return cfg.warmup_lr + (cfg.lr - cfg.warmup_lr) * step / max(1, warm)
    t = (step - warm) / max(1, total - warm)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, t)))


def _load_clips(path: str, split: str | None, what: str):
    clips = read_skeleton_file(path, split=split)
    if not clips:
        raise SkeletonFileError(f"{path}: no clips for {what}")
    return clips


def _check_labels(clips, labels: LabelSet, path: str) -> None:
    bad = [c.clip_id for c in clips if c.label is None or not 0 <= c.label < len(labels)]
    if bad:
        raise SkeletonFileError(f"{path}: {len(bad)} clips without a label in 0..{len(labels) - 1} "
                                f"(e.g. {bad[0]!r}); check the label file / --labels")


def training_labels(cfg: TrainConfig, clips, console) -> LabelSet:
    """The label set to train: ``--labels`` (a TSV, or ``ma52``), else the ``labels.tsv`` that
    ``pose.export_skeletons`` wrote beside the data, else MA-52 -- but never MA-52 silently for data
    that is plainly not MA-52 (fewer than half of its classes present)."""
    if cfg.labels:
        return load_labels(cfg.labels)
    beside = Path(cfg.train).parent / LABELS_FILE
    if beside.exists():
        labels = load_labels(beside)
        console.print(f"labels: {beside} ({len(labels)} actions)")
        return labels
    present = {c.label for c in clips if c.label is not None}
    ma52 = ma52_labels()
    if len(present) < len(ma52) // 2:
        raise SkeletonFileError(
            f"{cfg.train}: the data holds {len(present)} classes and no label set was given: pass --labels "
            f"YOUR_LABELS.tsv (or --labels ma52 to train MA-52's {len(ma52)} actions anyway)")
    return ma52


def _save_state(path: Path, model: MMN, opt, scaler, epoch: int, step: int, best: dict, cfg: TrainConfig,
                labels: LabelSet) -> None:
    state = {"format": STATE_FORMAT, "model": model.state_dict(), "optimizer": opt.state_dict(),
             "scaler": scaler.state_dict() if scaler is not None else None, "epoch": epoch, "step": step,
             "best": best, "config": cfg.to_dict(), "model_config": model.cfg.to_dict(), "labels": labels.to_list()}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _log(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    keys = list(dict.fromkeys(k for r in rows for k in r))
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_text_atomic(path, buf.getvalue())


@torch.no_grad()
def predict_scores(model, loader, device, amp_dtype=None) -> tuple[np.ndarray, np.ndarray, float]:
    """Logits [N, classes], labels [N] and the mean cross-entropy (labels >= 0 only)."""
    model.eval()
    out, labs, loss, n = [], [], 0.0, 0
    for x, it, y in loader:
        x, it = x.to(device), it.to(device)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            logits = model(x, it).float()
        out.append(logits.cpu().numpy())
        labs.append(y.numpy())
        ok = y >= 0
        if ok.any():
            loss += F.cross_entropy(logits[ok.to(device)], y[ok].to(device), reduction="sum").item()
            n += int(ok.sum())
    return np.concatenate(out), np.concatenate(labs), loss / max(n, 1)


@dataclass
class _Session:
    """What one training run works with (built by ``_session``)."""
    model: MMN
    opt: torch.optim.Optimizer
    scaler: object  # torch.amp.GradScaler (fp16 on CUDA) or None
    device: torch.device
    amp_dtype: object  # torch dtype under autocast, None for fp32
    labels: LabelSet
    train_ds: SkeletonDataset
    val_ds: SkeletonDataset | None
    loader_kw: dict


def _load_data(cfg: TrainConfig, console) -> tuple[list, list | None, LabelSet]:
    train_clips = _load_clips(cfg.train, cfg.train_split, "training")
    labels = training_labels(cfg, train_clips, console)
    _check_labels(train_clips, labels, cfg.train)
    val_clips = None
    if cfg.val:
        val_clips = _load_clips(cfg.val, cfg.val_split, "validation")
        _check_labels(val_clips, labels, cfg.val)
    return train_clips, val_clips, labels


def _build_model(cfg: TrainConfig, joints: int, labels: LabelSet, console) -> MMN:
    """A new MMN, or the ``--init`` checkpoint's (its width and depth win; a new classifier when the
    label set has another size)."""
    torch.manual_seed(cfg.seed)
    model = MMN(MMNConfig(num_joints=joints, num_classes=len(labels), width=cfg.width,
                          blocks_per_scale=cfg.blocks_per_scale, drop_path=cfg.drop_path))
    if cfg.init and not cfg.resume:
        init = load_mmn(cfg.init, num_joints=joints)
        model = MMN(MMNConfig(**{**init.cfg.to_dict(), "drop_path": cfg.drop_path}))
        model.load_state_dict(init.state_dict())
        if init.cfg.num_classes != len(labels):
            console.print(f"fine-tuning: new classifier for {len(labels)} classes "
                          f"(the checkpoint had {init.cfg.num_classes})")
            model.reset_classifier(len(labels))
    return model


def _decays(name: str, p: torch.Tensor) -> bool:
    """Weight decay on weight matrices, not on the joint codes, adjacency and joint mixing."""
    return p.ndim > 1 and "joint_code" not in name and "adj" not in name and "joint_mix" not in name


def _session(cfg: TrainConfig, device: torch.device, train_clips, val_clips, labels: LabelSet,
             console) -> _Session:
    model = _build_model(cfg, train_clips[0].keypoints.shape[1], labels, console).to(device)
    use_amp = cfg.amp and device.type == "cuda"
    amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if use_amp else None
    params = list(model.named_parameters())
    opt = torch.optim.AdamW([{"params": [p for n, p in params if _decays(n, p)], "weight_decay": cfg.weight_decay},
                             {"params": [p for n, p in params if not _decays(n, p)], "weight_decay": 0.0}], lr=cfg.lr)
    workers = cfg.workers if cfg.workers is not None else (4 if device.type == "cuda" else 0)
    return _Session(
        model, opt, torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None, device, amp_dtype, labels,
        SkeletonDataset(train_clips, cfg.stream, train=True, augment=cfg.aug, seed=cfg.seed),
        SkeletonDataset(val_clips, cfg.stream, train=False) if val_clips else None,
        dict(num_workers=workers, pin_memory=device.type == "cuda", persistent_workers=False))


def _resume(cfg: TrainConfig, out: Path, run: _Session, console) -> tuple[int, int, dict, list]:
    """(first epoch, optimiser step, best so far, log rows): from ``last.pt`` with --resume."""
    if not cfg.resume:
        return 0, 0, {"epoch": -1, "top1": -1.0}, []
    state_path, log_path = out / "last.pt", out / "log.csv"
    if not state_path.exists():
        raise CheckpointError(f"{state_path}: nothing to resume (no training state in {out})")
    state = torch.load(state_path, map_location="cpu", weights_only=True)
    if state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{state_path}: not a training state")
    run.model.load_state_dict(state["model"])
    run.opt.load_state_dict(state["optimizer"])
    if run.scaler is not None and state.get("scaler"):
        run.scaler.load_state_dict(state["scaler"])
    start = state["epoch"] + 1
    rows = [dict(r) for r in csv.DictReader(log_path.open())][:start] if log_path.exists() else []
    console.print(f"resuming {out} at epoch {start + 1}/{cfg.epochs}")
    return start, state["step"], state["best"], rows


def _train_epoch(cfg: TrainConfig, run: _Session, epoch: int, step: int) -> tuple[dict, int]:
    """One epoch (shuffled and augmented by seed and epoch); its log row and the next optimiser step."""
    run.train_ds.set_epoch(epoch)
    torch.manual_seed(cfg.seed * 100_003 + epoch)
    gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
    loader = DataLoader(run.train_ds, batch_size=cfg.batch_size, shuffle=True, generator=gen, drop_last=False,
                        **run.loader_kw)
    steps_per_epoch = math.ceil(len(run.train_ds) / cfg.batch_size)
    run.model.train()
    total, correct, seen, lr = 0.0, 0, 0, cfg.lr
    for x, it, y in loader:
        lr = lr_at(step, cfg, steps_per_epoch)
        for g in run.opt.param_groups:
            g["lr"] = lr
        x, it, y = x.to(run.device, non_blocking=True), it.to(run.device, non_blocking=True), y.to(run.device)
        with torch.autocast(run.device.type, dtype=run.amp_dtype or torch.float32, enabled=run.amp_dtype is not None):
            logits = run.model(x, it)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
        run.opt.zero_grad(set_to_none=True)
        if run.scaler is not None:
            run.scaler.scale(loss).backward()
            run.scaler.step(run.opt)
            run.scaler.update()
        else:
            loss.backward()
            run.opt.step()
        step += 1
        total += loss.item() * len(y)
        correct += int((logits.argmax(1) == y).sum())
        seen += len(y)
    return {"epoch": epoch + 1, "lr": f"{lr:.3e}", "train_loss": round(total / seen, 5),
            "train_top1": round(correct / seen, 4)}, step


def _validate(cfg: TrainConfig, run: _Session, epoch: int, row: dict, best: dict, best_path: Path) -> dict:
    """Validation metrics into ``row`` (on --eval-every epochs and the last); ``best.pt`` kept for the best
    validation top-1 (without validation data: the latest epoch). The best so far."""
    keep = dict(stream=cfg.stream, labels=run.labels.to_list(), label_set=run.labels.name)
    if run.val_ds is None:
        save_project_checkpoint(best_path, run.model, **keep, training={**cfg.to_dict(), "epoch": epoch + 1})
        return {"epoch": epoch + 1, "top1": row["train_top1"]}
    if (epoch + 1) % cfg.eval_every and epoch + 1 != cfg.epochs:
        return best
    vloader = DataLoader(run.val_ds, batch_size=max(cfg.batch_size, 64), shuffle=False, **run.loader_kw)
    scores, labs, vloss = predict_scores(run.model, vloader, run.device, run.amp_dtype)
    m = benchmark_metrics(scores, labs, np.array([a.body_id for a in run.labels.actions]))
    row.update({"val_loss": round(vloss, 5), **{k: round(v, 4) for k, v in m.items()}})
    if m["top1"] <= best["top1"]:
        return best
    save_project_checkpoint(best_path, run.model, **keep, training={**cfg.to_dict(), "epoch": epoch + 1, "metrics": m})
    return {"epoch": epoch + 1, **m}


def train(cfg: TrainConfig, console=None) -> dict:
    """Run (or resume) a training; returns the best validation metrics and the paths written."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = console or Console(stderr=True)
    out = Path(cfg.out)
    check_writable_dir(out)  # before loading anything: a bad --out fails at once, in one line
    device = resolve_device(cfg.device)
    train_clips, val_clips, labels = _load_data(cfg, console)
    ensure_writable_dir(out)  # the inputs are good: the run folder is made now
    run = _session(cfg, device, train_clips, val_clips, labels, console)
    start_epoch, step, best, rows = _resume(cfg, out, run, console)
    state_path, best_path, log_path = out / "last.pt", out / "best.pt", out / "log.csv"
    stop = cfg.epochs if cfg.stop_after is None else min(cfg.epochs, start_epoch + cfg.stop_after)
    # a progress bar on a terminal; plain lines, one per epoch, when the output goes to a file (batch jobs)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        TextColumn("{task.fields[info]}"), console=console, disable=not console.is_terminal)
    with progress:
        task = progress.add_task("epochs", total=cfg.epochs, completed=start_epoch, info="")
        for epoch in range(start_epoch, stop):
            t0 = time.perf_counter()
            row, step = _train_epoch(cfg, run, epoch, step)
            best = _validate(cfg, run, epoch, row, best, best_path)
            row["seconds"] = round(time.perf_counter() - t0, 2)
            rows.append(row)
            _log(log_path, rows)
            _save_state(state_path, run.model, run.opt, run.scaler, epoch, step, best, cfg, labels)
            val = f" val top1 {row['top1']:.3f}" if "top1" in row else ""
            progress.update(task, advance=1, info=f"loss {row['train_loss']:.3f}" + val)
            if not console.is_terminal:
                console.print(f"epoch {epoch + 1}/{cfg.epochs}: train loss {row['train_loss']:.4f}, train top-1 "
                              f"{row['train_top1']:.4f}" + (f", val top-1 {row['top1']:.4f}" if "top1" in row else "")
                              + f", lr {row['lr']}, {row['seconds']:.1f} s", highlight=False)
    return {"best": best, "best_checkpoint": str(best_path), "state": str(state_path), "log": str(log_path),
            "epochs_done": stop}


def parse_args(argv=None) -> TrainConfig:
    d = TrainConfig(train="", out="")
    prog = program_name("microaction-train", "recognizer.train")  # usage and examples as the command was started
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.replace("microaction-train", prog),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True, help="training pickle (MA-52 *_data.pkl or pyskl)")
    ap.add_argument("--val", help="validation pickle (best epoch chosen on its top-1)")
    ap.add_argument("--train-split", help="pyskl split name for training")
    ap.add_argument("--val-split", help="pyskl split name for validation")
    ap.add_argument("--labels", help="label set TSV, or ma52 (default: labels.tsv beside --train, written by "
                    "the export; else MA-52's 52 actions, when the data holds at least half of them)")
    ap.add_argument("--stream", choices=["joint", "bone"], default=d.stream)
    ap.add_argument("--out", required=True, help="run folder")
    ap.add_argument("--epochs", type=int, default=d.epochs)
    ap.add_argument("--batch-size", type=int, default=d.batch_size)
    ap.add_argument("--lr", type=float, default=d.lr)
    ap.add_argument("--weight-decay", type=float, default=d.weight_decay)
    ap.add_argument("--warmup-epochs", type=int, default=d.warmup_epochs)
    ap.add_argument("--min-lr", type=float, default=d.min_lr)
    ap.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    ap.add_argument("--aug-p", type=float, default=d.aug.p, help="probability of each augmentation (0 = none)")
    ap.add_argument("--no-affine-aug", action="store_true",
                    help="reproduce the released runs, whose affine/jitter augmentation had no effect")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--init", help="checkpoint to fine-tune from (official or project format)")
    ap.add_argument("--width", type=int, default=d.width, help="channels (96 = released model)")
    ap.add_argument("--blocks-per-scale", type=int, default=d.blocks_per_scale)
    ap.add_argument("--device", default=d.device)
    ap.add_argument("--no-amp", action="store_true", help="no mixed precision on GPU")
    ap.add_argument("--workers", type=int, help="DataLoader workers (default: 4 on GPU, 0 on CPU)")
    ap.add_argument("--eval-every", type=int, default=d.eval_every)
    ap.add_argument("--stop-after", type=int, help="stop after this many epochs in this run (resume later)")
    ap.add_argument("--resume", action="store_true", help="continue the run in --out from last.pt")
    a = ap.parse_args(argv)
    import math as _m

    for name in ("epochs", "batch_size", "eval_every", "width", "blocks_per_scale"):
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1; got {getattr(a, name)}")
    if a.warmup_epochs < 0 or (a.stop_after is not None and a.stop_after < 1):
        ap.error("--warmup-epochs must be >= 0 and --stop-after >= 1")
    if a.blocks_per_scale > 16 or a.width > 1024:
        ap.error(f"--width at most 1024 and --blocks-per-scale at most 16; got {a.width}, {a.blocks_per_scale}")
    problem = MMNConfig(width=a.width).width_problem()
    if problem:
        ap.error(f"--{problem} (96 = the released model)")
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", a.device):
        ap.error(f"--device must be auto, cpu or cuda[:N]; got {a.device!r}")
    for name in ("lr", "weight_decay", "min_lr", "label_smoothing", "aug_p"):
        v = getattr(a, name)
        if not (_m.isfinite(v) and v >= 0) or (name in ("label_smoothing", "aug_p") and v > 1):
            ap.error(f"--{name.replace('_', '-')} must be a finite number >= 0{' and <= 1' if name in ('label_smoothing', 'aug_p') else ''}; got {v}")
    if a.workers is not None and a.workers < 0:
        ap.error(f"--workers must be >= 0; got {a.workers}")
    aug = Augment(p=a.aug_p)
    if a.no_affine_aug:
        aug = Augment(p=a.aug_p, rotate_deg=0.0, scale=(1.0, 1.0), translate=0.0, jitter_frames=0)
    return TrainConfig(train=a.train, out=a.out, val=a.val, train_split=a.train_split, val_split=a.val_split,
                       labels=a.labels, stream=a.stream, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr,
                       weight_decay=a.weight_decay, warmup_epochs=a.warmup_epochs, min_lr=a.min_lr,
                       label_smoothing=a.label_smoothing, aug=aug, seed=a.seed, init=a.init, width=a.width,
                       blocks_per_scale=a.blocks_per_scale, device=a.device, amp=not a.no_amp,
                       workers=a.workers, eval_every=a.eval_every, stop_after=a.stop_after, resume=a.resume)


def interrupted_message(out: Path) -> str:
    """What an interruption left behind, honestly."""
    state = out / "last.pt"
    try:
        epoch = int(torch.load(state, map_location="cpu", weights_only=True)["epoch"]) + 1 if state.exists() else 0
    except Exception:
        epoch = 0
    if epoch == 0:
        return (f"interrupted before the first epoch finished: nothing was saved in {out}; "
                "run the same command again (without --resume)")
    return f"interrupted: epoch {epoch} is the last one saved in {out}; continue with the same command and --resume"


def main(argv=None) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    cfg = parse_args(argv)
    try:
        result = train(cfg, console)
    except KeyboardInterrupt:
        console.print(interrupted_message(Path(cfg.out)))
        return 130
    except Exception as e:  # a user error on one line; a bug keeps its traceback
        return user_error_exit(console, e)
    b = result["best"]
    console.print(f"best epoch {b['epoch']}: top-1 {b.get('top1', float('nan')):.4f}; "
                  f"checkpoint {result['best_checkpoint']}; log {result['log']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
