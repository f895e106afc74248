"""Small helpers the experiments share: images from scikit-image or files, square resizing, saving figures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .._util import atomic_output


def square(image: np.ndarray, size: int) -> np.ndarray:
    """The centre square of an (H, W, 3) uint8 image, resized (bicubic, antialiased) to ``size`` x ``size``."""
    from PIL import Image

    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = Image.fromarray(np.ascontiguousarray(image[top:top + side, left:left + side, :3]))
    return np.asarray(crop.resize((size, size), Image.BICUBIC))


def named_image(source: str | os.PathLike) -> np.ndarray:
    """An (H, W, 3) uint8 image: the name of an image bundled with scikit-image (``astronaut``, ``gravel``, ...;
    grey ones are repeated to RGB) or the path of an image file."""
    from ..images import read_image

    if Path(source).suffix:
        return read_image(source)
    from skimage import data

    loader = getattr(data, str(source), None)
    if loader is None or not callable(loader):
        raise ValueError(f"image {source!r} is neither a file (give its path with the suffix) nor an image bundled "
                         "with scikit-image (skimage.data: astronaut, chelsea, coffee, gravel, ...)")
    image = np.asarray(loader())
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.dtype != np.uint8:
        image = (255 * (image.astype(np.float64) - image.min()) / max(float(np.ptp(image)), 1e-12)).astype(np.uint8)
    return image[..., :3]


def as_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) or (H, W, 3) -> float32 (N, 3, H, W) in [0, 1]."""
    array = images[None] if images.ndim == 3 else images
    return torch.from_numpy(np.array(array, copy=True)).permute(0, 3, 1, 2).float().div(255)


def as_uint8(images: torch.Tensor) -> np.ndarray:
    """float (N, 3, H, W) in [0, 1] -> uint8 (N, H, W, 3) (clipped, rounded)."""
    return images.detach().clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def save_figure(fig, path: str | os.PathLike, formats: Sequence[str] = ("png",), dpi: int = 120) -> list[Path]:
    """Save ``fig`` atomically as ``path`` with each suffix of ``formats``, then close it."""
    import matplotlib.pyplot as plt

    written = []
    for suffix in formats:
        file = Path(path).with_suffix(f".{suffix}")
        with atomic_output(file) as partial:
            fig.savefig(partial, format=suffix, dpi=dpi)
        written.append(file)
    plt.close(fig)
    return written


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt
