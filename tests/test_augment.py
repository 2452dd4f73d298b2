"""Augmentations: shapes, the properties spec §1 defines, seeding, and the thesis' np.interp."""

import numpy as np
import pytest
import torch

from ncsweep.augment import AUGMENTATIONS, build_augmentation, gauss_noise, window_warp
from ncsweep.augment.slice import slice_shuffle
from ncsweep.augment.warp import amplitude_resize, stretch_window
from ncsweep.config.stage1 import AugmentConfig

LENGTHS = [5, 6, 7, 64, 65, 1024]


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
@pytest.mark.parametrize("length", LENGTHS)
def test_keeps_shape_and_repeats_with_seed(name, length):
    aug = build_augmentation(name, AugmentConfig())
    x = torch.randn(16, length)
    y = aug(x, gen(3))
    assert y.shape == x.shape and y.dtype == x.dtype and torch.isfinite(y).all()
    assert torch.equal(y, aug(x, gen(3)))
    assert not torch.equal(y, aug(x, gen(4)))
    assert not torch.equal(y, x)


def test_unknown_name_lists_known():
    with pytest.raises(ValueError, match="gauss, slice, warp"):
        build_augmentation("cutout", AugmentConfig())


def test_runs_without_generator():
    assert build_augmentation("warp")(torch.randn(4, 32), None).shape == (4, 32)


def test_gauss_noise_std():
    x = torch.randn(512, 256)
    noise = gauss_noise(x, gen(), std=0.05) - x
    assert noise.std().item() == pytest.approx(0.05, rel=0.02)
    assert abs(noise.mean().item()) < 1e-3
    cfg_noise = build_augmentation("gauss", AugmentConfig(gauss_std=0.3))(x, gen()) - x
    assert cfg_noise.std().item() == pytest.approx(0.3, rel=0.02)


@pytest.mark.parametrize("length", LENGTHS)
def test_slice_is_a_permutation_of_four_contiguous_pieces(length):
    x = torch.arange(length, dtype=torch.float64).repeat(300, 1)  # value = source index
    y = slice_shuffle(x, gen(), n_cuts=3).long()
    assert torch.equal(y.sort(dim=1).values, x.long())  # every sample used exactly once
    breaks = (y.diff(dim=1) != 1).sum(dim=1)  # piece boundaries that are not contiguous
    assert breaks.max().item() <= 3  # so at most 4 contiguous pieces, concatenated
    if length > 5:
        assert (breaks > 0).float().mean().item() > 0.5  # usually really shuffled


def test_slice_moves_values_as_the_index_pieces_say():
    x = torch.randn(64, 100)
    index = torch.arange(100).repeat(64, 1)
    y = slice_shuffle(x, gen(1))
    source = slice_shuffle(index, gen(1))  # same draws: the source index of every output sample
    assert torch.equal(y, x.gather(1, source))
    cfg_y = build_augmentation("slice", AugmentConfig(slice_cuts=1))(index, gen(1))
    assert (cfg_y.diff(dim=1) != 1).sum(dim=1).max().item() <= 1  # 2 pieces only


def numpy_window_warp(x, start, w, m):
    """The thesis code's two np.interp calls for one series."""
    window = np.interp(np.linspace(0, w - 1, m), np.arange(w), x[start : start + w])
    spliced = np.concatenate([x[:start], window, x[start + w :]])
    return np.interp(np.arange(x.size), np.linspace(0, x.size - 1, spliced.size), spliced)


@pytest.mark.parametrize("length", LENGTHS)
def test_stretch_window_matches_np_interp(length):
    rng = np.random.default_rng(length)
    x = rng.standard_normal((12, length))
    w = max(round(0.4 * length), 1)
    start = rng.integers(0, length - w + 1, 12)
    m = np.maximum(np.round(w * rng.uniform(0.9, 2.0, 12)).astype(int), 1)
    got = stretch_window(torch.tensor(x), torch.tensor(start), w, torch.tensor(m)).numpy()
    want = np.stack([numpy_window_warp(x[i], start[i], w, m[i]) for i in range(12)])
    np.testing.assert_allclose(got, want, atol=1e-10)


def test_window_warp_changes_shape_within_range():
    x = torch.randn(256, 128)
    y = window_warp(x, gen())
    changed = (y - x).abs().amax(dim=1) > 1e-6
    assert changed.float().mean().item() > 0.9
    # interpolation never leaves the range of the input series
    assert (y.amax(dim=1) <= x.amax(dim=1) + 1e-6).all()
    assert (y.amin(dim=1) >= x.amin(dim=1) - 1e-6).all()
    # endpoints are kept: the resampling grid spans the whole spliced series
    assert torch.allclose(y[:, 0], x[:, 0]) and torch.allclose(y[:, -1], x[:, -1])


def test_warp_amplitude_factor_distribution_and_bound():
    ones = torch.ones(4000, 50)
    y = build_augmentation("warp", AugmentConfig())(ones, gen())
    factor = y[:, 0]
    assert torch.allclose(y, factor[:, None].expand_as(y), atol=1e-5)  # one factor per series
    assert factor.mean().item() == pytest.approx(1.0, abs=0.02)
    assert factor.std().item() == pytest.approx(0.2, rel=0.05)
    x = torch.randn(512, 97)
    y = build_augmentation("warp", AugmentConfig())(x, gen(2))
    assert (y.abs().amax(dim=1) <= x.abs().amax(dim=1) * (1 + 5 * 0.2)).all()


def test_amplitude_resize_uses_config_std():
    y = build_augmentation("warp", AugmentConfig(amplitude_std=0.0))(torch.ones(8, 20), gen())
    assert torch.allclose(y, torch.ones(8, 20))
    z = amplitude_resize(torch.ones(5000, 3), gen(), std=0.5)
    assert z[:, 0].std().item() == pytest.approx(0.5, rel=0.05)


def test_generator_may_differ_from_batch_dtype():
    x = torch.randn(8, 40, dtype=torch.float64)
    for name in AUGMENTATIONS:
        y = build_augmentation(name)(x, gen())
        assert y.dtype == torch.float64 and y.device == x.device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_cpu_generator_with_cuda_batch_matches_cpu(name):
    aug = build_augmentation(name)
    x = torch.randn(32, 97, dtype=torch.float64)
    y = aug(x.cuda(), gen(5))
    assert y.device.type == "cuda"
    torch.testing.assert_close(y.cpu(), aug(x, gen(5)))
