"""MMN reproduces the official implementation on the reference fixture, and loads checkpoints strictly."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from recognizer.checkpoints import (CheckpointError, export_official, load_mmn, official_to_project_key,
                                    project_to_official_key, save_project_checkpoint)
from recognizer.mmn import MMN, MMNConfig
from recognizer.preprocess import prepare_clip


@pytest.fixture(scope="module")
def ref_model(ref_checkpoint):
    return load_mmn(ref_checkpoint)


@pytest.fixture(scope="module")
def ref_io(mmn_ref):
    return dict(np.load(mmn_ref / "mmn_ma52_random_io.npz"))


def test_parameter_counts():
    assert MMN(MMNConfig()).num_parameters() == 1_325_186
    assert MMN(MMNConfig(num_joints=22, num_classes=32)).num_parameters() == 1_234_014


def test_reference_features_and_logits(ref_model, ref_io):
    assert not ref_model.training
    x, it = torch.from_numpy(ref_io["x"]), torch.from_numpy(ref_io["index_t"])
    with torch.inference_mode():
        feats = ref_model.forward_features(x, it).numpy()
        logits = ref_model(x, it).numpy()
    assert np.abs(feats - ref_io["features"]).max() <= 2e-5
    assert np.abs(logits - ref_io["logits"]).max() <= 2e-5


def test_inference_path_is_the_model_in_micro_batches(ref_checkpoint, ref_io):
    """What the pipeline, classify and evaluate run (recognizer.inference): the same model, fp32, in
    micro-batches on the CPU; the reference logits to the same tolerance, any batch size alike."""
    from recognizer.inference import MICRO_BATCH, Recognizer

    rec = Recognizer(ref_checkpoint, device="cpu")
    run = rec.runners["joint"]
    assert rec.precision == "fp32" and len(ref_io["x"]) <= MICRO_BATCH
    assert np.abs(run(ref_io["x"], ref_io["index_t"]) - ref_io["logits"]).max() <= 2e-5
    x = np.concatenate([ref_io["x"]] * 5)  # more clips than a micro-batch, not a multiple of it
    it = np.concatenate([ref_io["index_t"]] * 5)
    assert len(x) > MICRO_BATCH and len(x) % MICRO_BATCH
    with torch.inference_mode():
        whole = rec.streams["joint"](torch.from_numpy(x), torch.from_numpy(it)).numpy()
    assert np.abs(run(x, it) - whole).max() <= 1e-5
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, fp16"):
        Recognizer(ref_checkpoint, device="cpu", precision="int8")
    bf16 = Recognizer(ref_checkpoint, device="cpu", precision="bf16").runners["joint"](x, it)  # on request only
    assert np.isfinite(bf16).all() and np.abs(bf16 - whole).max() > 0


def test_checkpoint_info(ref_model, ref_checkpoint):
    info = ref_model.checkpoint
    assert info.format == "official"
    assert (info.config.num_joints, info.config.num_classes) == (44, 52)
    assert len(info.sha256) == 64


def test_manifest_keys_all_translate(mmn_ref):
    manifest = json.loads((mmn_ref / "mmn_ma52_state_dict_manifest.json").read_text())["state_dict"]
    ours = MMN().state_dict()
    assert len(manifest) == len(ours) == 655
    for key, shape in manifest.items():
        mine = official_to_project_key(key)
        assert mine in ours, key
        assert list(ours[mine].shape) == shape, key
        assert project_to_official_key(mine) == key


def test_preprocessing_matches_official(mmn_ref):
    ref = np.load(mmn_ref / "preprocess_ma52.npz")
    start = 0
    for i, length in enumerate(ref["lengths"]):
        clip = ref["raw_keypoints"][start:start + length]
        start += length
        for stream in ("joint", "bone"):
            x, index_t = prepare_clip(clip, stream)
            assert x.shape == (2, 64, 44, 1) and x.dtype == np.float32
            assert np.abs(x - ref[f"{stream}_x"][i]).max() <= 1e-6
            assert np.abs(index_t - ref[f"{stream}_index_t"][i]).max() <= 1e-6


def test_module_prefixed_checkpoint_loads(ref_checkpoint, ref_io, tmp_path):
    sd = torch.load(ref_checkpoint, weights_only=True)
    path = tmp_path / "dp.pt"
    torch.save({"module." + k: v for k, v in sd.items()}, path)
    model = load_mmn(path)
    with torch.inference_mode():
        logits = model(torch.from_numpy(ref_io["x"]), torch.from_numpy(ref_io["index_t"])).numpy()
    assert np.abs(logits - ref_io["logits"]).max() <= 2e-5


def test_checkpoint_wrapped_with_training_state_loads(ref_checkpoint, ref_io, tmp_path):
    """Weights under "model" beside the optimizer's state and the epoch, keys prefixed by torch.compile
    and DataParallel: the same logits."""
    sd = torch.load(ref_checkpoint, weights_only=True)
    model = load_mmn(ref_checkpoint)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.from_numpy(ref_io["x"]), torch.from_numpy(ref_io["index_t"])).sum().backward()
    opt.step()
    path = tmp_path / "wrapped.pt"
    torch.save({"epoch": 7, "model": {"_orig_mod.module." + k: v for k, v in sd.items()},
                "optimizer": opt.state_dict(), "best_top1": 0.5}, path)
    loaded = load_mmn(path)
    with torch.inference_mode():
        logits = loaded(torch.from_numpy(ref_io["x"]), torch.from_numpy(ref_io["index_t"])).numpy()
    assert np.abs(logits - ref_io["logits"]).max() <= 2e-5


def test_wrong_shape_is_a_clear_error(ref_checkpoint, tmp_path):
    sd = torch.load(ref_checkpoint, weights_only=True)
    sd["MFM.1.blocks.2.tconv.weight"] = torch.zeros(24, 6, 5, 1)
    path = tmp_path / "bad_shape.pt"
    torch.save(sd, path)
    with pytest.raises(CheckpointError) as e:
        load_mmn(path)
    msg = str(e.value)
    assert "bad_shape.pt" in msg and "MFM.1.blocks.2.tconv.weight" in msg
    assert "[24, 6, 5, 1]" in msg and "[24, 6, 3, 1]" in msg
    assert "\n" not in msg


def test_missing_and_unexpected_keys(ref_checkpoint, tmp_path):
    sd = torch.load(ref_checkpoint, weights_only=True)
    missing = dict(sd)
    del missing["fusion.res_conv.bias"]
    torch.save(missing, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match=r"missing\.pt: missing tensor 'fusion.res_conv.bias'"):
        load_mmn(tmp_path / "missing.pt")
    extra = dict(sd, **{"MFM.0.blocks.0.extra.weight": torch.zeros(3)})
    torch.save(extra, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError, match="unexpected tensor 'MFM.0.blocks.0.extra.weight'"):
        load_mmn(tmp_path / "extra.pt")


def test_other_joint_count_is_reported(tmp_path):
    model = MMN(MMNConfig(num_joints=22, num_classes=32))
    torch.save(model.state_dict(), tmp_path / "imigue.pt")
    assert load_mmn(tmp_path / "imigue.pt").cfg.num_joints == 22  # inferred from the tensors
    # the official-format export of our own model loads as well
    export_official(tmp_path / "imigue_official.pt", model)
    assert load_mmn(tmp_path / "imigue_official.pt").cfg.num_classes == 32
    with pytest.raises(CheckpointError, match="checkpoint is for 22 joints, this needs 44"):
        load_mmn(tmp_path / "imigue_official.pt", num_joints=44)


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickled_objects_are_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"STPE": torch.zeros(96, 44), "payload": _Evil()}, path)
    with pytest.raises(CheckpointError, match="code execution") as e:
        load_mmn(path)
    assert "evil.pt" in str(e.value)
    assert "this must never run" not in capsys.readouterr().out


def test_non_checkpoint_files(tmp_path):
    (tmp_path / "notes.pt").write_text("hello")
    with pytest.raises(CheckpointError, match="notes.pt: not a readable PyTorch checkpoint"):
        load_mmn(tmp_path / "notes.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_mmn(tmp_path / "absent.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="not an MMN checkpoint"):
        load_mmn(tmp_path / "list.pt")
    with open(tmp_path / "plain.pkl", "wb") as f:
        pickle.dump({"a": 1}, f)
    with pytest.raises(CheckpointError):
        load_mmn(tmp_path / "plain.pkl")


def test_project_format_round_trip(ref_model, ref_io, tmp_path):
    labels = [dict(id=i, code=f"X{i}", name=f"action {i}", body_id=0, body_name="body") for i in range(52)]
    save_project_checkpoint(tmp_path / "proj.pt", ref_model, stream="bone", labels=labels,
                            training={"epochs": 3})
    raw = torch.load(tmp_path / "proj.pt", weights_only=True)  # the project format is weights-only safe
    assert raw["format"] == "mmn-microaction" and raw["format_version"] == 1
    model = load_mmn(tmp_path / "proj.pt")
    assert model.checkpoint.stream == "bone" and model.checkpoint.labels[3]["code"] == "X3"
    assert model.checkpoint.training == {"epochs": 3}
    with torch.inference_mode():
        logits = model(torch.from_numpy(ref_io["x"]), torch.from_numpy(ref_io["index_t"])).numpy()
    assert np.abs(logits - ref_io["logits"]).max() <= 2e-5
