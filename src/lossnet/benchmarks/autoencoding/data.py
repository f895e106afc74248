"""Benchmark 4 data: SVHN and STL-10 in their published formats, prepared once into HDF5 (protocol section 6).

Readers (the real on-disk formats):

* SVHN ``{train,test,extra}_32x32.mat`` (MATLAB v5): ``X`` uint8 (32, 32, 3, N), ``y`` (N, 1) with 1..10,
  where 10 is the digit 0.
* STL-10 ``stl10_binary/{train,test,unlabeled}_X.bin``: N x 3 x 96 x 96 uint8 per file, each channel stored
  column-major (so H and W are transposed); ``{train,test}_y.bin``: uint8 labels 1..10.

Layout written by :func:`prepare_svhn` / :func:`prepare_stl10` (``data/prepared/{svhn,stl10}.h5``)::

    /unlabeled/images   uint8 (N, S, S, 3)   the autoencoder's training images (SVHN extra, STL-10 unlabeled)
    /train/images, /train/labels (int64, 0..9);  /test/images, /test/labels
    attrs: dataset, size, source

SVHN is reflection-padded by 16 pixels to 64 x 64; STL-10 stays 96 x 96. :mod:`.demo` writes small *synthetic*
stand-ins in the same formats (offline, for the demo and tests).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np
import scipy.io

from ..._util import atomic_output, progress_bar

SVHN_SPLITS = {"train": "train_32x32.mat", "test": "test_32x32.mat", "unlabeled": "extra_32x32.mat"}
STL10_SPLITS = {"train": ("train_X.bin", "train_y.bin"), "test": ("test_X.bin", "test_y.bin"),
                "unlabeled": ("unlabeled_X.bin", None)}
STL10_SIDE = 96
_STL10_BYTES = 3 * STL10_SIDE * STL10_SIDE
SVHN_PAD = 16
SIZES = {"svhn": 64, "stl10": STL10_SIDE}
_CHUNK = 4096  # images converted and written per step (bounds memory for SVHN extra / STL-10 unlabeled)


class EmbeddingDataError(ValueError):
    """A SVHN or STL-10 file is missing, truncated or not in the expected format."""


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a SVHN ``*_32x32.mat``: images uint8 (32, 32, 3, N) as stored, and labels 0..9 (10 -> 0)."""
    path = Path(path)
    if not path.is_file():
        raise EmbeddingDataError(f"missing SVHN file {path}")
    try:
        mat = scipy.io.loadmat(path, variable_names=["X", "y"])
    except Exception as error:  # scipy raises ValueError, OSError, TypeError, ... on a damaged file
        raise EmbeddingDataError(
            f"cannot read SVHN file {path}: {type(error).__name__}: {error}. The file is probably truncated or "
            "corrupt; delete it and rerun to download it again."
        ) from error
    for key in ("X", "y"):
        if key not in mat:
            raise EmbeddingDataError(f"SVHN file {path} has no variable {key!r} (found {sorted(mat)})")
    images, labels = mat["X"], np.asarray(mat["y"]).reshape(-1)
    if images.ndim != 4 or images.shape[:3] != (32, 32, 3) or images.shape[3] != len(labels):
        raise EmbeddingDataError(
            f"SVHN file {path}: X has shape {images.shape} and y {len(labels)} labels; expected (32, 32, 3, N) and N"
        )
    if len(labels) and (labels.min() < 1 or labels.max() > 10):
        raise EmbeddingDataError(f"SVHN file {path}: labels must be 1..10, found {labels.min()}..{labels.max()}")
    return images.astype(np.uint8, copy=False), (labels.astype(np.int64) % 10)


