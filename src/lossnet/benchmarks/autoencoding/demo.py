"""Offline stand-ins for SVHN and STL-10 in their real on-disk formats (demo and tests).

Synthetic: they exercise the real readers of :mod:`.data` and say nothing about SVHN or STL-10.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image
from scipy import ndimage

from ...data.synthetic import photos, random_crop, to_uint8
from .data import STL10_SIDE

_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
           "immunohistochemistry", "retina", "brick", "grass", "gravel")  # one STL-10 stand-in class each


def _crop(photo: Image.Image, side: int, scale: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """A random square crop (``scale`` x the photo's short side), resized to ``side``, float RGB in [0, 1]."""
    return random_crop(photo, float(rng.uniform(*scale)) * min(photo.size), side, rng)


def _svhn_image(glyphs: np.ndarray, digits: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A 32x32 house-number stand-in: an upscaled 8x8 digit (plus neighbours) in a contrasting colour on a photo."""
    background = ndimage.gaussian_filter(_crop(photos(_PHOTOS)[int(rng.integers(len(_PHOTOS)))], 32, (0.05, 0.3), rng),
                                         (1.5, 1.5, 0))  # a blurred, flattened photo: house walls, not texture
    background = (background - background.mean((0, 1))) * 0.5 + background.mean((0, 1))
    ink = np.clip(np.where(background.mean() > 0.5, 0.1, 0.9) + rng.normal(0, 0.1, 3), 0, 1)
    alpha = np.zeros((32, 32))
    height = int(rng.integers(20, 29))
    width = int(height * rng.uniform(0.6, 0.85))
    top, left = 16 - height // 2 + int(rng.integers(-2, 3)), 16 - width // 2 + int(rng.integers(-2, 3))
    index = int(rng.integers(len(digits)))
    for offset in (0, -width - 2, width + 2):  # the centred digit decides the label; neighbours are distractors
        k = index if offset == 0 else int(rng.integers(len(digits)))
        if offset and rng.random() < 0.5:
            continue
        glyph = np.asarray(Image.fromarray((glyphs[k] * 15).astype(np.uint8)).resize((width, height), Image.BILINEAR))
        x0, x1 = max(left + offset, 0), min(left + offset + width, 32)
        if x1 > x0:
            alpha[top:top + height, x0:x1] = glyph[:32 - top, x0 - left - offset:x1 - left - offset] / 255.0
    image = background * (1 - alpha[..., None]) + ink * alpha[..., None] + rng.normal(0, 0.02, (32, 32, 3))
    return to_uint8(image), int(digits[index]) or 10


def make_demo_svhn(root: Path, n_train: int = 300, n_test: int = 300, n_extra: int = 600, seed: int = 0) -> Path:
    """Write synthetic ``{train,test,extra}_32x32.mat`` (SVHN's format: X (32,32,3,N) uint8, y (N,1) 1..10)."""
    from sklearn.datasets import load_digits

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    rng = np.random.default_rng(seed)
    for name, n in (("train", n_train), ("test", n_test), ("extra", n_extra)):
        pairs = [_svhn_image(digits.images, digits.target, rng) for _ in range(n)]
        images = np.stack([image for image, _ in pairs], -1) if pairs else np.zeros((32, 32, 3, 0), np.uint8)
        labels = np.array([[label] for _, label in pairs], np.uint8).reshape(-1, 1)
        scipy.io.savemat(root / f"{name}_32x32.mat", {"X": images, "y": labels})
    (root / "README.txt").write_text(
        "SYNTHETIC SVHN-format data - NOT SVHN. scikit-learn's 8x8 digits, upscaled, drawn in a contrasting colour\n"
        f"over crops of scikit-image photos. lossnet.benchmarks.autoencoding.demo.make_demo_svhn(seed={seed}).\n")
    return root


def make_demo_stl10(root: Path, n_train: int = 300, n_test: int = 300, n_unlabeled: int = 600, seed: int = 0) -> Path:
    """Write a synthetic ``root/stl10_binary`` folder in STL-10's format (class = source photo); return it."""
    folder = Path(root) / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test), ("unlabeled", n_unlabeled)):
        labels = rng.integers(0, len(_PHOTOS), n)
        images = np.zeros((n, STL10_SIDE, STL10_SIDE, 3), np.uint8)
        for i, label in enumerate(labels):
            image = _crop(photos(_PHOTOS)[label], STL10_SIDE, (0.25, 0.8), rng)
            image = image[:, ::-1] if rng.random() < 0.5 else image
            image = (image - 0.5) * rng.uniform(0.7, 1.3) + 0.5 + rng.uniform(-0.15, 0.15)
            images[i] = to_uint8(image)
        images.transpose(0, 3, 2, 1).tofile(folder / f"{split}_X.bin")  # channel-first, column-major
        if split != "unlabeled":
            (labels + 1).astype(np.uint8).tofile(folder / f"{split}_y.bin")
    (folder / "class_names.txt").write_text("\n".join(_PHOTOS) + "\n")
    (folder / "README.txt").write_text(
        "SYNTHETIC STL-10-format data - NOT STL-10. Class k = random crops (flip, brightness/contrast jitter) of\n"
        f"scikit-image photo class_names[k]. lossnet.benchmarks.autoencoding.demo.make_demo_stl10(seed={seed}).\n")
    return folder


def make_demo(dataset: str, root: Path, n_train: int, n_test: int, n_unlabeled: int, seed: int = 0) -> Path:
    """The synthetic stand-in of ``dataset`` (``svhn`` or ``stl10``) under ``root``."""
    writers = {"svhn": make_demo_svhn, "stl10": make_demo_stl10}
    if dataset not in writers:
        raise ValueError(f"no demo generator for dataset {dataset!r} (known: {', '.join(writers)})")
    return writers[dataset](Path(root), n_train, n_test, n_unlabeled, seed)
