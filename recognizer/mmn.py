"""MMN (Motion-guided Modulation Network) for skeleton-based micro-action recognition.

This module computes exactly what the released MA-52 checkpoints compute (see
``../shared/docs/mmn-reference.md``): a feature embedding with a temporal code, four temporal
scales of three motion-guided blocks each, a motion-consistency fusion at T = 8 and a linear
classifier. Parameter names are this project's own; ``recognizer.checkpoints`` translates the
official state-dict keys to them.

Tensor layout inside the network is [B, C, T, V] (batch, channels, frames, joints).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class MMNConfig:
    """Shape of an MMN model. The defaults are the released MA-52 configuration."""

    num_joints: int = 44
    num_classes: int = 52
    in_channels: int = 2
    width: int = 96
    num_scales: int = 4
    blocks_per_scale: int = 3
    groups: int = 4
    mlp_ratio: int = 2
    head_dropout: float = 0.1
    drop_path: float = 0.3

    def to_dict(self) -> dict:
        return asdict(self)

    def width_problem(self) -> str | None:
        """Why ``width`` cannot be built with ``groups``, or None: each block splits the width into quarters
        (skeletal and temporal branches) whose channels are split into ``groups`` groups."""
        step = 4 * self.groups
        if self.width % step:
            return (f"width must be a multiple of {step} (quarters of it are split into {self.groups} groups); "
                    f"got {self.width}")
        return None


class DropPath(nn.Module):
    """Stochastic depth on the residual branch (identity at inference)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


