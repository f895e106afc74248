"""Benchmark 2 data (protocol section 4): COCO training crops and the Set5 / Set14 / BSD100 test images in HDF5.

Sources, in their published formats:

* COCO 2014 ``train2014.zip`` / ``val2014.zip`` (``train2014/COCO_train2014_<id>.jpg``). ``n`` members are drawn
  with ``seed`` from the **sorted** list of image members and only those are read (over HTTP range requests
  where the server allows, see :mod:`.remote_zip`).
* Set5 / Set14: folders of HR PNGs (SelfExSR's ``img_NNN_SRF_4_HR.png``; Set14 has a greyscale image).
* BSD100: the 100 ``images/test/*.jpg`` of ``BSDS300-images.tgz``, read from the archive without unpacking it.

Layouts written here (each to a temporary name, then renamed):

* ``coco.h5``: ``/{train,val}/images`` uint8 (N, 288, 288, 3) (shorter side resized to 288, then centre crop),
  ``/{train,val}/names`` and ``crc32`` (the members' checksums from the zip, verified on reading); attrs ``size``,
  ``seed``, and per split the ``source`` (zip path or URL).
* ``<set>.h5``: ``/images/<stem>`` uint8 (H, W, 3) at the image's own size (greyscale stacked to RGB, listed in
  the attr ``greyscale``); attr ``dataset``.

A file that does not decode (corrupt or truncated) stops the step with :class:`SuperresDataError` naming it.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import h5py
import numpy as np
from PIL import Image

from ..._util import atomic_output, progress_bar
from .remote_zip import open_zip, read_members

COCO_SIZE = 288
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
BSDS_TEST = "/images/test/"


class SuperresDataError(ValueError):
    """An input image or archive of benchmark 2 is missing, unreadable or not in the expected layout."""


def decode_image(data: bytes, name: str) -> tuple[np.ndarray, bool]:
    """RGB uint8 (H, W, 3) of an encoded image, and whether it was greyscale; a damaged file is named."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # decode now: a truncated file fails here, not later
            grey = image.mode in ("1", "L", "LA", "I", "I;16", "F")
            return np.asarray(image.convert("RGB")), grey
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise SuperresDataError(
            f"cannot decode image {name}: {type(error).__name__}: {error}. The file is corrupt or truncated; "
            "delete it (or its archive) and rerun to download it again."
        ) from error


def resize_crop(image: np.ndarray, size: int = COCO_SIZE) -> np.ndarray:
    """Shorter side resized to ``size`` (bilinear, as torchvision's ``Resize``), then the centre ``size`` crop."""
    h, w = image.shape[:2]
    new_w, new_h = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
    if (new_w, new_h) != (w, h):
        image = np.asarray(Image.fromarray(image).resize((new_w, new_h), Image.BILINEAR))
    top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))
    return image[top:top + size, left:left + size]


def select_members(names: Iterable[str], n: int, seed: int) -> list[str]:
    """``n`` image members drawn with ``seed`` from the sorted list (returned in sorted order: archive order)."""
    images = sorted(name for name in names if name.lower().endswith(IMAGE_SUFFIXES))
    if n > len(images):
        raise SuperresDataError(f"asked for {n} images but the archive holds only {len(images)}")
    chosen = np.random.default_rng(seed).choice(len(images), size=n, replace=False)
    return [images[i] for i in sorted(chosen)]


def _write_atomic(output: Path, write) -> Path:
    with atomic_output(output) as partial, h5py.File(partial, "w") as h5:
        write(h5)
    return Path(output)


def _coco_split(h5: h5py.File, split: str, source: str | Path, n: int, seed: int, size: int,
                cache_dir: Path | None, sha256: str | None, progress: bool) -> None:
    with open_zip(source, cache_dir=cache_dir, sha256=sha256, progress=progress) as archive:
        names = select_members(archive.namelist(), n, seed)
        images = h5.create_dataset(f"{split}/images", (n, size, size, 3), np.uint8, chunks=(1, size, size, 3))
        members = read_members(archive, names)
        for i, (name, data) in enumerate(progress_bar(members, total=n, desc=f"coco {split}", disable=not progress)):
            images[i] = resize_crop(decode_image(data, f"{name} in {source}")[0], size)
        crc32 = [archive.getinfo(name).CRC for name in names]  # each member was checked against it when read
    h5[f"{split}/names"] = np.array(names, dtype=h5py.string_dtype())
    h5[f"{split}/crc32"] = np.array(crc32, dtype=np.uint32)


