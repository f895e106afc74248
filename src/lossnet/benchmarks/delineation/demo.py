"""Offline MRD-format demo tiles: roads drawn on photos bundled with scikit-image (no download).

The layout is the real one (:mod:`.data`), so the real download, listing parser and prepare step are what the demo
and the tests exercise::

    {split}/sat/index.html   {split}/sat/<id>.tiff   RGB photo crop with grey asphalt roads (with noise)
    {split}/map/index.html   {split}/map/<id>.tif    road centre-lines, 7 px wide, 0 / 255

Each road is a gently bent line between two random points on the tile's border; the asphalt on the photo is a few
pixels wider than the map's centre-line, as in MRD. The listings link each file with an absolute URL as MRD's do
when ``base_url`` is given, else relatively.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ...data.synthetic import photos, random_crop, to_uint8
from .data import KINDS, SPLITS

ROAD_WIDTH = 7  # MRD's centre-line width in the maps
DEFAULT_TILES = {"train": 6, "valid": 2, "test": 3}
_PHOTOS = ("grass", "gravel", "brick", "rocket", "coffee", "chelsea", "astronaut", "immunohistochemistry")


def _background(rng: np.random.Generator, size: int) -> Image.Image:
    photo = photos(_PHOTOS)[int(rng.integers(len(_PHOTOS)))]
    side = float(rng.uniform(0.5, 1.0)) * min(photo.size)
    return Image.fromarray(to_uint8(random_crop(photo, side, size, rng, Image.BICUBIC)))


def _border_point(rng: np.random.Generator, size: int, side: int) -> tuple[float, float]:
    t = float(rng.uniform(0.1, 0.9)) * size
    return [(t, 0.0), (float(size), t), (t, float(size)), (0.0, t)][side]


def _road(rng: np.random.Generator, size: int) -> list[tuple[float, float]]:
    """A polyline from one border to another, bent at a jittered midpoint."""
    a, b = rng.choice(4, 2, replace=False)
    start, end = _border_point(rng, size, int(a)), _border_point(rng, size, int(b))
    bend = rng.normal(0.0, size / 10, 2)
    middle = ((start[0] + end[0]) / 2 + bend[0], (start[1] + end[1]) / 2 + bend[1])
    return [start, middle, end]


def make_tile(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (size, size, 3) satellite image and (size, size) map (0 / 255) with 1-3 roads."""
    sat, road = _background(rng, size), Image.new("L", (size, size), 0)
    paint, mark = ImageDraw.Draw(sat), ImageDraw.Draw(road)
    for _ in range(int(rng.integers(1, 4))):
        line, grey = _road(rng, size), int(rng.integers(90, 150))
        paint.line(line, fill=(grey, grey, grey), width=ROAD_WIDTH + 4, joint="curve")
        mark.line(line, fill=255, width=ROAD_WIDTH, joint="curve")
    pixels = np.asarray(sat, np.int16) + rng.normal(0, 6, (size, size, 3)).astype(np.int16)
    return np.clip(pixels, 0, 255).astype(np.uint8), np.asarray(road)


def write_listing(folder: Path, names: list[str], base_url: str | None = None) -> Path:
    """``folder/index.html`` linking ``names``, one ``<a href>`` per line as MRD's listings."""
    prefix = "" if base_url is None else base_url.rstrip("/") + "/"
    lines = [f'<a href="{prefix}{name}">{name}</a><br />\n' for name in names]
    path = folder / "index.html"
    path.write_text("".join(lines))
    return path


def make_mrd(root: str | os.PathLike, tiles: dict[str, int] | None = None, size: int = 288, seed: int = 0,
             base_url: str | None = None) -> Path:
    """Write MRD-format splits under ``root`` (``tiles``: split -> number of tiles); returns ``root``.

    With ``base_url`` the listings link ``{base_url}/{split}/{kind}/<file>`` (absolute, as MRD's do).
    """
    root, tiles = Path(root), {**DEFAULT_TILES, **(tiles or {})}
    rng = np.random.default_rng(seed)
    for split in SPLITS:
        names = [f"{10000000 + 7919 * (SPLITS.index(split) * 1000 + i)}_15" for i in range(tiles[split])]
        for kind in KINDS:
            (root / split / kind).mkdir(parents=True, exist_ok=True)
        for name in names:
            sat, road = make_tile(rng, size)
            Image.fromarray(sat).save(root / split / "sat" / f"{name}.tiff")
            Image.fromarray(road).save(root / split / "map" / f"{name}.tif")
        for kind, suffix in (("sat", ".tiff"), ("map", ".tif")):
            url = None if base_url is None else f"{base_url.rstrip('/')}/{split}/{kind}"
            write_listing(root / split / kind, [name + suffix for name in names], url)
    return root