def _channels_last(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply a per-position layer (Linear, LayerNorm) over the channel axis of [B, C, T, V]."""
    return layer(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _standardise(x: torch.Tensor) -> torch.Tensor:
    """(x - mean) / (unbiased std + 1e-6) over (T, V) per sample and channel."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = x.std(dim=(2, 3), keepdim=True)
    return (x - mean) / (std + 1e-6)


def temporal_code(index_t: torch.Tensor, channels: int) -> torch.Tensor:
    """Sinusoidal code of the sampled frame positions: [B, T] -> [B, T, channels]."""
    half = torch.arange(channels // 2, device=index_t.device, dtype=torch.float32)
    freq = torch.exp(-(2.0 * half) * math.log(10000.0) / channels)
    angle = index_t.float().unsqueeze(-1) * freq
    code = torch.stack((torch.sin(angle), torch.cos(angle)), dim=-1)  # [B, T, C/2, 2]
    return code.flatten(-2)


class Embedding(nn.Module):
    """Per-joint projection of the coordinates plus a temporal code modulated per joint."""

    def __init__(self, cfg: MMNConfig):
        super().__init__()
        c = cfg.width
        self.proj = nn.Sequential(
            nn.Conv2d(cfg.in_channels, 4, 1), nn.GELU(),
            nn.Conv2d(4, 6, 1), nn.GELU(),
            nn.Conv2d(6, c, 1),
        )
        self.joint_code = nn.Parameter(torch.zeros(c, cfg.num_joints))
        nn.init.trunc_normal_(self.joint_code, std=0.02)

    def forward(self, x: torch.Tensor, index_t: torch.Tensor) -> torch.Tensor:
        code = temporal_code(index_t, self.joint_code.shape[0]).to(x.dtype)  # [B, T, C]
        code = code.permute(0, 2, 1).unsqueeze(-1) * self.joint_code.unsqueeze(1)  # [B, C, T, V]
        return self.proj(x) + code


class Downsample(nn.Module):
    """Halve T: conv (3, 1), stride 2, replicate padding, then BatchNorm."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, (3, 1), stride=(2, 1), padding=(1, 0), padding_mode="replicate")
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class MotionBlock(nn.Module):
    """Motion-guided skeletal-temporal block (one of the 3 x 4 blocks)."""

    def __init__(self, cfg: MMNConfig, drop_path: float):
        super().__init__()
        c, v, h = cfg.width, cfg.num_joints, cfg.groups
        q = c // 4  # skeletal and temporal branches: a quarter of the width each
        m = c // 2  # motion branch: half the width
        self.q, self.m, self.groups = q, m, h

        self.norm1 = nn.LayerNorm(c)
        self.in_map = nn.Linear(c, c)
        self.skeletal_adj = nn.Parameter(torch.zeros(h, v, v))
        nn.init.trunc_normal_(self.skeletal_adj, std=0.02)
        self.temporal_conv = nn.Conv2d(q, q, (3, 1), padding=(1, 0), groups=h)

        self.motion_conv = nn.Conv2d(m, m, (3, 1), padding=(1, 0), groups=m, bias=False)
        self.motion_bn = nn.BatchNorm2d(m)

        self.msm_joint_mix = nn.Parameter(torch.eye(v))
        self.msm_fc = nn.Linear(m, m)
        self.msm_bn = nn.BatchNorm2d(m)
        self.mtm_conv = nn.Conv2d(m, m, (3, 1), padding=(1, 0))
        self.mtm_bn = nn.BatchNorm2d(m)

        self.gate_reduce = nn.Conv2d(c, q, 1, bias=False)
        self.gate_bn = nn.BatchNorm2d(q)
        self.gate_out = nn.Conv2d(q, 3, 1, bias=False)
        self.agg_conv = nn.Conv2d(c, c, 1, bias=False)
        self.agg_bn = nn.BatchNorm2d(c)

        self.out_proj = nn.Linear(c, c)
        self.norm2 = nn.LayerNorm(c)
        self.ffn = nn.Sequential(nn.Linear(c, c * cfg.mlp_ratio), nn.GELU(), nn.Linear(c * cfg.mlp_ratio, c))
        self.drop_path = DropPath(drop_path)

    def skeletal(self, g: torch.Tensor) -> torch.Tensor:
        b, _, t, v = g.shape
        g = g.reshape(b, self.groups, -1, t, v)
        return torch.einsum("bhctu,hvu->bhctv", g, self.skeletal_adj).reshape(b, -1, t, v)

    def motion(self, m_in: torch.Tensor) -> torch.Tensor:
        d = m_in[:, :, 1:] - m_in[:, :, :-1]
        d = torch.cat((d, d[:, :, -1:]), dim=2)
        return F.gelu(self.motion_bn(self.motion_conv(d)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, m = self.q, self.m
        y = _channels_last(lambda t: self.in_map(self.norm1(t)), x)
        x_gc = self.skeletal(y[:, :q])
        x_tc = self.temporal_conv(y[:, q:2 * q])
        motion = self.motion(y[:, 2 * q:2 * q + m])

        # Motion-guided skeletal modulation: a per-joint scale by the column sums of S.
        z = motion * self.msm_joint_mix.sum(dim=0)
        s = self.msm_bn(torch.tanh(_channels_last(self.msm_fc, z)))
        # Motion-guided temporal modulation.
        tm = self.mtm_bn(torch.tanh(self.mtm_conv(motion)))

        x_gcm = _standardise(x_gc) * (1 + s[:, :q]) + s[:, q:]
        x_tcm = _standardise(x_tc) * (1 + tm[:, :q]) + tm[:, q:]

        gate = torch.cat((x_tcm, x_gcm, motion), dim=1)
        w = torch.sigmoid(self.gate_out(F.relu(self.gate_bn(self.gate_reduce(gate)))))
        agg = torch.cat((x_tc * w[:, 0:1], x_gc * w[:, 1:2], motion * w[:, 2:3]), dim=1)
        agg = F.gelu(self.agg_bn(self.agg_conv(agg)))

        x = x + self.drop_path(_channels_last(self.out_proj, agg))
        x = x + self.drop_path(_channels_last(lambda t: self.ffn(self.norm2(t)), x))
        return x


class ScaleFusion(nn.Module):
    """Motion-consistency fusion of the four temporal scales at the coarsest T."""

    def __init__(self, cfg: MMNConfig):
        super().__init__()
        c, n = cfg.width, cfg.num_scales
        self.pool = nn.ModuleList()
        for i in range(n - 1):
            k = 2 ** (n - 1 - i)
            self.pool.append(nn.Sequential(nn.Conv2d(c, c, (k, 1), stride=(k, 1)), nn.BatchNorm2d(c), nn.ReLU()))
        self.last = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())
        self.gate_reduce = nn.Conv2d(c * n, c, 1)
        self.gate_bn = nn.BatchNorm2d(c)
        self.gate_out = nn.Conv2d(c, n, 1)
        self.residual = nn.Conv2d(c, c, 1)
        self.dropout = nn.Dropout(cfg.head_dropout)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        g = [pool(f) for pool, f in zip(self.pool, feats[:-1])] + [self.last(feats[-1])]
        a = self.gate_out(F.relu(self.gate_bn(self.gate_reduce(torch.cat(g, dim=1)))))
        a = torch.softmax(a, dim=1)
        mixed = sum(a[:, i:i + 1] * gi for i, gi in enumerate(g))
        return self.dropout(mixed) + self.residual(g[-1])


class MMN(nn.Module):
    """The MMN recognizer. ``model(x, index_t)``: x [B, C_in, T, V, 1], index_t [B, T] -> logits."""

    def __init__(self, cfg: MMNConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or MMNConfig()
        self.embed = Embedding(cfg)
        self.downsample = nn.ModuleList(Downsample(cfg.width) for _ in range(cfg.num_scales - 1))
        n_blocks = cfg.num_scales * cfg.blocks_per_scale
        rates = torch.linspace(0, cfg.drop_path, n_blocks).tolist()
        self.scales = nn.ModuleList(
            nn.ModuleList(
                MotionBlock(cfg, rates[s * cfg.blocks_per_scale + b]) for b in range(cfg.blocks_per_scale)
            )
            for s in range(cfg.num_scales)
        )
        self.fusion = ScaleFusion(cfg)
        self.head_dropout = nn.Dropout(cfg.head_dropout)
        self.classifier = nn.Linear(cfg.width, cfg.num_classes)

    @staticmethod
    def _flatten_person(x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:
            if x.shape[-1] != 1:
                raise ValueError(f"MMN takes one person per clip; got input with {x.shape[-1]} persons")
            x = x[..., 0]
        if x.dim() != 4:
            raise ValueError(f"MMN input must be [B, C, T, V, 1]; got shape {tuple(x.shape)}")
        return x

    def forward_features(self, x: torch.Tensor, index_t: torch.Tensor) -> torch.Tensor:
        """Pooled features [B, width] before the classifier."""
        x = self._flatten_person(x)
        level = self.embed(x, index_t)
        outs = []
        for s, blocks in enumerate(self.scales):
            if s > 0:
                level = self.downsample[s - 1](level)
            f = level
            for block in blocks:
                f = block(f)
            outs.append(f)
        return self.fusion(outs).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor, index_t: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head_dropout(self.forward_features(x, index_t)))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier (fine-tuning on another label set)."""
        self.classifier = nn.Linear(self.cfg.width, num_classes)
        self.cfg = MMNConfig(**{**self.cfg.to_dict(), "num_classes": num_classes})
