"""The optimised inference path computes what the plain model computes."""
from __future__ import annotations

import numpy as np
import torch

from recognizer.fast import optimize_for_inference
from recognizer.mmn import MMN, MMNConfig


def test_fast_path_matches_reference(ref_checkpoint, mmn_ref):
    from recognizer.checkpoints import load_mmn

    model = load_mmn(ref_checkpoint)
    fast = optimize_for_inference(model)
    io = np.load(mmn_ref / "mmn_ma52_random_io.npz")
    x, it = torch.from_numpy(io["x"]), torch.from_numpy(io["index_t"])
    with torch.inference_mode():
        assert np.abs(fast(x, it).numpy() - io["logits"]).max() <= 1e-4
        assert np.abs(fast.forward_features(x, it).numpy() - io["features"]).max() <= 1e-4


def test_fast_path_matches_plain_with_trained_statistics():
    torch.manual_seed(0)
    model = MMN(MMNConfig(num_joints=22, num_classes=32))
    # non-trivial BatchNorm statistics and affine parameters, as after training
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
        if isinstance(mod, torch.nn.LayerNorm):
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    fast = optimize_for_inference(model)
    x = torch.randn(11, 2, 64, 22, 1)
    it = torch.sort(torch.rand(11, 64) * 2 - 1).values
    with torch.inference_mode():
        assert (fast(x, it) - model(x, it)).abs().max().item() <= 1e-4  # 11 clips: micro-batches 8 + 3
        assert fast(x, it).shape == (11, 32)
    # the original model is untouched and still trainable
    assert any(p.requires_grad for p in model.parameters())
