"""PSNR and SSIM as the super-resolution literature computes them (protocol section 4).

Both on the BT.601 luma of 8-bit RGB images (Y = 16 + 65.481 R + 128.553 G + 24.966 B with RGB in [0, 1], so Y is
in [16, 235]), with ``shave`` border pixels removed on every side, data range 255. SSIM is Wang et al. 2004: a
Gaussian window of sigma 1.5, K1 0.01, K2 0.03, the mean of the SSIM map (skimage's ``structural_similarity``
with ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``).
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.metrics import structural_similarity

Y_WEIGHTS = (65.481, 128.553, 24.966)
DATA_RANGE = 255.0


def luma(image: np.ndarray) -> np.ndarray:
    """BT.601 Y (float64, [16, 235]) of an RGB uint8 (H, W, 3) image; a 2-D greyscale image counts as R=G=B."""
    rgb = np.asarray(image, np.float64) / 255.0
    if rgb.ndim == 2:
        return 16.0 + sum(Y_WEIGHTS) * rgb
    return 16.0 + rgb @ np.array(Y_WEIGHTS)


def _shaved_pair(sr: np.ndarray, hr: np.ndarray, shave: int) -> tuple[np.ndarray, np.ndarray]:
    if sr.shape != hr.shape:
        raise ValueError(f"SR image {sr.shape} and HR image {hr.shape} differ in size")
    y_sr, y_hr = luma(sr), luma(hr)
    if shave:
        if min(y_hr.shape) <= 2 * shave:
            raise ValueError(f"an image of {y_hr.shape[1]}x{y_hr.shape[0]} has nothing left after shaving {shave}")
        y_sr, y_hr = y_sr[shave:-shave, shave:-shave], y_hr[shave:-shave, shave:-shave]
    return y_sr, y_hr


def psnr_y(sr: np.ndarray, hr: np.ndarray, shave: int) -> float:
    """PSNR (dB) on Y with ``shave`` border pixels removed; inf for identical images."""
    y_sr, y_hr = _shaved_pair(sr, hr, shave)
    mse = float(np.mean((y_sr - y_hr) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(DATA_RANGE**2 / mse)


def ssim_y(sr: np.ndarray, hr: np.ndarray, shave: int) -> float:
    """SSIM (Wang et al.) on Y with ``shave`` border pixels removed."""
    y_sr, y_hr = _shaved_pair(sr, hr, shave)
    return float(structural_similarity(y_sr, y_hr, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False, data_range=DATA_RANGE))


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Model outputs (N, 3, H, W) in [0, 1] as a saved image would be: clamped, rounded to 8 bits, (N, H, W, 3)."""
    return images.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def batch_psnr_y(sr: torch.Tensor, hr: torch.Tensor, shave: int) -> torch.Tensor:
    """Per-image Y-PSNR of quantised (N, 3, H, W) outputs against uint8 targets, on their device (validation)."""
    weights = torch.tensor(Y_WEIGHTS, device=sr.device, dtype=torch.float64).view(1, 3, 1, 1)
    quantised = sr.detach().double().clamp(0, 1).mul(255).round()
    y_sr = (quantised / 255 * weights).sum(1)
    y_hr = (hr.double() / 255 * weights).sum(1)
    if shave:
        y_sr, y_hr = y_sr[:, shave:-shave, shave:-shave], y_hr[:, shave:-shave, shave:-shave]
    mse = ((y_sr - y_hr) ** 2).flatten(1).mean(1)
    return 10.0 * torch.log10(DATA_RANGE**2 / mse)