def read_stl10_images(path: Path) -> np.ndarray:
    """Memory-map an STL-10 ``*_X.bin`` as (N, 3, 96, 96) uint8 *as stored* (H and W still transposed)."""
    path = Path(path)
    if not path.is_file():
        raise EmbeddingDataError(f"missing STL-10 file {path}")
    size = path.stat().st_size
    if size == 0 or size % _STL10_BYTES:
        raise EmbeddingDataError(
            f"STL-10 image file {path} has {size} bytes, not a positive multiple of 3*96*96 = {_STL10_BYTES}: it is "
            "truncated or not an STL-10 binary. Delete the extracted folder and the archive and rerun."
        )
    return np.memmap(path, dtype=np.uint8, mode="r", shape=(size // _STL10_BYTES, 3, STL10_SIDE, STL10_SIDE))


def stl10_to_nhwc(stored: np.ndarray) -> np.ndarray:
    """(N, 3, 96, 96) column-major STL-10 records -> (N, H, W, 3) row-major images."""
    return np.ascontiguousarray(np.asarray(stored).transpose(0, 3, 2, 1))


def read_stl10_labels(path: Path, expected: int | None = None) -> np.ndarray:
    """Read an STL-10 ``*_y.bin`` (uint8 1..10) as int64 labels 0..9, checking the count against the images."""
    path = Path(path)
    if not path.is_file():
        raise EmbeddingDataError(f"missing STL-10 file {path}")
    labels = np.fromfile(path, dtype=np.uint8).astype(np.int64)
    if expected is not None and len(labels) != expected:
        raise EmbeddingDataError(
            f"STL-10 label file {path} holds {len(labels)} labels but its image file {expected} images: one of "
            "them is truncated. Delete the extracted folder and the archive and rerun."
        )
    if len(labels) and (labels.min() < 1 or labels.max() > 10):
        raise EmbeddingDataError(f"STL-10 label file {path}: labels must be 1..10, found {labels.min()}..{labels.max()}")
    return labels - 1


def read_stl10_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray | None]:
    """One split of an ``stl10_binary`` folder: NHWC uint8 images (loaded) and labels 0..9 (None if unlabeled)."""
    images_name, labels_name = STL10_SPLITS[split]
    stored = read_stl10_images(Path(root) / images_name)
    labels = read_stl10_labels(Path(root) / labels_name, len(stored)) if labels_name else None
    return stl10_to_nhwc(stored), labels


def pad_svhn(images: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) -> (N, 64, 64, 3) by reflection padding of 16 pixels (no edge repeat, as torch's)."""
    return np.pad(images, ((0, 0), (SVHN_PAD, SVHN_PAD), (SVHN_PAD, SVHN_PAD), (0, 0)), mode="reflect")


def _write_split(h5: h5py.File, split: str, n: int, side: int, chunks: Iterator[np.ndarray],
                 labels: np.ndarray | None, progress: bool) -> None:
    group = h5.create_group(split)
    images = group.create_dataset("images", (n, side, side, 3), np.uint8, chunks=(min(64, max(n, 1)), side, side, 3))
    start = 0
    with progress_bar(total=n, desc=f"{h5.attrs['dataset']}/{split}", unit="img", disable=not progress) as bar:
        for block in chunks:
            images[start:start + len(block)] = block
            start += len(block)
            bar.update(len(block))
    if labels is not None:
        group["labels"] = labels[:n]


def _check_files(paths: list[Path], what: str) -> None:
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise EmbeddingDataError(f"missing {what} file(s): {', '.join(missing)}")


@contextmanager
def _atomic_h5(output: Path, dataset: str, source: Path) -> Iterator[h5py.File]:
    """An HDF5 file written under ``<output>.partial``, renamed to ``output`` on success and deleted on error."""
    with atomic_output(output) as partial, h5py.File(partial, "w") as h5:
        h5.attrs.update({"dataset": dataset, "size": SIZES[dataset], "source": str(Path(source).resolve())})
        yield h5


def prepare_svhn(root: Path, output: Path, max_unlabeled: int | None = None, progress: bool = True) -> Path:
    """Decode ``root/{train,test,extra}_32x32.mat`` into ``output`` (HDF5, written to a temporary name)."""
    root, output = Path(root), Path(output)
    _check_files([root / name for name in SVHN_SPLITS.values()], "SVHN")
    with _atomic_h5(output, "svhn", root) as h5:
        for split, name in SVHN_SPLITS.items():
            images, labels = read_svhn_mat(root / name)
            n = len(labels) if split != "unlabeled" or max_unlabeled is None else min(max_unlabeled, len(labels))
            blocks = (pad_svhn(images[..., i:min(i + _CHUNK, n)].transpose(3, 0, 1, 2)) for i in range(0, n, _CHUNK))
            _write_split(h5, split, n, SIZES["svhn"], blocks, None if split == "unlabeled" else labels, progress)
            del images
    return output


def prepare_stl10(root: Path, output: Path, max_unlabeled: int | None = None, progress: bool = True) -> Path:
    """Decode an ``stl10_binary`` folder into ``output`` (HDF5, written to a temporary name)."""
    root, output = Path(root), Path(output)
    _check_files([root / name for pair in STL10_SPLITS.values() for name in pair if name], "STL-10")
    with _atomic_h5(output, "stl10", root) as h5:
        for split, (images_name, labels_name) in STL10_SPLITS.items():
            stored = read_stl10_images(root / images_name)
            labels = read_stl10_labels(root / labels_name, len(stored)) if labels_name else None
            n = len(stored) if max_unlabeled is None or labels_name else min(max_unlabeled, len(stored))
            blocks = (stl10_to_nhwc(stored[i:min(i + _CHUNK, n)]) for i in range(0, n, _CHUNK))
            _write_split(h5, split, n, STL10_SIDE, blocks, labels, progress)
            del stored
    return output


def prepare(dataset: str, root: Path, output: Path, max_unlabeled: int | None = None) -> Path:
    """Decode ``dataset`` (``svhn`` or ``stl10``) from its published files under ``root`` into ``output``."""
    preparers = {"svhn": prepare_svhn, "stl10": prepare_stl10}
    if dataset not in preparers:
        raise ValueError(f"unknown dataset {dataset!r} (known: {', '.join(preparers)})")
    return preparers[dataset](Path(root), Path(output), max_unlabeled=max_unlabeled)


def read_prepared(path: Path, split: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Images (N, S, S, 3) uint8 and labels (or None) of one split of a prepared file."""
    path = Path(path)
    with h5py.File(path, "r") as h5:
        if f"{split}/images" not in h5:
            raise EmbeddingDataError(f"{path} has no split {split!r} (found {sorted(h5)}); rerun its prepare rule")
        labels = h5[f"{split}/labels"][:] if f"{split}/labels" in h5 else None
        return h5[f"{split}/images"][:], labels
