"""One way to read an image file, used by ``lossnet compare``, the super-resolution data and every other reader.

:func:`decode_image` returns RGB uint8 (H, W, 3) and whether the file was greyscale, or raises
:class:`ImageReadError`, a one-line message that names the file and the fix. What each PIL mode becomes is one
entry of :data:`MODE_READERS` (a registry, not an if-chain):

* 8-bit grey, RGB, palette, CMYK, YCbCr: converted to RGB as PIL does.
* 16-bit grey (``I;16*``, and PNG's ``I``): scaled to 8 bits (``round(v / 257)``), not clipped at 255 as
  ``convert("RGB")`` clips it (a 16-bit and an 8-bit save of one picture must read the same).
* With an alpha channel (RGBA, LA, PA, palette with transparency): the alpha is dropped when every pixel is opaque,
  otherwise refused (the colour under a transparent pixel is arbitrary, and any distance on it would be too).
* 32-bit integer or floating-point images: refused (their value range is not known).

Files larger than PIL's decompression-bomb limit (:data:`PIL.Image.MAX_IMAGE_PIXELS`) and truncated or damaged
files are refused with the file named.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm")


class ImageReadError(ValueError):
    """An image file that cannot be read as RGB: damaged, too large, or of a kind whose values are ambiguous."""


def _rgb(image: Image.Image) -> tuple[np.ndarray, bool]:
    return np.asarray(image.convert("RGB")), False


def _grey(image: Image.Image) -> tuple[np.ndarray, bool]:
    return np.asarray(image.convert("RGB")), True


def _grey16(image: Image.Image) -> tuple[np.ndarray, bool]:
    values = np.asarray(image).astype(np.float64)
    if values.min() < 0 or values.max() > 65535:
        raise _Refused("its values exceed 16 bits", "save it as an 8- or 16-bit image")
    grey = np.rint(values / 257.0).astype(np.uint8)  # 65535 -> 255, exactly as an 8-bit save rounds
    return np.repeat(grey[..., None], 3, axis=2), True


def _opaque(mode: str, grey: bool) -> Callable[[Image.Image], tuple[np.ndarray, bool]]:
    def read(image: Image.Image) -> tuple[np.ndarray, bool]:
        image = image.convert(mode)
        alpha = np.asarray(image.getchannel("A"))
        if alpha.min() < 255:
            raise _Refused(f"{np.count_nonzero(alpha < 255)} of its pixels are (partly) transparent",
                           "flatten it onto a background (e.g. white) and save it without alpha")
        return np.asarray(image.convert("RGB")), grey

    return read


def _refuse(reason: str, fix: str) -> Callable[[Image.Image], tuple[np.ndarray, bool]]:
    def read(image: Image.Image) -> tuple[np.ndarray, bool]:
        raise _Refused(reason, fix)

    return read


def _palette(image: Image.Image) -> tuple[np.ndarray, bool]:
    if "transparency" in image.info:
        return _opaque("RGBA", False)(image)
    return _rgb(image)


def _int32(image: Image.Image) -> tuple[np.ndarray, bool]:
    if image.format == "PNG":  # PIL opens some 16-bit grey PNGs as mode I
        return _grey16(image)
    return _refuse("it is a 32-bit integer image, whose value range is unknown",
                   "save it as an 8- or 16-bit image")(image)


# PIL mode -> reader of (RGB uint8, was greyscale).
MODE_READERS: dict[str, Callable[[Image.Image], tuple[np.ndarray, bool]]] = {
    "RGB": _rgb, "CMYK": _rgb, "YCbCr": _rgb, "P": _palette,
    "1": _grey, "L": _grey,
    "I;16": _grey16, "I;16B": _grey16, "I;16L": _grey16, "I;16N": _grey16, "I": _int32,
    "RGBA": _opaque("RGBA", False), "RGBa": _opaque("RGBA", False), "PA": _opaque("RGBA", False),
    "LA": _opaque("LA", True), "La": _opaque("LA", True),
    "F": _refuse("it is a floating-point image, whose value range is unknown", "save it as an 8- or 16-bit image"),
}


class _Refused(Exception):
    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(reason)
        self.reason, self.fix = reason, fix


def decode_image(source: bytes | str | os.PathLike, name: str | None = None) -> tuple[np.ndarray, bool]:
    """RGB uint8 (H, W, 3) of an image file (a path, or its bytes), and whether it was greyscale.

    ``name`` is how errors name the file (default: the path). Raises :class:`ImageReadError` (one line: the file,
    what is wrong, the fix).
    """
    name = name or str(source)
    opened = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        with Image.open(opened) as image:
            width, height = image.size
            if width * height > Image.MAX_IMAGE_PIXELS:
                raise _Refused(f"it is {width}x{height} pixels, more than the {Image.MAX_IMAGE_PIXELS} of PIL's "
                               "decompression-bomb limit", "shrink it first (or raise PIL.Image.MAX_IMAGE_PIXELS "
                               "if you trust the file)")
            image.load()  # decode now: a truncated file fails here, not later
            reader = MODE_READERS.get(image.mode) or _refuse(f"its pixel mode {image.mode} is not supported",
                                                              "save it as an 8-bit RGB or greyscale image")
            array, grey = reader(image)
    except _Refused as refused:
        raise ImageReadError(f"cannot read {name}: {refused.reason}; {refused.fix}") from None
    except FileNotFoundError:
        raise ImageReadError(f"cannot read {name}: no such file") from None
    except Image.DecompressionBombError as error:
        raise ImageReadError(f"cannot read {name}: {' '.join(str(error).split())} shrink it first (or raise "
                             "PIL.Image.MAX_IMAGE_PIXELS if you trust the file)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ImageReadError(f"cannot read {name} as an image ({reason}): the file is corrupt or truncated, or "
                             "not an image; replace it") from error
    return np.ascontiguousarray(array), grey


def read_image(path: str | os.PathLike) -> np.ndarray:
    """RGB uint8 (H, W, 3) of an image file (:func:`decode_image`)."""
    return decode_image(Path(path))[0]


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """RGB uint8 ``image`` resized to ``size`` (height, width) with PIL's bicubic filter (unchanged if it fits)."""
    if image.shape[:2] == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.Resampling.BICUBIC))


def images_in(folder: str | os.PathLike, suffixes: Iterable[str] = IMAGE_SUFFIXES) -> list[Path]:
    """The image files of ``folder`` (by suffix, any case), sorted."""
    suffixes = {suffix.lower() for suffix in suffixes}
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def by_stem(paths: Iterable[str | os.PathLike], what: str = "image") -> dict[str, Path]:
    """``{stem: path}``; two files of one stem (``t1.tif`` and ``t1.tiff``, ``a.png`` and ``a.jpg``) are an error,
    since files are matched by stem and either could be the one meant."""
    found: dict[str, Path] = {}
    for path in map(Path, paths):
        if path.stem in found:
            first = found[path.stem]
            raise ValueError(f"two {what} files of the stem {path.stem!r}: {first} and {path}; files are matched by "
                             "stem, so keep only one of them")
        found[path.stem] = path
    return found
