"""The Massachusetts Roads Dataset (MRD): listings, resumable downloads with a checksum manifest, HDF5 tiles.

MRD has no archive. ``{base}/{split}/{kind}/index.html`` (split train/valid/test, kind sat/map) links one file
per tile: ``sat/<id>.tiff`` (RGB) and ``map/<id>.tif`` (binary road centre-lines). On disk (``root``)::

    {split}/{kind}/index.html          the listing as downloaded
    {split}/{kind}/<id>.tif[f]         the tiles
    {split}/manifest.json              {"sat/<id>.tiff": sha256, ...}: every file finished and checked so far
    {split}/SHA256SUMS                 written once the whole split is there (``sha256sum -c`` format)

:func:`download_split` fetches a split's files with a few parallel transfers through
:func:`lossnet.data.download.download` (HTTP Range resume, atomic rename). A file is recorded in the manifest only after
it opened as a complete TIFF; a rerun skips recorded files whose checksum still matches and fetches again those
that no longer match (a corrupted copy). :func:`prepare` decodes the tiles once into HDF5::

    /{split}/sat    (N, H, W, 3) uint8 RGB, chunked (1, 256, 256, 3) for random crops
    /{split}/map    (N, H, W) uint8, 1 = road
    /{split}/names  (N,) tile ids
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import h5py
import numpy as np
from PIL import Image

from ..._util import atomic_output, progress_bar
from ...data.download import download, file_digest
from ...images import read_image

log = logging.getLogger(__name__)
BASE_URL = "https://www.cs.toronto.edu/~vmnih/data/mass_roads"
SPLITS = ("train", "valid", "test")
KINDS = ("sat", "map")
TIFF_SUFFIXES = (".tif", ".tiff")
CHUNK = 256


class MRDError(ValueError):
    """MRD files that cannot be used: unreadable or truncated TIFFs, tiles without their partner."""


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def parse_listing(html: str, listing_url: str) -> dict[str, str]:
    """``{file name: absolute URL}`` of the TIFF links of an MRD ``index.html`` (relative links resolved)."""
    parser = _Links()
    parser.feed(html)
    urls = [urljoin(listing_url, href) for href in parser.hrefs]
    files = {url.rsplit("/", 1)[-1]: url for url in urls if url.lower().endswith(TIFF_SUFFIXES)}
    if not files:
        raise MRDError(f"the listing {listing_url} links no .tif/.tiff files: is it an MRD index.html?")
    return dict(sorted(files.items()))


def listing_url(base_url: str, split: str, kind: str) -> str:
    return f"{base_url.rstrip('/')}/{split}/{kind}/index.html"


def check_tiff(path: Path) -> None:
    """Decode the whole image; a truncated or non-TIFF file raises :class:`MRDError` naming it."""
    try:
        with Image.open(path) as image:
            if image.format != "TIFF":
                raise MRDError(f"{path} is a {image.format} file, not a TIFF")
            image.load()
    except (OSError, SyntaxError, ValueError) as error:
        if isinstance(error, MRDError):
            raise
        raise MRDError(f"{path} is not a readable TIFF ({error}): it is probably truncated; delete it and rerun "
                       "to download it again") from error


def read_sat(path: Path) -> np.ndarray:
    """A satellite tile as uint8 (H, W, 3) RGB."""
    check_tiff(path)
    return read_image(path)  # one decoder for every reader: 16-bit scaled to 8 bits, not clipped


def read_map(path: Path) -> np.ndarray:
    """A road map as uint8 (H, W), 1 = road (any non-zero pixel)."""
    check_tiff(path)
    with Image.open(path) as image:
        values = np.asarray(image)
    return (values.max(axis=-1) if values.ndim == 3 else values).astype(bool).astype(np.uint8)


class Manifest:
    """``{relative path: sha256}`` of the finished files of a split, rewritten atomically at every change."""

    def __init__(self, path: Path) -> None:
        self.path, self.lock = Path(path), threading.Lock()
        try:
            self.digests: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}
        except json.JSONDecodeError as error:
            raise MRDError(f"the manifest {self.path} is not valid JSON ({error}); delete it to verify every "
                           "file again") from error

    def get(self, name: str) -> str | None:
        return self.digests.get(name)

    def record(self, name: str, sha256: str) -> None:
        with self.lock:
            self.digests[name] = sha256
            with atomic_output(self.path) as partial:
                partial.write_text(json.dumps(dict(sorted(self.digests.items())), indent=1))


def _fetch_tile(url: str, destination: Path, name: str, manifest: Manifest, timeout: float) -> None:
    """Download one tile unless its recorded checksum matches; check it and record it."""
    recorded = manifest.get(name)
    download(url, destination, sha256=recorded, progress=False, timeout=timeout)
    if recorded:
        return
    # Without a pinned checksum download() writes a sidecar: the manifest keeps it instead.
    sidecar = destination.with_name(destination.name + ".sha256")
    try:
        check_tiff(destination)
    except MRDError as error:
        destination.unlink()
        sidecar.unlink(missing_ok=True)  # the checksum of a file that is gone
        raise MRDError(f"downloaded {url}, but {error} (deleted it; rerun to fetch it again)") from error
    digest = sidecar.read_text().split()[0] if sidecar.exists() else file_digest(destination)
    sidecar.unlink(missing_ok=True)
    manifest.record(name, digest)


def _listings(base_url: str, root: Path, split: str, timeout: float) -> dict[str, dict[str, str]]:
    """``{kind: {file name: url}}``; each listing is saved under ``root/split/kind/index.html``."""
    listings = {}
    for kind in KINDS:
        url = listing_url(base_url, split, kind)
        path = download(url, root / split / kind / "index.html", progress=False, timeout=timeout)
        path.with_name(path.name + ".sha256").unlink(missing_ok=True)  # listings change; no point pinning them
        listings[kind] = parse_listing(path.read_text(errors="replace"), url)
    return listings


def _check_pairs(split_dir: Path, sats: Iterable[str], maps: Iterable[str]) -> None:
    sat_ids, map_ids = {Path(n).stem: n for n in sats}, {Path(n).stem: n for n in maps}
    for tile in sorted(set(sat_ids) ^ set(map_ids)):
        kind, other = ("sat", "map") if tile in sat_ids else ("map", "sat")
        name = sat_ids.get(tile) or map_ids[tile]
        raise MRDError(f"{split_dir / kind / name} has no {other} partner ({split_dir / other / tile}.tif[f] is "
                       "missing)")


def download_split(split: str, root: str | os.PathLike, base_url: str = BASE_URL, workers: int = 4,
                   timeout: float = 60, progress: bool = True) -> Path:
    """Download every tile of ``split`` into ``root/split``; returns its ``SHA256SUMS`` (written last)."""
    root = Path(root)
    listings = _listings(base_url, root, split, timeout)
    _check_pairs(root / split, listings["sat"], listings["map"])
    manifest = Manifest(root / split / "manifest.json")
    jobs = [(url, root / split / kind / name, f"{kind}/{name}") for kind in KINDS
            for name, url in listings[kind].items()]
    log.info("%s: %d files listed, %d already in %s", split, len(jobs),
             sum(manifest.get(name) is not None for *_, name in jobs), manifest.path)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(_fetch_tile, url, path, name, manifest, timeout) for url, path, name in jobs]
        for future in progress_bar(futures, desc=f"MRD {split}", unit="file", disable=not progress):
            future.result()
    sums = root / split / "SHA256SUMS"
    with atomic_output(sums) as partial:
        partial.write_text("".join(f"{manifest.get(name)}  {name}\n" for name in sorted(n for *_, n in jobs)))
    return sums


def _tiff_files(folder: Path) -> dict[str, Path]:
    return {path.stem: path for path in sorted(folder.iterdir()) if path.suffix.lower() in TIFF_SUFFIXES}


def tile_pairs(split_dir: str | os.PathLike) -> list[tuple[str, Path, Path]]:
    """``(id, sat path, map path)`` of every tile of a split folder, sorted by id; an unpaired file is an error."""
    split_dir = Path(split_dir)
    folders = {kind: split_dir / kind for kind in KINDS}
    for folder in folders.values():
        if not folder.is_dir():
            raise MRDError(f"{folder} is missing: download or generate the MRD split {split_dir.name} first")
    sats, maps = _tiff_files(folders["sat"]), _tiff_files(folders["map"])
    _check_pairs(split_dir, [p.name for p in sats.values()], [p.name for p in maps.values()])
    if not sats:
        raise MRDError(f"{folders['sat']} holds no .tif/.tiff tiles")
    return [(tile, sats[tile], maps[tile]) for tile in sorted(sats)]


def _write_split(h5: h5py.File, split: str, pairs: Sequence[tuple[str, Path, Path]], progress: bool) -> None:
    first = read_sat(pairs[0][1])
    height, width = first.shape[:2]
    chunk = (1, min(CHUNK, height), min(CHUNK, width))
    sat = h5.create_dataset(f"{split}/sat", (len(pairs), height, width, 3), np.uint8, chunks=(*chunk, 3))
    road = h5.create_dataset(f"{split}/map", (len(pairs), height, width), np.uint8, chunks=chunk,
                             compression="gzip", compression_opts=1)
    h5[f"{split}/names"] = np.array([tile for tile, _, _ in pairs], dtype=h5py.string_dtype())
    for i, (tile, sat_path, map_path) in enumerate(progress_bar(pairs, desc=f"prepare {split}", disable=not progress)):
        image, truth = read_sat(sat_path), read_map(map_path)
        for path, shape in ((sat_path, image.shape[:2]), (map_path, truth.shape)):
            if shape != (height, width):
                raise MRDError(f"{path} is {shape[1]}x{shape[0]}, the other tiles of {split} are {width}x{height}")
        sat[i], road[i] = image, truth


def prepare(root: str | os.PathLike, output: str | os.PathLike, splits: Sequence[str] = SPLITS,
            progress: bool = True) -> Path:
    """Decode the tiles of ``root/{split}/{sat,map}`` into the HDF5 file ``output`` (temporary name, renamed)."""
    root, output = Path(root), Path(output)
    pairs = {split: tile_pairs(root / split) for split in splits}  # every pairing error before any decoding
    with atomic_output(output) as partial, h5py.File(partial, "w") as h5:
        h5.attrs["dataset"] = "mrd"
        for split in splits:
            _write_split(h5, split, pairs[split], progress)
            log.info("%s: %d tiles", split, len(pairs[split]))
    return output
