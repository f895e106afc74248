"""Offline generator of a *synthetic* BAPPS-format dataset (for the demo workflow and tests).

The folders mirror the real BAPPS val/jnd layout, so the real BAPPS reader is what gets
exercised. Patches are cropped from photos bundled with scikit-image (no download); the
"human" judgements are simulated from the known distortion strengths, not collected.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import color

from ...data.synthetic import photos, random_crop, tar_gz, to_uint8
from .data import SUBSETS_2AFC, SUBSETS_JND

PATCH = 64
_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
           "immunohistochemistry", "camera", "coins", "moon", "page")
Distortion = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]


def _patch(rng: np.random.Generator) -> np.ndarray:
    """A 64x64 float RGB crop of a randomly downscaled random photo, values in [0, 1]."""
    photo = photos(_PHOTOS)[int(rng.integers(len(_PHOTOS)))]
    side = min(*photo.size, PATCH / float(rng.uniform(0.15, 0.8)))  # crop side before downscaling to 64
    return random_crop(photo, side, PATCH, rng, Image.BICUBIC)


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(x, (sigma, sigma, 0)) if sigma > 0 else x


def _jpeg(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(to_uint8(x)).save(buf, "JPEG", quality=int(round(95 - 90 * s)))
    return np.asarray(Image.open(buf).convert("RGB"), np.float64) / 255.0


def _conv(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    k = rng.normal(0.0, 1.0, (3, 3, 3, 3)) / 9.0  # (out, in, kh, kw)
    k[np.arange(3), np.arange(3), 1, 1] += 1.0
    y = np.stack([sum(ndimage.convolve(x[..., i], k[o, i], mode="reflect") for i in range(3))
                  for o in range(3)], -1)
    return (1 - s) * x + s * y


def _quant(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    levels = max(2, int(round(2 ** (8 - 6.5 * s))))
    return np.round(x * (levels - 1)) / (levels - 1)


def _superres(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    size = max(4, int(round(PATCH / (1 + 5 * s))))
    up = (Image.NEAREST, Image.BILINEAR, Image.BICUBIC)[int(rng.integers(3))]
    img = Image.fromarray(to_uint8(x)).resize((size, size), Image.BICUBIC).resize((PATCH, PATCH), up)
    return np.asarray(img, np.float64) / 255.0


def _deblur(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    b = _blur(x, 3.0 * s)  # blur, then a (crude) unsharp-mask "deblur" of it
    return b + 3 * s * float(rng.uniform(0.5, 1.5)) * (b - _blur(b, 1 + 2 * s))


def _color(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    hsv = color.rgb2hsv(x)
    hsv[..., 0] = (hsv[..., 0] + rng.choice([-1, 1]) * 0.3 * s) % 1.0
    hsv[..., 1] = np.clip(hsv[..., 1] * (1 + rng.choice([-1, 1]) * 0.9 * s), 0, 1)
    return color.hsv2rgb(hsv)


def _warp(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:PATCH, 0:PATCH].astype(np.float64)
    dy, dx = rng.normal(0, 4 * s, 2)  # global subpixel shift plus a smooth wobble
    fy, fx, py, px = rng.uniform(0.5, 2.5), rng.uniform(0.5, 2.5), *rng.uniform(0, 2 * np.pi, 2)
    cy = yy + dy + 2 * s * np.sin(2 * np.pi * fy * xx / PATCH + py)
    cx = xx + dx + 2 * s * np.sin(2 * np.pi * fx * yy / PATCH + px)
    return np.stack([ndimage.map_coordinates(x[..., c], [cy, cx], order=1, mode="reflect")
                     for c in range(3)], -1)


FAMILIES: dict[str, dict[str, Distortion]] = {
    "traditional": {"blur": lambda x, s, r: _blur(x, 2.5 * s),
                    "noise": lambda x, s, r: x + r.normal(0, 0.25 * s, x.shape),
                    "jpeg": _jpeg,
                    "contrast": lambda x, s, r: (x - x.mean()) * (1 - 0.85 * s) + x.mean()},
    "cnn": {"conv": _conv, "quant": _quant,
            "conv+quant": lambda x, s, r: _quant(_conv(x, s, r), s, r)},
    "superres": {"resample": _superres},
    "deblur": {"blur+unsharp": _deblur},
    "color": {"hue/sat": _color},
    "frameinterp": {"warp": _warp},
}
FAMILIES["mix"] = {**FAMILIES["traditional"], **FAMILIES["cnn"]}  # BAPPS train's mixed subset


def _distort(x: np.ndarray, subset: str, s: float,
             rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Apply a random distortion of the subset's family at strength ``s``; return (uint8, op)."""
    ops = FAMILIES[subset]
    name = sorted(ops)[int(rng.integers(len(ops)))]
    return to_uint8(ops[name](x, s, rng)), name


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if arr.dtype == np.uint8:
        Image.fromarray(arr).save(path, "PNG", compress_level=1)
    else:
        np.save(path, arr)


