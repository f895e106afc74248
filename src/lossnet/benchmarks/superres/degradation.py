"""The degradation of protocol section 4, with the original code's PIL operations.

The HR image is first cropped to a multiple of the scale (top-left anchored), then blurred with
``ImageFilter.GaussianBlur(radius=1.0)`` (Pillow's radius is the Gaussian's standard deviation) and resized by
``1/scale`` with ``Image.BICUBIC``, so that LR size x scale = HR size exactly.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

BLUR_SIGMA = 1.0


def crop_to_scale(hr: np.ndarray, scale: int) -> np.ndarray:
    """The top-left part of ``hr`` whose height and width are multiples of ``scale``."""
    h, w = hr.shape[:2]
    if h < scale or w < scale:
        raise ValueError(f"an image of {w}x{h} is smaller than the scale {scale}")
    return hr[: h - h % scale, : w - w % scale]


def degrade(hr: np.ndarray, scale: int, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """LR uint8 (H/scale, W/scale, 3) of an RGB uint8 HR image whose sides are multiples of ``scale``."""
    h, w = hr.shape[:2]
    if h % scale or w % scale:
        raise ValueError(f"HR size {w}x{h} is not a multiple of the scale {scale}: crop_to_scale it first")
    image = Image.fromarray(hr)
    if sigma > 0:
        image = image.filter(ImageFilter.GaussianBlur(radius=sigma))
    return np.array(image.resize((w // scale, h // scale), Image.BICUBIC))


def bicubic_upscale(lr: np.ndarray, scale: int) -> np.ndarray:
    """The bicubic reference: ``lr`` resized by ``scale`` with PIL's bicubic filter (uint8)."""
    h, w = lr.shape[:2]
    return np.array(Image.fromarray(lr).resize((w * scale, h * scale), Image.BICUBIC))
