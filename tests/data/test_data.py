"""Offline sources, splits, preprocessing and the prepared-array cache."""

from __future__ import annotations

import numpy as np
import pytest

from ablate.config import DataConfig
from ablate.data.datamodule import IndexBatches, TensorDataModule, preprocess
from ablate.data.prepare import cache_path, load, prepare, split_indices
from ablate.data.sources import SOURCES


def test_offline_sources_have_expected_shapes():
    mnist = SOURCES["mnist5k"]()
    assert mnist.x.shape == (5000, 28, 28, 1) and mnist.x.dtype == np.uint8
    assert np.bincount(mnist.y).tolist() == [500] * 10
    digits = SOURCES["digits"]()
    assert digits.x.shape == (1797, 8, 8, 1) and digits.x.max() == 255


def test_split_is_disjoint_complete_and_seeded():
    y = np.arange(1000)
    a = split_indices(y, 0.1, 0.2, seed=0)
    b = split_indices(y, 0.1, 0.2, seed=0)
    c = split_indices(y, 0.1, 0.2, seed=1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["train"], c["train"])
    joined = np.concatenate(list(a.values()))
    assert sorted(joined.tolist()) == list(range(1000))
    assert (len(a["train"]), len(a["val"]), len(a["test"])) == (720, 80, 200)


def test_official_test_split_is_kept():
    s = split_indices(np.zeros(120), 0.25, 0.5, seed=0, n_test=20)
    assert s["test"].tolist() == list(range(100, 120))
    assert len(s["val"]) == 25 and len(s["train"]) == 75


def test_preprocessing_uses_training_statistics_only():
    x = np.zeros((4, 2, 2, 1), np.uint8)
    x[:2] = 100  # the training split
    x[2:] = 255  # other splits: must not move the statistics
    train = np.array([0, 1])
    assert preprocess(x, train, "raw").max() == pytest.approx(1.0)
    centred = preprocess(x, train, "center")
    assert centred[:2].mean() == pytest.approx(0.0, abs=1e-6)
    assert centred[2:].mean() == pytest.approx((255 - 100) / 255, rel=1e-5)
    x[0] = 50
    std = preprocess(x, train, "standardize")
    assert std[:2].std() == pytest.approx(1.0, rel=1e-3)


def test_shift_moves_raw_inputs_to_one_to_two():
    x = np.array([0, 51, 255], np.uint8).reshape(3, 1, 1, 1)
    shifted = preprocess(x, np.array([0, 1]), "shift")
    assert shifted.ravel() == pytest.approx([1.0, 1.2, 2.0])


def test_prepared_cache_is_reused_and_hash_is_stable(data_root):
    cfg = DataConfig(name="digits", root=str(data_root))
    path = prepare(cfg)
    mtime = path.stat().st_mtime_ns
    assert prepare(cfg) == path and path.stat().st_mtime_ns == mtime
    assert load(cfg).data_hash == load(cfg).data_hash
    other = DataConfig(name="digits", root=str(data_root), split_seed=1)
    assert cache_path(other) != path
    assert load(other).data_hash != load(cfg).data_hash


def test_datamodule_limits_train_and_batches_by_index(data_root):
    cfg = DataConfig(name="digits", root=str(data_root), train_limit=100, batch_size=32)
    dm = TensorDataModule(cfg, seed=0)
    dm.setup()
    assert dm.input_shape == (1, 8, 8) and dm.num_classes == 10
    batches = list(dm.train_dataloader())
    assert [len(b[1]) for b in batches] == [32, 32, 32, 4]
    assert len(dm.train_dataloader()) == 4


def test_index_batches_reshuffle_each_pass_but_repeat_per_seed():
    import torch

    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    first = [b[1].tolist() for b in IndexBatches(x, y, 10, True, seed=3)]
    loader = IndexBatches(x, y, 10, True, seed=3)
    again = [b[1].tolist() for b in loader]
    second_pass = [b[1].tolist() for b in loader]
    assert first == again and first != second_pass


def test_channels_last_keeps_shapes_and_values(data_root):
    import torch

    dm = TensorDataModule(DataConfig(name="digits", root=str(data_root)))
    dm.setup()
    before = dm.tensors["train"][0].clone()
    dm.to_channels_last()
    after = dm.tensors["train"][0]
    assert after.is_contiguous(memory_format=torch.channels_last)
    assert after.shape == before.shape and torch.equal(after, before)


def test_background_is_what_a_blank_pixel_becomes(data_root):
    dm = TensorDataModule(DataConfig(name="digits", root=str(data_root)))
    dm.setup()
    x = dm.tensors["train"][0]
    raw = dm.raw("train")
    assert raw.shape == x.shape and raw.min() >= 0 and raw.max() <= 1
    blank = raw == 0  # standardize is affine: every blank pixel maps to the background
    assert x[blank].sub(dm.background.flatten()[0]).abs().max() < 1e-5


def test_scrambled_labels_keep_the_batch_labels_but_not_their_images():
    import torch

    x, y = torch.arange(64.0)[:, None], torch.arange(64)
    loader = IndexBatches(x, y, 64, True, seed=0, scramble=True)
    passes = [next(iter(loader)) for _ in range(2)]
    for images, labels in passes:
        assert sorted(labels.tolist()) == list(range(64))  # the same labels, reassigned
        assert (labels == images[:, 0].long()).float().mean() < 0.2
    assert not torch.equal(passes[0][1], passes[1][1])  # a new pairing at every step
    with pytest.raises(ValueError, match="scrambled"):
        IndexBatches(x, y, 64, False, scramble=True)


def test_shift_px_moves_every_split_down_and_right(data_root):
    from dataclasses import replace

    import torch

    cfg = DataConfig(name="digits", root=str(data_root))
    stored, moved = TensorDataModule(cfg), TensorDataModule(replace(cfg, shift_px=2))
    stored.setup()
    moved.setup()
    for split in ("train", "val", "test"):
        a, b = stored.raw(split), moved.raw(split)
        assert torch.equal(b[..., 2:, 2:], a[..., :-2, :-2])
        assert b[..., :2, :].abs().sum() == 0 and b[..., :, :2].abs().sum() == 0
        x = moved.tensors[split][0]  # the training tensors are the moved images too
        assert torch.allclose(x[..., :2, :], moved.background.expand_as(x[..., :2, :]))
        assert not torch.equal(x, stored.tensors[split][0])


def test_image_size_resamples_every_split_before_the_shift(data_root):
    from dataclasses import replace

    import torch

    from ablate.data.translate import resize_images

    flat = np.full((2, 28, 28, 1), 200, np.uint8)
    assert np.allclose(resize_images(flat, 16), 200)  # a uniform image stays uniform
    cfg = DataConfig(name="digits", root=str(data_root))
    stored, small = TensorDataModule(cfg), TensorDataModule(replace(cfg, image_size=4))
    both = TensorDataModule(replace(cfg, image_size=4, shift_px=1))
    for dm in (stored, small, both):
        dm.setup()
    assert stored.input_shape == (1, 8, 8) and small.input_shape == (1, 4, 4)
    for split in ("train", "val", "test"):
        a, b = stored.raw(split), small.raw(split)
        assert b.shape[-2:] == (4, 4) and b.min() >= 0 and b.max() <= 1
        # the same digits, smaller: each image's ink is kept (up to the edge's weights)
        assert torch.allclose(b.mean(dim=(1, 2, 3)), a.mean(dim=(1, 2, 3)), atol=0.03)
        # the shift counts pixels of the resampled image
        assert torch.equal(both.raw(split)[..., 1:, 1:], b[..., :-1, :-1])