def make_bapps(root: Path, n_2afc: int = 64, n_jnd: int = 64, seed: int = 0,
               subsets_2afc: Sequence[str] = SUBSETS_2AFC,
               subsets_jnd: Sequence[str] = SUBSETS_JND, part: str = "val") -> Path:
    """Write a synthetic BAPPS val set under ``root`` (byte-identical for a given seed); ``part="train"`` writes
    ``2afc/train/<subset>`` and ``jnd/train/<subset>`` instead (use another seed than the val set's).

    2AFC: ``judge`` = Binomial(5, sigmoid((s0 - s1) / 0.15)) / 5, the fraction of 5 simulated
    raters preferring p1. JND: p0 has strength 0.02, p1 strength s; ``same`` =
    Binomial(3, exp(-s / 0.1)) / 3. True strengths go to ``root/strengths.csv``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    rows: list[list[object]] = []
    for subset in subsets_2afc:
        d = root / "2afc" / part / subset
        for i in range(n_2afc):
            ref = _patch(rng)
            s0, s1 = rng.uniform(0, 1, 2)
            p0, op0 = _distort(ref, subset, float(s0), rng)
            p1, op1 = _distort(ref, subset, float(s1), rng)
            judge = rng.binomial(5, 1 / (1 + np.exp(-(s0 - s1) / 0.15))) / 5
            for name, arr in (("ref", to_uint8(ref)), ("p0", p0), ("p1", p1)):
                _save(d / name / f"{i:06d}.png", arr)
            _save(d / "judge" / f"{i:06d}.npy", np.array([judge], np.float64))
            rows.append(["2afc", subset, i, f"{s0:.6f}", f"{s1:.6f}", op0, op1, f"{judge:.6f}"])
    for subset in subsets_jnd:
        d = root / "jnd" / part / subset
        for i in range(n_jnd):
            ref = _patch(rng)
            s0, s1 = 0.02, float(rng.uniform(0, 0.4))
            p0, op0 = _distort(ref, subset, s0, rng)
            p1, op1 = _distort(ref, subset, s1, rng)
            same = rng.binomial(3, np.exp(-s1 / 0.1)) / 3
            _save(d / "p0" / f"{i:06d}.png", p0)
            _save(d / "p1" / f"{i:06d}.png", p1)
            _save(d / "same" / f"{i:06d}.npy", np.array([same], np.float64))
            rows.append(["jnd", subset, i, f"{s0:.6f}", f"{s1:.6f}", op0, op1, f"{same:.6f}"])
    with open(root / "strengths.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["dataset", "subset", "index", "s0", "s1", "op0", "op1", "judgement"])
        w.writerows(rows)
    (root / "README.txt").write_text(
        "SYNTHETIC BAPPS-format data - NOT the real BAPPS dataset.\n"
        "Patches: 64x64 crops of downscaled photos bundled with scikit-image.\n"
        "Judgements are derived from known distortion strengths, not from human raters:\n"
        "  2afc judge = Binomial(5, sigmoid((s0-s1)/0.15))/5 (fraction preferring p1);\n"
        "  jnd same = Binomial(3, exp(-s/0.1))/3, p0 strength 0.02, p1 strength s ~ U(0, 0.4).\n"
        f"Generated by lossnet.benchmarks.similarity.demo.make_bapps(seed={seed}, n_2afc={n_2afc}, n_jnd={n_jnd}, "
        f"subsets_2afc={list(subsets_2afc)}, subsets_jnd={list(subsets_jnd)}).\n"
        "True strengths and distortion ops per item: strengths.csv.\n")
    return root


def write_bapps_archives(root: Path, out_dir: Path) -> dict[str, Path]:
    """Pack a BAPPS folder like the real downloads, which unpack as ``tar -xf ... -C dataset/2afc`` (2AFC) and
    ``-C dataset`` (JND).

    Returns ``{"twoafc_val": out_dir/twoafc_val.tar.gz, "jnd": out_dir/jnd.tar.gz}`` (members ``val/...`` and
    ``jnd/val/...``), with ``"twoafc_train"`` (members ``train/...``) when ``root/2afc/train`` exists.
    """
    root, out_dir = Path(root), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    archives = {"twoafc_val": tar_gz(root / "2afc", "val", out_dir / "twoafc_val.tar.gz"),
                "jnd": tar_gz(root, "jnd", out_dir / "jnd.tar.gz")}
    if (root / "2afc" / "train").is_dir():
        archives["twoafc_train"] = tar_gz(root / "2afc", "train", out_dir / "twoafc_train.tar.gz")
    return archives
