"""Distances between two image files, or two folders of images matched by file name (``lossnet compare``).

In the spirit of the LPIPS repository's ``lpips_2imgs.py`` / ``lpips_2dirs.py``: one row per pair. Images are
read as RGB in [0, 1]; two images of different sizes are an error unless ``resize`` gives a common size.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

import torch

from .images import IMAGE_SUFFIXES, decode_image, resize as resize_image

# The largest side --resize accepts: beyond it the network's features alone exceed any machine's memory.
MAX_RESIZE_SIDE = 8192


def image_pairs(a: str | os.PathLike, b: str | os.PathLike) -> list[tuple[Path, Path]]:
    """``[(a, b)]`` for two files; for two folders, their images matched by file name (every one needs a partner)."""
    a, b = Path(a), Path(b)
    for path in (a, b):
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
    if a.is_file() and b.is_file():
        return [(a, b)]
    if not (a.is_dir() and b.is_dir()):
        raise ValueError(f"compare two image files or two folders, not a {'folder' if a.is_dir() else 'file'} "
                         f"({a}) with a {'folder' if b.is_dir() else 'file'} ({b})")
    names_a, names_b = _images_in(a), _images_in(b)
    if not names_a and not names_b:
        raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {a} or {b}")
    only_a, only_b = sorted(names_a - names_b), sorted(names_b - names_a)
    if only_a or only_b:
        lines = [f"  {len(names)} in {folder} only: {', '.join(names[:10])}{' ...' if len(names) > 10 else ''}"
                 for folder, names in ((a, only_a), (b, only_b)) if names]
        raise ValueError("every image needs a partner of the same file name in the other folder; missing:\n"
                         + "\n".join(lines))
    return [(a / name, b / name) for name in sorted(names_a)]


def _images_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES}


def parse_size(text: str | None) -> tuple[int, int] | None:
    """``"256"`` -> (256, 256); ``"192x256"`` -> (height 192, width 256); None stays None."""
    if text is None:
        return None
    parts = text.lower().split("x")
    try:
        size = tuple(int(part) for part in parts)
    except ValueError:
        size = ()
    if len(size) not in (1, 2) or min(size) < 1:
        raise ValueError(f"--resize takes N or HxW (e.g. 256 or 192x256), got {text!r}")
    if max(size) > MAX_RESIZE_SIDE:
        raise ValueError(f"at most {MAX_RESIZE_SIDE} pixels a side, got {text!r} (larger images do not fit in "
                         "memory through a loss network)")
    return (size[0], size[0]) if len(size) == 1 else size  # type: ignore[return-value]


def read_image(path: Path, size: tuple[int, int] | None = None) -> torch.Tensor:
    """An image file as a (1, 3, H, W) float tensor in [0, 1] (RGB), resized to ``size`` (H, W) when given.

    Decoded by :func:`lossnet.images.decode_image` (16-bit scaled to 8 bits, transparency and unknown modes
    refused with the file named).
    """
    array = decode_image(Path(path))[0]
    if size is not None:
        array = resize_image(array, size)
    return torch.from_numpy(array.astype("float32") / 255.0).permute(2, 0, 1).unsqueeze(0)


def compare(
    a: str | os.PathLike,
    b: str | os.PathLike,
    arch: str = "alexnet",
    layers: str | Sequence[str] | None = None,
    weights: str | os.PathLike = "imagenet",
    distance: str = "lpips",
    resize: tuple[int, int] | None = None,
    calibrated: bool | None = None,
    device: str = "auto",
    seed: int = 0,
) -> Iterator[dict]:
    """Yield one row ``{a, b, arch, layers, weights, distance, value}`` per image pair.

    ``distance="lpips"`` is :class:`lossnet.LPIPS` (calibrated where the lpips package has weights, unless
    ``calibrated=False``; the row's distance is :attr:`LPIPS.label`, ``lpips-calibrated`` only on the ImageNet
    backbone the channel weights were learned on); ``mse``, ``meanpool`` and ``gram`` sum over the layers of a :class:`LossNetwork`;
    ``l2``, ``ssim`` and ``mmdpp`` compare the images without a network. The network (and its weights) is built
    before any image is read, so a missing weights file fails at once.
    """
    from ._util import resolve_device
    from .distances import FEATURE_DISTANCES, PIXEL_DISTANCES, pixel_distance
    from .metric import LPIPS
    from .network import LossNetwork
    from .zoo import LAYER_LABELS

    pairs = image_pairs(a, b)
    dev = resolve_device(device)
    if distance in PIXEL_DISTANCES:
        function, arch, layer_names, weights = pixel_distance(distance, seed=seed), "none", "-", "none"
    elif distance == "lpips":
        function = LPIPS(arch, layers, weights, calibrated=calibrated, seed=seed).to(dev)
        layer_names = " ".join(function.network.layers)
        distance = function.label
    elif distance in FEATURE_DISTANCES:
        from .distances import distance as feature_distance

        network = LossNetwork(arch, layers if layers is not None else list(LAYER_LABELS), weights, seed=seed).to(dev)
        layer_names = " ".join(network.layers)

        def function(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return feature_distance(distance, network(x), network(y))
    else:
        known = ", ".join(["lpips", *sorted(set(FEATURE_DISTANCES) - {"lpips"}), *PIXEL_DISTANCES])
        raise ValueError(f"unknown distance {distance!r}; known: {known}")
    for path_a, path_b in pairs:
        x, y = read_image(path_a, resize), read_image(path_b, resize)
        if x.shape != y.shape:
            raise ValueError(f"{path_a} is {x.shape[3]}x{x.shape[2]} but {path_b} is {y.shape[3]}x{y.shape[2]} "
                             "(width x height): give both one size with --resize N or HxW")
        try:
            with torch.no_grad():
                value = float(function(x.to(dev), y.to(dev)).reshape(-1)[0])
        except ValueError as error:  # e.g. an image below the network's minimum size
            raise ValueError(f"{path_a} and {path_b}: {error}") from error
        yield {"a": str(path_a), "b": str(path_b), "arch": arch, "layers": layer_names, "weights": str(weights),
               "distance": distance, "value": value}
