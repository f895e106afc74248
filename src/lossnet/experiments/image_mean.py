"""Perceptual image mean (the "generalised image mean" experiment of seed 003 / Amir & Weiss 2021).

Given a small set of related images ``y_1..y_K`` and an image distance ``d``, find the image

    x* = argmin_x  sum_k d(x, y_k),   x in [0, 1]^(3 x H x W)

by Adam from the pixel mean. Under pixel MSE the pixel mean itself is the optimum (a blurry, ghosted
average of shifted images); a perceptual distance (a loss network's feature distance, or MMD++) prefers a
sharper image whose local structure resembles the set's.

:func:`image_mean` runs one optimisation, :func:`render_grid` draws the set, the pixel mean and the results,
and :func:`run_experiment` is the whole experiment as the workflow's ``image_mean`` rule runs it.
"""

from __future__ import annotations

import csv
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..distances import DISTANCES, PIXEL_DISTANCES, distance, pixel_distance
from .._util import atomic_output, resolve_device
from ..network import LossNetwork

log = logging.getLogger(__name__)

ImageDistance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
PIXEL_LABELS = {"l2": "L2", "ssim": "1 - SSIM", "mmdpp": "MMD++"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

# The demo set: jittered crops of scikit-image's "chelsea" (a cat's face, 300 x 451), centred between the eyes.
DEMO_PHOTO = "chelsea"
DEMO_CENTRE = (240.0, 140.0)  # x, y in the photo
DEMO_SIDE = 200.0  # crop side in photo pixels before resizing
DEMO_SHIFT = 0.08  # maximal shift, as a fraction of the crop side
DEMO_SCALE = 0.06  # maximal relative change of the crop side


# ------------------------------------------------------------------------------------------------ image sets


def demo_image_set(n_images: int = 6, size: int = 64, seed: int = 0) -> torch.Tensor:
    """``n_images`` related images (K, 3, size, size) in [0, 1]: crops of one photo, shifted and rescaled.

    Each crop of ``skimage.data.chelsea()`` is centred within +-8% of the crop side of one point and has a
    side within +-6% of 200 px, drawn from ``numpy.random.default_rng(seed)``, then resized (bicubic) to
    ``size``. Their pixel mean is a ghosted blur; they share one local texture.
    """
    from PIL import Image
    from skimage import data

    photo = Image.fromarray(np.asarray(getattr(data, DEMO_PHOTO)())[..., :3])
    rng = np.random.default_rng(seed)
    crops = []
    for _ in range(n_images):
        side = DEMO_SIDE * (1 + rng.uniform(-DEMO_SCALE, DEMO_SCALE))
        cx, cy = (c + rng.uniform(-DEMO_SHIFT, DEMO_SHIFT) * DEMO_SIDE for c in DEMO_CENTRE)
        box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
        crops.append(np.asarray(photo.resize((size, size), Image.BICUBIC, box=box), np.float32) / 255.0)
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).clamp(0, 1).contiguous()


def folder_image_set(folder: str | os.PathLike, n_images: int = 6, size: int = 64) -> torch.Tensor:
    """The first ``n_images`` images of ``folder`` (sorted by name), centre-cropped square and resized."""
    from PIL import Image

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < n_images:
        raise ValueError(f"{folder} holds {len(files)} images ({', '.join(IMAGE_SUFFIXES)}); {n_images} requested")
    images = []
    for file in files[:n_images]:
        img = Image.open(file).convert("RGB")
        w, h = img.size
        side = min(w, h)
        box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
        images.append(np.asarray(img.resize((size, size), Image.BICUBIC, box=box), np.float32) / 255.0)
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).clamp(0, 1).contiguous()


def load_image_set(source: str, n_images: int = 6, size: int = 64, seed: int = 0) -> torch.Tensor:
    """``"demo"`` (:func:`demo_image_set`) or a folder of images (:func:`folder_image_set`)."""
    return demo_image_set(n_images, size, seed) if source == "demo" else folder_image_set(source, n_images, size)


# ----------------------------------------------------------------------------------------------- distances


