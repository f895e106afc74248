"""Offline stand-ins for benchmark 2's downloads, in the real formats, from photos bundled with scikit-image and
scikit-learn (for the demo workflow and tests): the numbers they produce say nothing about real SR quality.

* ``train2014.zip`` / ``val2014.zip``: ``train2014/COCO_train2014_<12-digit id>.jpg`` members (and the directory
  entry) as in COCO 2014, JPEGs of random crops at random non-square sizes.
* Set5 / Set14 folders of ``img_NNN_SRF_4_HR.png`` (SelfExSR's names); one Set14 image is greyscale, as in Set14.
* ``BSDS300-images.tgz``: ``BSDS300/images/{train,test}/<id>.jpg`` and ``BSDS300/iids_{train,test}.txt``.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from ...data import synthetic

_SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "immunohistochemistry", "hubble_deep_field")


@lru_cache(maxsize=1)
def photos() -> tuple[np.ndarray, ...]:
    """scikit-image's bundled photos and scikit-learn's two sample images, as RGB uint8 arrays."""
    from sklearn.datasets import load_sample_images

    return tuple(np.asarray(photo) for photo in synthetic.photos(_SKIMAGE_PHOTOS)) + tuple(load_sample_images().images)


def random_crop(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A ``width`` x ``height`` RGB uint8 view of a random region of a random photo, resized down."""
    photo = photos()[int(rng.integers(len(photos())))]
    h, w = photo.shape[:2]
    zoom = float(rng.uniform(1.0, min(w / width, h / height)))
    side_w, side_h = width * zoom, height * zoom
    x, y = float(rng.uniform(0, w - side_w)), float(rng.uniform(0, h - side_h))
    box = (x, y, x + side_w, y + side_h)
    return np.asarray(Image.fromarray(photo).resize((width, height), Image.BICUBIC, box=box))


def _encoded(image: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def _random_size(rng: np.random.Generator, low: int, high: int) -> tuple[int, int]:
    return int(rng.integers(low, high + 1)), int(rng.integers(low, high + 1))


def make_coco_zip(path: Path, split: str, n: int, seed: int = 0, sizes: tuple[int, int] = (56, 96)) -> Path:
    """A COCO-2014-like zip of ``n`` JPEGs (``<split>/COCO_<split>_<id>.jpg``) at random sizes in ``sizes``."""
    rng = np.random.default_rng([seed, len(split)])
    ids = sorted(rng.choice(600_000, size=n, replace=False))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{split}/", b"")
        for image_id in ids:
            image = random_crop(rng, *_random_size(rng, *sizes))
            archive.writestr(f"{split}/COCO_{split}_{image_id:012d}.jpg", _encoded(image, "JPEG"))
    return path


def make_hr_folder(folder: Path, n: int, seed: int = 0, greyscale: tuple[int, ...] = (),
                   sizes: tuple[int, int] = (48, 80)) -> Path:
    """``n`` HR PNGs named as SelfExSR's (``img_001_SRF_4_HR.png``...); the 1-based ``greyscale`` ones in mode L."""
    rng = np.random.default_rng([seed, n])
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        image = Image.fromarray(random_crop(rng, *_random_size(rng, *sizes)))
        (image.convert("L") if i in greyscale else image).save(folder / f"img_{i:03d}_SRF_4_HR.png")
    return folder


def make_bsds_archive(path: Path, n_test: int, n_train: int = 2, seed: int = 0,
                      sizes: tuple[int, int] = (48, 80)) -> Path:
    """A ``BSDS300-images.tgz``-like archive: JPEGs under ``BSDS300/images/{train,test}`` and the id lists."""
    rng = np.random.default_rng([seed, n_test, n_train])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = [int(i) for i in rng.choice(np.arange(2000, 400000), size=n_test + n_train, replace=False)]
    with tarfile.open(path, "w:gz") as tar:
        for split, split_ids in (("test", ids[:n_test]), ("train", ids[n_test:])):
            _add(tar, f"BSDS300/iids_{split}.txt", "".join(f"{i}\n" for i in sorted(split_ids)).encode())
            for image_id in split_ids:
                image = random_crop(rng, *_random_size(rng, *sizes))
                _add(tar, f"BSDS300/images/{split}/{image_id}.jpg", _encoded(image, "JPEG"))
    return path


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def make_demo(root: Path, *, n_train: int = 24, n_val: int = 4, n_set5: int = 2, n_set14: int = 3,
              n_bsd100: int = 3, seed: int = 0) -> dict[str, Path]:
    """Every benchmark-2 input under ``root``: ``coco/{train,val}2014.zip``, ``set5/``, ``set14/`` (image 2 greyscale),
    ``BSDS300-images.tgz``. Returns their paths by name."""
    root = Path(root)
    return {
        "coco_train": make_coco_zip(root / "coco/train2014.zip", "train2014", n_train, seed),
        "coco_val": make_coco_zip(root / "coco/val2014.zip", "val2014", n_val, seed),
        "set5": make_hr_folder(root / "set5", n_set5, seed),
        "set14": make_hr_folder(root / "set14", n_set14, seed + 1, greyscale=(min(2, n_set14),)),
        "bsd100": make_bsds_archive(root / "BSDS300-images.tgz", n_bsd100, seed=seed),
    }
