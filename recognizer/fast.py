"""An inference-only MMN that computes the same function as ``recognizer.mmn.MMN``, faster.

What changes (not what is computed):
* the whole network runs channels-last ([B, T, V, C]), so every 1x1 convolution and linear layer is
  one matrix product over the last axis and no layout round trips are needed;
* every BatchNorm that follows a convolution is folded into it; the BatchNorms after a tanh become
  a per-channel scale and shift; LayerNorm affine parameters are folded into the next linear layer;
* temporal convolutions (kernel 3, and the fusion's strided ones) become one matrix product over
  the frames gathered side by side (grouped kernels as a block-diagonal matrix);
* the four-group skeletal product is one batched contraction;
* on the CPU a large batch runs as micro-batches of ``micro_batch`` clips: the activations of a
  few clips stay in the CPU caches (a batch of 64 clips has 70 MB tensors), which on the development
  machine doubled the throughput at batch 64 (see docs/PERFORMANCE.md). Clips are independent at
  inference, so the outputs are the same.

``optimize_for_inference(model)`` builds it from a loaded model (weights are copied, the original is
untouched). Outputs match the plain model to about 1e-5 (tested against the reference fixture).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .mmn import MMN, MotionBlock, temporal_code


def _bn_affine(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


def _conv_matrix(conv: nn.Conv2d) -> torch.Tensor:
    """Conv weight [Cout, Cin/groups, k, 1] -> dense [k * Cin, Cout] for inputs gathered as [.., k, Cin]."""
    w = conv.weight[..., 0]  # [Cout, Cin/g, k]
    cout, cin_g, k = w.shape
    g = conv.groups
    dense = w.new_zeros(k, cin_g * g, cout)
    per = cout // g
    for i in range(g):
        dense[:, i * cin_g:(i + 1) * cin_g, i * per:(i + 1) * per] = w[i * per:(i + 1) * per].permute(2, 1, 0)
    return dense.reshape(k * cin_g * g, cout)


def _fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d | None) -> tuple[torch.Tensor, torch.Tensor]:
    mat = _conv_matrix(conv)
    bias = conv.bias if conv.bias is not None else mat.new_zeros(mat.shape[1])
    if bn is None:
        return mat, bias
    s, t = _bn_affine(bn)
    return mat * s, bias * s + t


def _fold_ln_linear(ln: nn.LayerNorm, lin: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    """linear(layernorm(x)) = normalise(x) @ W' + b' with the LayerNorm's affine folded in."""
    w = lin.weight * ln.weight  # [out, in]
    return w.t(), lin.bias + lin.weight @ ln.bias


