"""The degradation: the original code's PIL operations, LR x scale = HR, Pillow's radius is sigma."""

import numpy as np
import pytest
from PIL import Image, ImageFilter
from scipy import ndimage

from lossnet.benchmarks.superres.degradation import bicubic_upscale, crop_to_scale, degrade


@pytest.fixture
def hr():
    return np.random.default_rng(0).integers(0, 256, (53, 70, 3), dtype=np.uint8)


@pytest.mark.parametrize("scale", [4, 8])
def test_degrade_is_the_direct_pil_computation(hr, scale):
    cropped = crop_to_scale(hr, scale)
    assert cropped.shape == (53 - 53 % scale, 70 - 70 % scale, 3)
    np.testing.assert_array_equal(cropped, hr[: cropped.shape[0], : cropped.shape[1]])
    h, w = cropped.shape[:2]
    direct = Image.fromarray(cropped).filter(ImageFilter.GaussianBlur(radius=1.0)).resize((w // scale, h // scale),
                                                                                          Image.BICUBIC)
    lr = degrade(cropped, scale)
    np.testing.assert_array_equal(lr, np.asarray(direct))
    assert lr.shape[0] * scale == h and lr.shape[1] * scale == w
    assert bicubic_upscale(lr, scale).shape == cropped.shape


def test_pillow_radius_is_the_standard_deviation():
    """The blur matches a sigma-1 Gaussian far better than a sigma-0.5 or sigma-2 one."""
    image = np.zeros((41, 41), np.uint8)
    image[20, 20] = 255
    image[5:10, 30:36] = 200
    pil = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius=1.0)), np.float64)
    errors = {s: np.abs(pil - ndimage.gaussian_filter(image.astype(np.float64), s, mode="nearest")).mean()
              for s in (0.5, 1.0, 2.0)}
    assert errors[1.0] < 0.5 * min(errors[0.5], errors[2.0])


def test_uncropped_image_is_refused(hr):
    with pytest.raises(ValueError, match="not a multiple of the scale 4"):
        degrade(hr, 4)
