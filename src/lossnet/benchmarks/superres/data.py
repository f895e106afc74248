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

import tarfile
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import h5py
import numpy as np
from PIL import Image

from ... import images as image_files
from ..._util import atomic_output, progress_bar
from .. import SUPERRES_SCALES
from .remote_zip import open_zip, read_members

COCO_SIZE = 288
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
SSIM_WINDOW = 11  # the Gaussian SSIM window of skimage (sigma 1.5, truncated at 3.5 sigma) needs this many pixels
DEFAULT_SCALES = SUPERRES_SCALES  # config superres.scales; prepare_test_set checks sizes for the largest
BSDS_TEST = "/images/test/"


class SuperresDataError(ValueError):
    """An input image or archive of benchmark 2 is missing, unreadable or not in the expected layout."""


def decode_image(data: bytes, name: str) -> tuple[np.ndarray, bool]:
    """RGB uint8 (H, W, 3) of an encoded image, and whether it was greyscale (:func:`lossnet.images.decode_image`:
    16-bit scaled to 8 bits, transparency refused); a damaged file is named."""
    try:
        return image_files.decode_image(data, name)
    except image_files.ImageReadError as error:
        raise SuperresDataError(f"{error} (in a downloaded archive: delete it and rerun to download it again)") from None


def minimum_size(scale: int) -> int:
    """The smallest side of an HR test image that can be scored at ``scale``: cropped to a multiple of the scale,
    it must keep an SSIM window (11 pixels) after ``scale`` border pixels are shaved on each side."""
    return -(-(2 * scale + SSIM_WINDOW) // scale) * scale


def check_size(name: str, image: np.ndarray, scales: Iterable[int]) -> None:
    """Refuse an image too small for the largest of ``scales``, naming it (not after training, in skimage's words)."""
    scale = max(scales, default=1)
    height, width = image.shape[:2]
    if min(height, width) < minimum_size(scale):
        raise SuperresDataError(f"{name} is {width}x{height}: at x{scale} an image needs at least "
                                f"{minimum_size(scale)} pixels a side (cropped to a multiple of {scale}, {scale} "
                                "border pixels shaved, an 11-pixel SSIM window); remove it or use a larger one")


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
    members = sorted(name for name in names if name.lower().endswith(IMAGE_SUFFIXES))
    repeated = sorted({a for a, b in zip(members, members[1:]) if a == b})
    if repeated:
        raise SuperresDataError(f"the archive holds the member {repeated[0]} more than once ({len(repeated)} names "
                                "repeated): a zip's members are read by name, so one copy would be used every time; "
                                "rebuild the archive with unique names")
    if n > len(members):
        raise SuperresDataError(f"asked for {n} images but the archive holds only {len(members)}")
    chosen = np.random.default_rng(seed).choice(len(members), size=n, replace=False)
    return [members[i] for i in sorted(chosen)]


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
    files = image_files.images_in(folder, IMAGE_SUFFIXES)
    if not files:
        raise SuperresDataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    try:
        image_files.by_stem(files)  # images are matched (and stored) by stem: a.png and a.jpg cannot both be it
    except ValueError as error:
        raise SuperresDataError(str(error)) from None
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
    seen: dict[str, str] = {}
    for name, data in items:
        stem = Path(name.split(" in ")[0]).stem
        if stem in seen:
            raise SuperresDataError(f"two images of the stem {stem!r}: {seen[stem]} and {name}; images are matched "
                                    "by stem, so keep only one of them")
        seen[stem] = name
        image, grey = decode_image(data, name)
        yield stem, image, grey


def prepare_test_set(source: Path, output: Path, dataset: str, scales: Iterable[int] = DEFAULT_SCALES) -> Path:
    """Decode a test set (folder or BSDS300 archive) into ``output`` at the images' own sizes; an image too small
    for the largest of ``scales`` is refused now, not when every job scores it after training."""
    scales = list(scales)

    def write(h5: h5py.File) -> None:
        grey = []
        for stem, image, was_grey in test_images(source):
            check_size(f"{stem} of {source}", image, scales)
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