def _p(t: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(t.detach().clone().contiguous(), requires_grad=False)


def _pt(t: torch.Tensor) -> nn.Parameter:
    """A [in, out] matrix stored as [out, in] for F.linear (bias fused into the matrix product)."""
    return _p(t.t())


def _neighbours(x: torch.Tensor) -> torch.Tensor:
    """[B, T, V, C] -> [B, T, V, 3C]: frames t-1, t, t+1 side by side (zero padding)."""
    pad = F.pad(x, (0, 0, 0, 0, 1, 1))
    return torch.cat((pad[:, :-2], pad[:, 1:-1], pad[:, 2:]), dim=-1)


class FastBlock(nn.Module):
    def __init__(self, blk: MotionBlock):
        super().__init__()
        self.q, self.m, self.groups = blk.q, blk.m, blk.groups
        self.eps1, self.eps2 = blk.norm1.eps, blk.norm2.eps
        w, b = _fold_ln_linear(blk.norm1, blk.in_map)
        self.in_w, self.in_b = _pt(w), _p(b)
        self.adj = _p(blk.skeletal_adj)
        w, b = _fold_conv_bn(blk.temporal_conv, None)
        self.tc_w, self.tc_b = _pt(w), _p(b)
        s, t = _bn_affine(blk.motion_bn)
        k = blk.motion_conv.weight[:, 0, :, 0]  # [m, 3]
        self.mo_k, self.mo_b = _p((k * s[:, None]).t()), _p(t)  # [3, m]
        self.msm_scale = _p(blk.msm_joint_mix.sum(dim=0)[:, None])  # [V, 1]
        self.msm_w, self.msm_b = _p(blk.msm_fc.weight), _p(blk.msm_fc.bias)
        self.msm_s, self.msm_t = (_p(v) for v in _bn_affine(blk.msm_bn))
        w, b = _fold_conv_bn(blk.mtm_conv, None)
        self.mtm_w, self.mtm_b = _pt(w), _p(b)
        self.mtm_s, self.mtm_t = (_p(v) for v in _bn_affine(blk.mtm_bn))
        w, b = _fold_conv_bn(blk.gate_reduce, blk.gate_bn)
        self.gr_w, self.gr_b = _pt(w), _p(b)
        self.go_w = _pt(_conv_matrix(blk.gate_out))
        w, b = _fold_conv_bn(blk.agg_conv, blk.agg_bn)
        self.agg_w, self.agg_b = _pt(w), _p(b)
        self.out_w, self.out_b = _p(blk.out_proj.weight), _p(blk.out_proj.bias)
        w, b = _fold_ln_linear(blk.norm2, blk.ffn[0])
        self.f1_w, self.f1_b = _pt(w), _p(b)
        self.f2_w, self.f2_b = _p(blk.ffn[2].weight), _p(blk.ffn[2].bias)

    @staticmethod
    def _standardise(x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2), keepdim=True)
        std = x.std(dim=(1, 2), keepdim=True)
        return (x - mean) / (std + 1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, V, C]
        q, m = self.q, self.m
        b_, t_, v_, _ = x.shape
        y = F.linear(F.layer_norm(x, x.shape[-1:], eps=self.eps1), self.in_w, self.in_b)
        g_in, t_in, m_in = y[..., :q], y[..., q:2 * q], y[..., 2 * q:2 * q + m]
        x_gc = torch.einsum("hvu,btuhc->btvhc", self.adj, g_in.reshape(b_, t_, v_, self.groups, -1)).reshape(b_, t_, v_, q)
        x_tc = F.linear(_neighbours(t_in), self.tc_w, self.tc_b)

        d = m_in[:, 1:] - m_in[:, :-1]
        d = torch.cat((d, d[:, -1:]), dim=1)
        dp = F.pad(d, (0, 0, 0, 0, 1, 1))
        motion = F.gelu(dp[:, :-2] * self.mo_k[0] + dp[:, 1:-1] * self.mo_k[1] + dp[:, 2:] * self.mo_k[2] + self.mo_b)

        s = torch.tanh(F.linear(motion * self.msm_scale, self.msm_w, self.msm_b)) * self.msm_s + self.msm_t
        tm = torch.tanh(F.linear(_neighbours(motion), self.mtm_w, self.mtm_b)) * self.mtm_s + self.mtm_t
        x_gcm = self._standardise(x_gc) * (1 + s[..., :q]) + s[..., q:]
        x_tcm = self._standardise(x_tc) * (1 + tm[..., :q]) + tm[..., q:]

        w = torch.sigmoid(F.linear(F.relu(F.linear(torch.cat((x_tcm, x_gcm, motion), -1), self.gr_w, self.gr_b)), self.go_w))
        agg = torch.cat((x_tc * w[..., 0:1], x_gc * w[..., 1:2], motion * w[..., 2:3]), -1)
        agg = F.gelu(F.linear(agg, self.agg_w, self.agg_b))
        x = x + F.linear(agg, self.out_w, self.out_b)
        h = F.gelu(F.linear(F.layer_norm(x, x.shape[-1:], eps=self.eps2), self.f1_w, self.f1_b))
        return x + F.linear(h, self.f2_w, self.f2_b)