class FeatureDistance(nn.Module):
    """A loss network and a feature distance as an image distance: ``d(x, y) = distance(net(x), net(y))``.

    ``bind(targets)`` computes the targets' features once and returns ``x -> (K,)`` distances of ``x`` (a batch
    of one) to every target, which is what :func:`image_mean` uses.
    """

    def __init__(self, network: LossNetwork, distance_name: str = "lpips") -> None:
        super().__init__()
        if distance_name not in DISTANCES:
            raise ValueError(f"unknown distance {distance_name!r}; known: {', '.join(DISTANCES)}")
        self.network = network
        self.distance_name = distance_name

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return distance(self.distance_name, self.network(x), self.network(y))

    def bind(self, targets: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        with torch.no_grad():
            target_features = self.network(targets)
        k = targets.shape[0]

        def to_targets(x: torch.Tensor) -> torch.Tensor:
            features = {layer: z.expand(k, *z.shape[1:]) for layer, z in self.network(x).items()}
            return distance(self.distance_name, features, target_features)

        return to_targets


# ------------------------------------------------------------------------------------------- optimisation


@dataclass
class ImageMeanResult:
    """The optimised image (3, H, W) and the summed distance to the set before each step and at the end."""

    image: torch.Tensor
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def image_mean(
    images: torch.Tensor,
    distance_fn: ImageDistance,
    steps: int = 200,
    lr: float = 0.05,
    seed: int = 0,
    init_noise: float = 0.0,
) -> ImageMeanResult:
    """Minimise ``sum_k distance_fn(x, images[k])`` over one image ``x`` in [0, 1], starting from the pixel mean.

    Adam (learning rate ``lr``, torch defaults otherwise) on the pixels themselves for ``steps`` steps; after
    every step the pixels are clamped to [0, 1]. ``distance_fn(x, y)`` maps two (K, 3, H, W) batches to (K,)
    distances (a pixel distance, a :class:`FeatureDistance`, ...); if it has ``bind(targets)`` (a feature
    distance: the targets' features are computed once) that is used instead. ``init_noise`` adds Gaussian
    noise of that standard deviation to the start, drawn under ``seed`` (the default, 0, starts exactly at the
    pixel mean; the whole run is then deterministic on a given device). The result's ``losses`` has
    ``steps + 1`` entries: the objective before each step and after the last one.

    Note on starting at an optimum (pixel MSE): Adam normalises its step, so a gradient that is only rounding
    noise still moves the pixels, by up to about ``lr`` in the first few dozen steps; the second-moment memory
    then damps the oscillation and the image returns to the optimum (to ~1e-6 after 200 steps at lr 0.05).
    """
    if images.ndim != 4 or images.shape[0] < 1:
        raise ValueError(f"expected a set of images (K, C, H, W), got {tuple(images.shape)}")
    targets = images.detach()
    k = targets.shape[0]
    if hasattr(distance_fn, "bind"):
        objective = distance_fn.bind(targets)
    else:
        def objective(x: torch.Tensor) -> torch.Tensor:
            return distance_fn(x.expand(k, *x.shape[1:]), targets)

    start = targets.mean(dim=0, keepdim=True)
    if init_noise:
        generator = torch.Generator(device="cpu").manual_seed(seed)
        start = start + init_noise * torch.randn(start.shape, generator=generator, dtype=start.dtype).to(start.device)
    candidate = start.clamp(0, 1).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([candidate], lr=lr)
    losses = []
    began = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        loss = objective(candidate).sum()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            candidate.clamp_(0, 1)
        losses.append(float(loss.detach()))
    with torch.no_grad():
        losses.append(float(objective(candidate).sum()))
    return ImageMeanResult(candidate.detach()[0], losses, time.perf_counter() - began)


# ------------------------------------------------------------------------------------------------- figure


def _as_rgb(image: torch.Tensor) -> np.ndarray:
    image = image.detach().float().cpu()
    if image.ndim == 4:
        image = image[0]
    return image.clamp(0, 1).permute(1, 2, 0).numpy()


def render_grid(
    images: torch.Tensor,
    pixel_mean: torch.Tensor,
    results: Mapping[str, torch.Tensor],
    path: str | os.PathLike,
    curves: Mapping[str, Sequence[float]] | None = None,
    title: str | None = None,
) -> list[Path]:
    """Draw the set (top row), the pixel mean and each labelled result (second row); write ``path`` as PNG and PDF.

    ``curves`` (optional, label -> losses) adds a bottom panel with each optimisation's objective relative to
    its value at the pixel mean. Returns the two files written (``path`` with suffixes .png and .pdf).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    k = images.shape[0]
    bottom = [("pixel mean", pixel_mean), *results.items()]
    columns = max(k, len(bottom))
    rows = 3 if curves else 2
    fig = plt.figure(figsize=(1.7 * columns, 1.95 * 2 + (2.3 if curves else 0)), layout="constrained")
    grid = fig.add_gridspec(rows, columns, height_ratios=[1, 1, 1.25][:rows])
    for i in range(k):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(_as_rgb(images[i]), interpolation="nearest")
        ax.set_title(f"set image {i + 1}", fontsize=9)
        ax.set_axis_off()
    for i, (label, image) in enumerate(bottom):
        ax = fig.add_subplot(grid[1, i])
        ax.imshow(_as_rgb(image), interpolation="nearest")
        ax.set_title(label.replace(" (", "\n("), fontsize=9, fontweight="bold" if i == 0 else "normal")
        ax.set_axis_off()
    if curves:
        ax = fig.add_subplot(grid[2, :])
        for label, losses in curves.items():
            losses = np.asarray(losses, dtype=np.float64)
            ax.plot(np.arange(len(losses)), losses / losses[0] if losses[0] else losses, label=label)
        ax.set_xlabel("Adam step")
        ax.set_ylabel("summed distance / at pixel mean")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, ncols=min(len(curves), 4))
    if title:
        fig.suptitle(title, fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [path.with_suffix(".png"), path.with_suffix(".pdf")]
    for file in written:
        with atomic_output(file) as partial:
            fig.savefig(partial, format=file.suffix[1:], dpi=150)
    plt.close(fig)
    return written


# ------------------------------------------------------------------------------------------- experiment


def _report(label: str, result: ImageMeanResult) -> None:
    log.info("%s: %.4g -> %.4g in %.1f s", label, result.losses[0], result.losses[-1], result.seconds)


def network_label(spec: Mapping) -> str:
    """``"vgg16 M lpips"``, with the weights in brackets unless they are ImageNet's: ``"vgg16 M lpips (random)"``."""
    label = f"{spec['arch']} {spec['layer']} {spec.get('distance', 'lpips')}"
    weights = str(spec.get("weights_label") or spec.get("weights", "imagenet"))
    if weights not in ("imagenet", "random"):
        weights = spec.get("weights_label") or Path(weights).stem
    return label if weights == "imagenet" else f"{label} ({weights})"


def run_experiment(
    *,
    images: str = "demo",
    n_images: int = 6,
    size: int = 64,
    steps: int = 200,
    lr: float = 0.05,
    networks: Sequence[Mapping] = (),
    pixel: Sequence[str] = ("mmdpp", "l2"),
    normalize_input: bool = True,
    seed: int = 0,
    device: str | torch.device = "cpu",
    output: str | os.PathLike,
    table: str | os.PathLike | None = None,
) -> dict[str, ImageMeanResult]:
    """The image-mean experiment: one optimisation per loss network and per pixel distance, one figure.

    ``networks`` entries are ``{arch, layer, distance, weights}`` (``weights``: imagenet, random or a state_dict
    path; default imagenet; an optional ``weights_label`` names them in the figure); ``pixel`` names
    :data:`~lossnet.distances.PIXEL_DISTANCES`. Writes ``output`` as PNG and PDF and, if given, ``table``
    (CSV: label, objective at the pixel mean and at the result, steps, lr, seconds).
    """
    _check_distances(networks, pixel)
    device = resolve_device(device)
    target = load_image_set(images, n_images, size, seed).to(device)
    log.info("image set %s: %s images of %sx%s, device %s", images, n_images, size, size, device)
    objectives = _objectives(networks, pixel, normalize_input, seed, device)
    results = {}
    for label, objective in objectives:
        results[label] = image_mean(target, objective(), steps, lr, seed)
        _report(label, results[label])
    render_grid(
        target,
        target.mean(dim=0),
        {label: result.image for label, result in results.items()},
        output,
        curves={label: result.losses for label, result in results.items()},
        title=f"Image mean of {n_images} related images ({images}), {steps} Adam steps from the pixel mean",
    )
    if table is not None:
        _write_table(results, table, steps, lr)
    return results


def _check_distances(networks: Sequence[Mapping], pixel: Sequence[str]) -> None:
    unknown = [name for name in pixel if name not in PIXEL_DISTANCES]
    unknown += [spec.get("distance", "lpips") for spec in networks if spec.get("distance", "lpips") not in DISTANCES]
    if unknown:
        raise ValueError(
            f"unknown distance(s) {unknown}; pixel: {', '.join(PIXEL_DISTANCES)}; feature: {', '.join(DISTANCES)}"
        )


def _objectives(networks: Sequence[Mapping], pixel: Sequence[str], normalize_input: bool, seed: int,
                device: torch.device) -> list[tuple[str, Callable[[], nn.Module | Callable]]]:
    """``(label, build)`` per objective; built one at a time, so only one loss network is in memory."""
    def network(spec: Mapping) -> Callable[[], nn.Module]:
        return lambda: FeatureDistance(
            LossNetwork(spec["arch"], [spec["layer"]], spec.get("weights", "imagenet"),
                        normalize_input=normalize_input, seed=seed).to(device),
            spec.get("distance", "lpips"))

    def pixel_objective(name: str) -> Callable:
        def build():
            function = pixel_distance(name, seed=seed)
            return function.to(device) if isinstance(function, nn.Module) else function
        return build

    return ([(network_label(spec), network(spec)) for spec in networks]
            + [(PIXEL_LABELS.get(name, name), pixel_objective(name)) for name in pixel])


def _write_table(results: Mapping[str, ImageMeanResult], table: str | os.PathLike, steps: int, lr: float) -> None:
    with atomic_output(table) as partial, open(partial, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "objective_at_pixel_mean", "objective_at_result", "steps", "lr", "seconds"])
        for label, result in results.items():
            writer.writerow([label, result.losses[0], result.losses[-1], steps, lr, round(result.seconds, 3)])