def prepare_coco(train_source: str | Path, val_source: str | Path, output: Path, *, n_train: int = 10_000,
                 n_val: int = 100, seed: int = 0, size: int = COCO_SIZE, cache_dir: Path | None = None,
                 sha256: dict[str, str | None] | None = None, progress: bool = True) -> Path:
    """Decode the seeded COCO selection once into ``output`` (sources: local zips or URLs)."""
    sha256 = sha256 or {}

    def write(h5: h5py.File) -> None:
        h5.attrs.update(size=size, seed=seed)
        for split, source, n in (("train", train_source, n_train), ("val", val_source, n_val)):
            _coco_split(h5, split, source, n, seed, size, cache_dir, sha256.get(split), progress)
            h5[split].attrs["source"] = str(source)

    return _write_atomic(output, write)


def _folder_images(folder: Path) -> Iterator[tuple[str, bytes]]:
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SuperresDataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    for path in files:
        yield str(path), path.read_bytes()


def _bsds_test_images(archive: Path) -> Iterator[tuple[str, bytes]]:
    try:
        with tarfile.open(archive) as tar:
            members = sorted((m for m in tar.getmembers() if m.isfile() and BSDS_TEST in f"/{m.name}"
                              and m.name.lower().endswith(IMAGE_SUFFIXES)), key=lambda m: m.name)
            if not members:
                raise SuperresDataError(f"{archive} has no images under images/test/: is it BSDS300-images.tgz?")
            for member in members:
                yield f"{member.name} in {archive}", tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise SuperresDataError(f"cannot read {archive}: {error}; delete it and rerun to download it again") from error


def test_images(source: Path) -> Iterator[tuple[str, np.ndarray, bool]]:
    """``(stem, RGB uint8, was_greyscale)`` of a folder of HR images or of the BSDS300 archive's test images."""
    source = Path(source)
    items = _folder_images(source) if source.is_dir() else _bsds_test_images(source)
    for name, data in items:
        image, grey = decode_image(data, name)
        yield Path(name.split(" in ")[0]).stem, image, grey


def prepare_test_set(source: Path, output: Path, dataset: str) -> Path:
    """Decode a test set (folder or BSDS300 archive) into ``output`` at the images' own sizes."""
    def write(h5: h5py.File) -> None:
        grey = []
        for stem, image, was_grey in test_images(source):
            h5.create_dataset(f"images/{stem}", data=image)
            grey += [stem] if was_grey else []
        h5.attrs.update(dataset=dataset, greyscale=np.array(grey, dtype=h5py.string_dtype()))

    return _write_atomic(output, write)


def read_test_set(path: Path) -> dict[str, np.ndarray]:
    """``{stem: RGB uint8 (H, W, 3)}`` of a prepared test set, in sorted order."""
    path = Path(path)
    if not path.is_file():
        raise SuperresDataError(f"missing prepared test set {path}; run its prepare rule")
    with h5py.File(path, "r") as h5:
        if "images" not in h5:
            raise SuperresDataError(f"{path} has no /images group: not a prepared test set")
        return {name: h5[f"images/{name}"][:] for name in sorted(h5["images"])}


def read_coco(path: Path, split: str, limit: int | None = None) -> np.ndarray:
    """The uint8 (N, S, S, 3) images of one split of a prepared ``coco.h5`` (the first ``limit``)."""
    with h5py.File(path, "r") as h5:
        if f"{split}/images" not in h5:
            raise SuperresDataError(f"{path} has no split {split!r} (found {sorted(h5)}); rerun its prepare rule")
        return h5[f"{split}/images"][:limit]


def image_names(path: Path, split: str) -> Sequence[str]:
    with h5py.File(path, "r") as h5:
        return [name.decode() if isinstance(name, bytes) else name for name in h5[f"{split}/names"][:]]