class FastMMN(nn.Module):
    """Channels-last, BatchNorm-folded MMN for inference. Same call as ``MMN``."""

    def __init__(self, model: MMN, micro_batch: int = 8):
        super().__init__()
        model = model.eval()
        self.cfg = model.cfg
        self.micro_batch = micro_batch
        with torch.no_grad():
            p = model.embed.proj
            self.e_w = nn.ParameterList([_p(c.weight[:, :, 0, 0]) for c in (p[0], p[2], p[4])])
            self.e_b = nn.ParameterList([_p(c.bias) for c in (p[0], p[2], p[4])])
            self.joint_code = _p(model.embed.joint_code.t())  # [V, C]
            self.down = nn.ParameterList()
            for ds in model.downsample:
                w, b = _fold_conv_bn(ds.conv, ds.bn)
                self.down.extend([_pt(w), _p(b)])
            self.scales = nn.ModuleList(nn.ModuleList(FastBlock(b) for b in blocks) for blocks in model.scales)
            fu = model.fusion
            self.pool = nn.ParameterList()
            self.pool_k = []
            for seq in fu.pool:
                w, b = _fold_conv_bn(seq[0], seq[1])
                self.pool.extend([_pt(w), _p(b)])
                self.pool_k.append(seq[0].kernel_size[0])
            self.last_s, self.last_t = (_p(v) for v in _bn_affine(fu.last[0]))
            w, b = _fold_conv_bn(fu.gate_reduce, fu.gate_bn)
            self.fg_w, self.fg_b = _pt(w), _p(b)
            self.fo_w, self.fo_b = _pt(_conv_matrix(fu.gate_out)), _p(fu.gate_out.bias)
            self.res_w, self.res_b = _pt(_conv_matrix(fu.residual)), _p(fu.residual.bias)
            self.cls_w, self.cls_b = _p(model.classifier.weight), _p(model.classifier.bias)
        self.checkpoint = getattr(model, "checkpoint", None)

    def forward_features(self, x: torch.Tensor, index_t: torch.Tensor) -> torch.Tensor:
        x = MMN._flatten_person(x).permute(0, 2, 3, 1)  # [B, T, V, Cin]
        h = F.gelu(F.linear(x, self.e_w[0], self.e_b[0]))
        h = F.gelu(F.linear(h, self.e_w[1], self.e_b[1]))
        h = F.linear(h, self.e_w[2], self.e_b[2])
        code = temporal_code(index_t, self.joint_code.shape[1]).to(h.dtype)  # [B, T, C]
        level = h + code[:, :, None, :] * self.joint_code
        outs = []
        for s, blocks in enumerate(self.scales):
            if s > 0:
                pad = torch.cat((level[:, :1], level, level[:, -1:]), dim=1)  # replicate padding
                n = level.shape[1] // 2
                gathered = torch.cat((pad[:, 0:2 * n:2], pad[:, 1:2 * n + 1:2], pad[:, 2:2 * n + 2:2]), dim=-1)
                level = F.linear(gathered, self.down[2 * (s - 1)], self.down[2 * (s - 1) + 1])
            f = level
            for blk in blocks:
                f = blk(f)
            outs.append(f)
        g = []
        for i, f in enumerate(outs[:-1]):
            k = self.pool_k[i]
            b_, t_, v_, c_ = f.shape
            grouped = f.reshape(b_, t_ // k, k, v_, c_).permute(0, 1, 3, 2, 4).reshape(b_, t_ // k, v_, k * c_)
            g.append(F.relu(F.linear(grouped, self.pool[2 * i], self.pool[2 * i + 1])))
        g.append(F.relu(outs[-1] * self.last_s + self.last_t))
        a = torch.softmax(F.linear(F.relu(F.linear(torch.cat(g, -1), self.fg_w, self.fg_b)), self.fo_w, self.fo_b), dim=-1)
        mixed = sum(a[..., i:i + 1] * gi for i, gi in enumerate(g))
        out = mixed + F.linear(g[-1], self.res_w, self.res_b)
        return out.mean(dim=(1, 2))

    def forward(self, x: torch.Tensor, index_t: torch.Tensor) -> torch.Tensor:
        mb = self.micro_batch
        if x.device.type == "cpu" and mb and x.shape[0] > mb:
            return torch.cat([self.forward(x[i:i + mb], index_t[i:i + mb]) for i in range(0, x.shape[0], mb)])
        return F.linear(self.forward_features(x, index_t), self.cls_w, self.cls_b)


def optimize_for_inference(model: MMN, micro_batch: int = 8) -> FastMMN:
    """A FastMMN on the model's device with the model's weights."""
    device = next(model.parameters()).device
    return FastMMN(model, micro_batch).to(device).eval()
