"""Shared pieces of the offline demo generators: photos bundled with scikit-image, random crops, 8-bit
conversion and deterministic archives. Synthetic data exercise the real readers; they say nothing about the
real datasets.
"""

from __future__ import annotations

import gzip
import tarfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image


@lru_cache(maxsize=None)
def photos(names: tuple[str, ...]) -> tuple[Image.Image, ...]:
    """scikit-image's bundled photos ``names`` as RGB PIL images (grey ones stacked to RGB)."""
    import skimage.data  # imported here: only the demo generators need it

    arrays = (np.asarray(getattr(skimage.data, name)()) for name in names)
    return tuple(Image.fromarray(np.stack([a] * 3, -1) if a.ndim == 2 else a[..., :3]) for a in arrays)


def random_crop(photo: Image.Image, crop_side: float, side: int, rng: np.random.Generator,
                resample: int = Image.BILINEAR) -> np.ndarray:
    """A square of ``crop_side`` photo pixels at a random place, resized to ``side``: float RGB in [0, 1]."""
    w, h = photo.size
    x, y = float(rng.uniform(0, w - crop_side)), float(rng.uniform(0, h - crop_side))
    return np.asarray(photo.resize((side, side), resample, box=(x, y, x + crop_side, y + crop_side)), np.float64) / 255


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] (clipped) to uint8, rounded."""
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def tar_gz(src: Path, top: str, out: Path) -> Path:
    """Deterministic .tar.gz of ``src/top`` with members named ``top/...`` (sorted, mtime 0)."""
    def norm(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
        info.mode = 0o755 if info.isdir() else 0o644
        return info

    paths = [src / top] + sorted((src / top).rglob("*"))
    with open(out, "wb") as raw, \
            gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in paths:
            tar.add(path, arcname=path.relative_to(src).as_posix(), recursive=False, filter=norm)
    return out
