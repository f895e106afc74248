"""Y-channel PSNR/SSIM against skimage on an odd-sized and a greyscale image; the batched validation PSNR."""

import numpy as np
import pytest
import torch
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from lossnet.benchmarks.superres.metrics import batch_psnr_y, luma, psnr_y, ssim_y, to_uint8


def pair(shape, seed=0):
    rng = np.random.default_rng(seed)
    hr = rng.integers(0, 256, shape, dtype=np.uint8)
    noise = rng.normal(0, 12, shape)
    return np.clip(hr + noise, 0, 255).round().astype(np.uint8), hr


def test_luma_is_bt601():
    image = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    np.testing.assert_allclose(luma(image), rgb2ycbcr(image)[..., 0], atol=1e-9)
    assert luma(np.zeros((1, 1, 3), np.uint8)).item() == 16 and luma(np.full((1, 1, 3), 255, np.uint8)).item() == 235


@pytest.mark.parametrize("shape, shave", [((37, 51, 3), 4), ((45, 29, 3), 8)])
def test_odd_sized_image_against_skimage(shape, shave):
    sr, hr = pair(shape)
    y_sr, y_hr = (rgb2ycbcr(x)[..., 0][shave:-shave, shave:-shave] for x in (sr, hr))
    assert psnr_y(sr, hr, shave) == pytest.approx(peak_signal_noise_ratio(y_hr, y_sr, data_range=255), abs=1e-9)
    expected = structural_similarity(y_hr, y_sr, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=255)
    assert ssim_y(sr, hr, shave) == pytest.approx(expected, abs=1e-9)


def test_greyscale_image_against_skimage():
    sr, hr = pair((33, 40))
    y_sr, y_hr = (16 + 219 * x[4:-4, 4:-4].astype(np.float64) / 255 for x in (sr, hr))
    assert psnr_y(sr, hr, 4) == pytest.approx(peak_signal_noise_ratio(y_hr, y_sr, data_range=255), abs=1e-9)
    assert ssim_y(sr, hr, 4) == pytest.approx(
        structural_similarity(y_hr, y_sr, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                              data_range=255), abs=1e-9)
    stacked = [np.stack([x] * 3, -1) for x in (sr, hr)]  # a greyscale image stored as RGB scores the same
    assert psnr_y(*stacked, 4) == pytest.approx(psnr_y(sr, hr, 4), abs=1e-9)


def test_shave_and_size_errors():
    sr, hr = pair((20, 20, 3))
    assert psnr_y(hr, hr, 4) == float("inf")
    with pytest.raises(ValueError, match="differ in size"):
        psnr_y(sr[:-1], hr, 4)
    with pytest.raises(ValueError, match="nothing left"):
        ssim_y(sr, hr, 10)


def test_batch_psnr_matches_quantised_per_image_psnr():
    generator = torch.Generator().manual_seed(0)
    outputs = torch.rand(3, 3, 24, 24, generator=generator) * 1.2 - 0.1  # out of range on purpose: clamped
    targets = torch.randint(0, 256, (3, 3, 24, 24), generator=generator, dtype=torch.uint8)
    saved = to_uint8(outputs)
    assert saved.dtype == np.uint8 and saved.shape == (3, 24, 24, 3)
    expected = [psnr_y(saved[i], targets[i].permute(1, 2, 0).numpy(), 4) for i in range(3)]
    np.testing.assert_allclose(batch_psnr_y(outputs, targets, 4).numpy(), expected, rtol=1e-12)
