"""BAPPS (Zhang et al. 2018): read the published folder layout once and store it as HDF5.

Layout read (as extracted from the LPIPS repository's archives)::

    ROOT/2afc/val/<subset>/{ref,p0,p1}/<id>.png    judge/<id>.npy  (fraction of raters preferring p1)
    ROOT/jnd/val/<subset>/{p0,p1}/<id>.png         same/<id>.npy   (fraction judging the pair identical)

Layout written (``prepare``): ``/2afc/<subset>/{ref,p0,p1}`` uint8 (N, H, W, 3), ``/2afc/<subset>/judge``
float32 (N,), ``/2afc/<subset>/ids``; ``/jnd/<subset>/{p0,p1,same,ids}`` likewise. Ids are the sorted file
stems, so the order is the same on every machine.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Sequence

import h5py
import numpy as np
from PIL import Image

from ..._util import atomic_output, progress_bar

SUBSETS_2AFC = ("traditional", "cnn", "superres", "deblur", "color", "frameinterp")
SUBSETS_JND = ("traditional", "cnn")
SUBSETS_TRAIN = ("traditional", "cnn", "mix")  # 2afc/train (BAPPS has no JND train part)
# Which image folders and which judgement file make one sample of each split.
SPLITS = {"2afc": (("ref", "p0", "p1"), "judge"), "jnd": (("p0", "p1"), "same")}


class BappsFormatError(ValueError):
    """A BAPPS folder is incomplete or holds a file that cannot be read."""


def read_image(path: Path) -> np.ndarray:
    """Decode one PNG to a uint8 (H, W, 3) RGB array, naming the file if it cannot be decoded."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, SyntaxError, ValueError) as error:
        raise BappsFormatError(f"cannot decode image {path}: {error}") from error


def read_judgement(path: Path) -> float:
    """Read one judgement .npy (shape (1,) or scalar) as a float in [0, 1]."""
    if not path.is_file():
        raise BappsFormatError(f"missing judgement file {path}")
    with open(path, "rb") as file:
        magic = file.read(6)
    if magic != b"\x93NUMPY":  # not numpy's array format (np.load would try it as a pickle)
        raise BappsFormatError(
            f"judgement file {path} is not a .npy array file (numpy's format, as np.save writes it); "
            "BAPPS judgement files hold one float in [0, 1]: replace the file"
        )
    try:
        value = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise BappsFormatError(f"cannot read judgement file {path} as a numeric .npy array: {error}") from error
    if value.size != 1 or not 0.0 <= float(value.reshape(-1)[0]) <= 1.0:
        raise BappsFormatError(f"judgement file {path} must hold one value in [0, 1], got {value!r}")
    return float(value.reshape(-1)[0])


def sample_ids(subset_dir: Path, split: str) -> list[str]:
    """Sorted ids of a subset, checking every image and judgement file of every id exists."""
    image_dirs, judgement_dir = SPLITS[split]
    first = subset_dir / image_dirs[0]
    if not first.is_dir():
        raise BappsFormatError(f"missing folder {first} (expected the BAPPS layout ROOT/{split}/val/<subset>/...)")
    ids = sorted(path.stem for path in first.glob("*.png"))
    if not ids:
        raise BappsFormatError(f"no .png images in {first}")
    for sample in ids:
        for folder in image_dirs[1:]:
            if not (subset_dir / folder / f"{sample}.png").is_file():
                raise BappsFormatError(f"missing image {subset_dir / folder / f'{sample}.png'}")
        if not (subset_dir / judgement_dir / f"{sample}.npy").is_file():
            raise BappsFormatError(f"missing judgement file {subset_dir / judgement_dir / f'{sample}.npy'}")
    return ids


def _read_stack(paths: Sequence[Path], pool: ThreadPoolExecutor) -> np.ndarray:
    """Decode ``paths`` into one array; images of another size than most are named (up to ten of them)."""
    images = list(pool.map(read_image, paths))  # PIL releases the GIL while decoding
    shapes = Counter(image.shape for image in images)
    if len(shapes) > 1:
        usual = shapes.most_common(1)[0][0]
        odd = [f"{path} ({_size(image.shape)})" for path, image in zip(paths, images) if image.shape != usual]
        raise BappsFormatError(
            f"{len(odd)} of the {len(paths)} images in {paths[0].parent} are not {_size(usual)} like the others: "
            + ", ".join(odd[:10]) + (" ..." if len(odd) > 10 else "")
        )
    return np.stack(images)


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}"


def prepare(
    root: Path,
    output: Path,
    subsets_2afc: Iterable[str] = SUBSETS_2AFC,
    subsets_jnd: Iterable[str] = SUBSETS_JND,
    progress: bool = True,
    part: str = "val",
) -> Path:
    """Decode a BAPPS folder into one HDF5 file, written under a temporary name and renamed when complete.

    ``part`` is the BAPPS part to read, ``val`` (ROOT/<split>/val/...) or ``train`` (ROOT/2afc/train/..., what
    :mod:`lossnet.calibration` fits on; BAPPS has no JND train part)."""
    root = Path(root)
    wanted = {"2afc": list(subsets_2afc), "jnd": list(subsets_jnd)}
    if not any(wanted.values()):
        raise BappsFormatError(f"no 2AFC or JND subset of {root} was asked for: name at least one")
    with atomic_output(output) as partial, h5py.File(partial, "w") as h5, \
            ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        h5.attrs["source"] = str(root.resolve())
        h5.attrs["part"] = part
        for split, subsets in wanted.items():
            image_dirs, judgement_dir = SPLITS[split]
            for subset in subsets:
                subset_dir = root / split / part / subset
                ids = sample_ids(subset_dir, split)
                group = h5.create_group(f"{split}/{subset}")
                group["ids"] = np.array(ids, dtype="S")
                first = None  # (folder, image shape): ref, p0 and p1 of a subset must all be of one size
                for folder in progress_bar(image_dirs, desc=f"{split}/{subset} ({len(ids)})", disable=not progress):
                    images = _read_stack([subset_dir / folder / f"{i}.png" for i in ids], pool)
                    if first is None:
                        first = folder, images.shape[1:]
                    elif images.shape[1:] != first[1]:
                        raise BappsFormatError(
                            f"the images in {subset_dir / folder} are {_size(images.shape[1:])} but those in "
                            f"{subset_dir / first[0]} are {_size(first[1])}: the {'/'.join(image_dirs)} images of a "
                            "sample must have one size"
                        )
                    group.create_dataset(folder, data=images, chunks=(min(256, len(ids)), *images.shape[1:]))
                group[judgement_dir] = np.array(
                    [read_judgement(subset_dir / judgement_dir / f"{i}.npy") for i in ids], dtype=np.float32
                )
    return Path(output)


def subsample_prepared(source: str | os.PathLike, output: str | os.PathLike, per_subset: int) -> Path:
    """A prepared BAPPS file with the first ``per_subset`` samples of every subset of every split (same layout and
    attributes): a smaller set for a study that only needs the pipeline exercised (the demo's seed-003 table),
    never for benchmark 1's scores."""
    if per_subset < 1:
        raise ValueError(f"per_subset must be at least 1, got {per_subset}")
    with h5py.File(source, "r") as h5, atomic_output(output) as partial, h5py.File(partial, "w") as out:
        out.attrs.update(h5.attrs)
        for split in h5:
            for subset in h5[split]:
                group, copy = h5[split][subset], out.create_group(f"{split}/{subset}")
                copy.attrs.update(group.attrs)
                for name, dataset in group.items():
                    copy.create_dataset(name, data=dataset[:per_subset])
    return Path(output)
