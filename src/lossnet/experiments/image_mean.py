"""Perceptual image mean (the "generalised image mean" experiment of seed 003 / Amir & Weiss 2021).

Given a small set of related images ``y_1..y_K`` and an image distance ``d``, find the image

    x* = argmin_x  sum_k d(x, y_k),   x in [0, 1]^(3 x H x W)

by Adam from the pixel mean. Under pixel MSE the pixel mean itself is the optimum (a blurry, ghosted
average of shifted images); a perceptual distance (a loss network's feature distance, or MMD++) prefers a
sharper image whose local structure resembles the set's.

:func:`image_mean` runs one optimisation, :func:`render_grid` draws the set, the pixel mean and the results,
and :func:`run_experiment` is the whole experiment as the workflow's ``image_mean`` rule runs it.
:func:`run_seed003_image_mean` is the experiment as seed 003 ran it: jitter sets (:func:`jitter_set`), its
objectives (patch-RBF, MMD++, its VGG loss pretrained and random), Adam at its learning rate, its figure layout,
and a CSV scoring every result under every distance, with a sharpness measure.
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

from ._images import save_figure
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
    clamp: bool = True,
) -> ImageMeanResult:
    """Minimise ``sum_k distance_fn(x, images[k])`` over one image ``x`` in [0, 1], starting from the pixel mean.

    Adam (learning rate ``lr``, torch defaults otherwise) on the pixels themselves for ``steps`` steps; after
    every step the pixels are clamped to [0, 1]. ``distance_fn(x, y)`` maps two (K, 3, H, W) batches to (K,)
    distances (a pixel distance, a :class:`FeatureDistance`, ...); if it has ``bind(targets)`` (a feature
    distance: the targets' features are computed once) that is used instead. ``init_noise`` adds Gaussian
    noise of that standard deviation to the start, drawn under ``seed`` (the default, 0, starts exactly at the
    pixel mean; the whole run is then deterministic on a given device). The result's ``losses`` has
    ``steps + 1`` entries: the objective before each step and after the last one.

    ``clamp=False`` leaves the pixels free during the optimisation and clips the result to [0, 1] once at the end
    (seed 003's procedure).

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
        if clamp:
            with torch.no_grad():
                candidate.clamp_(0, 1)
        losses.append(float(loss.detach()))
    with torch.no_grad():
        candidate.clamp_(0, 1)
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
    return save_figure(fig, path, ("png", "pdf"), dpi=150)


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


# ------------------------------------------------------------------------------- seed 003's image mean, as run
#
# Seed 003 optimised one image towards small "jitter sets": four slightly shifted crops of one photo. Its images
# lived in [-1, 1], it ran Adam at lr 0.1 from the pixel mean for 200 steps without clamping, and clipped at the end.
# Here images stay in [0, 1]: Adam's step is in the units of the pixels and blind to the gradient's scale, so lr 0.1
# in [-1, 1] is lr 0.05 in [0, 1] (SEED_LR / 2), the same trajectory.

SEED_LR = 0.1  # in the seed's [-1, 1] units
SEED_STEPS = 200
JITTER_SIDE = 128  # crops' side in pixels
JITTER_SHIFT = 7  # crops' offset in pixels, at a resolution of JITTER_SIDE + JITTER_SHIFT
JITTER_BORDER = 0.2  # fraction of the square crop removed on every side before resizing
JITTER_OFFSETS = ((0, 0), (0, 1), (1, 0), (1, 1))  # (x, y) in units of JITTER_SHIFT: the four corners
OFFLINE_PHOTOS = ("chelsea", "astronaut", "coffee")  # bundled with scikit-image: no download


def jitter_set(photo: np.ndarray, side: int = JITTER_SIDE, shift: int = JITTER_SHIFT,
               border: float = JITTER_BORDER) -> torch.Tensor:
    """Seed 003's jitter set of one photo (H, W, 3 uint8): four crops (4, 3, side, side) in [0, 1].

    The photo is centre-cropped to a square, ``border`` of its side is cut from every edge, the rest is resized
    (bilinear) to ``side + shift``, and the four ``side x side`` crops at offsets (0, 0), (0, shift), (shift, 0)
    and (shift, shift) are the set: one scene, shifted by a few pixels, whose pixel mean is a ghosted blur.
    """
    from PIL import Image

    h, w = photo.shape[:2]
    square = min(h, w)
    top, left = (h - square + 1) // 2, (w - square + 1) // 2  # the seed's ceil((long - short) / 2)
    image = photo[top:top + square, left:left + square]
    cut = int(square * border)
    if cut:
        image = image[cut:square - cut, cut:square - cut]
    if min(image.shape[:2]) < 2:
        raise ValueError(f"jitter_set: a {w}x{h} photo leaves nothing after removing {border:.0%} of each border")
    size = side + shift
    resized = np.asarray(Image.fromarray(np.ascontiguousarray(image[..., :3])).resize((size, size), Image.BILINEAR))
    crops = [resized[dy * shift:dy * shift + side, dx * shift:dx * shift + side] for dx, dy in JITTER_OFFSETS]
    return torch.from_numpy(np.stack(crops).astype(np.float32) / 255.0).permute(0, 3, 1, 2).contiguous()


def jitter_sets(source: str | os.PathLike = "offline", n_sets: int = 3, side: int = JITTER_SIDE,
                shift: int = JITTER_SHIFT) -> dict[str, torch.Tensor]:
    """Named jitter sets: ``"offline"`` makes them from scikit-image's bundled photos (:data:`OFFLINE_PHOTOS`);
    a folder makes one per image (the first ``n_sets`` by name)."""
    from PIL import Image

    if str(source) == "offline":
        from skimage import data

        if n_sets > len(OFFLINE_PHOTOS):
            raise ValueError(f"jitter_sets: {n_sets} offline sets asked for, there are {len(OFFLINE_PHOTOS)} "
                             f"({', '.join(OFFLINE_PHOTOS)}); give a folder of photos for more")
        photos = {name: np.asarray(getattr(data, name)()) for name in OFFLINE_PHOTOS[:n_sets]}
    else:
        files = sorted(p for p in Path(source).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"jitter_sets: {source} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        photos = {file.stem: np.asarray(Image.open(file).convert("RGB")) for file in files[:n_sets]}
    return {name: jitter_set(photo, side, shift) for name, photo in photos.items()}


def objective_label(spec: Mapping, weights_sources: Mapping[str, str] | None = None) -> str:
    """A short label of an objective spec: ``"MMD++"``, ``"VGG (random_zero_mean, redrawn)"``, ``"vgg16 M lpips"``;
    ``" *"`` marks weights that ``weights_sources`` replaces by a stand-in (not the named variant's result)."""
    stand_in = " *" if weights_sources and spec.get("weights") in weights_sources and \
        weights_sources[spec["weights"]] != spec["weights"] else ""
    if "arch" in spec:
        return network_label(spec) + stand_in
    name = spec["distance"]
    base = {**PIXEL_LABELS, **SEED_LABELS}.get(name, name)
    details = [str(spec["weights"])] if "weights" in spec else []
    details += ["redrawn"] if spec.get("redraw") else []
    return (f"{base} ({', '.join(details)})" if details else base) + stand_in


SEED_LABELS = {"l1": "L1", "patch_rbf": "patch-RBF", "mmdpp_unit": "MMD++ [0,1]", "mmdpp_later": "MMD++ (ls 0.1)",
               "seed_vgg": "VGG"}

# Seed 003's objectives: its patch term, MMD++, its VGG loss pretrained, and random VGG with zero-mean first filters,
# one network for the whole run or a new one at every step.
SEED_OBJECTIVES: tuple[dict, ...] = (
    {"distance": "patch_rbf"},
    {"distance": "mmdpp"},
    {"distance": "seed_vgg", "weights": "imagenet"},
    {"distance": "seed_vgg", "weights": "random_zero_mean"},
    {"distance": "seed_vgg", "weights": "random_zero_mean", "redraw": True},
)
# The distances every optimised mean is scored under (deterministic ones only: a redrawn network is not a yardstick).
SEED_EVALUATIONS: tuple[dict, ...] = (
    {"distance": "l2"}, {"distance": "l1"}, {"distance": "ssim"}, {"distance": "patch_rbf"}, {"distance": "mmdpp"},
    {"distance": "seed_vgg", "weights": "imagenet"}, {"distance": "seed_vgg", "weights": "random_zero_mean"},
)


def build_objective(spec: Mapping, seed: int, device: torch.device) -> Callable:
    """An image distance from a spec: ``{arch, layer, distance, weights}`` (a loss network and a feature distance,
    as :func:`run_experiment`) or ``{distance, **options}`` (an image distance of
    :data:`~lossnet.distances.PIXEL_DISTANCES`, options such as ``weights`` and ``redraw`` for ``seed_vgg``)."""
    if "arch" in spec:
        network = LossNetwork(spec["arch"], [spec["layer"]], spec.get("weights", "imagenet"),
                              normalize_input=spec.get("normalize_input", True), seed=seed)
        return FeatureDistance(network.to(device), spec.get("distance", "lpips"))
    options = {key: value for key, value in spec.items() if key not in ("distance", "label")}
    function = pixel_distance(spec["distance"], seed=seed, **options)
    return function.to(device) if isinstance(function, nn.Module) else function


def sharpness(image: torch.Tensor) -> float:
    """Variance of the 4-neighbour Laplacian of the grey image (3, H, W) in [0, 1], interior pixels: high for crisp
    edges and texture, low for a blur (the pixel mean of a jitter set scores well below its members)."""
    grey = image.detach().float().cpu().mean(dim=0)
    laplacian = (grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1])
    return float(laplacian.var())


@torch.no_grad()
def score_means(sets: Mapping[str, torch.Tensor], means: Mapping[str, Mapping[str, torch.Tensor]],
                evaluations: Sequence[Mapping], weights_sources: Mapping[str, str] | None = None, seed: int = 0,
                device: torch.device | str = "cpu") -> list[dict]:
    """Every optimised mean under every evaluation distance, plus its sharpness: tidy rows
    ``{set, mean, measure, value}``, ``value`` the mean distance to the set's images (lower: closer)."""
    device = resolve_device(device)
    rows = []
    for set_name, images in sets.items():
        for label, image in means[set_name].items():
            rows.append({"set": set_name, "mean": label, "measure": "sharpness", "value": sharpness(image)})
        rows.append({"set": set_name, "mean": "set images (average)", "measure": "sharpness",
                     "value": float(np.mean([sharpness(image) for image in images]))})
    for spec in evaluations:
        function = build_objective(_with_source(spec, weights_sources), seed, device)
        for set_name, images in sets.items():
            targets = images.to(device)
            for label, image in means[set_name].items():
                candidate = image.to(device)[None].expand_as(targets)
                value = float(function(candidate, targets).mean())
                rows.append({"set": set_name, "mean": label, "measure": objective_label(spec, weights_sources),
                             "value": value})
        del function
    return rows


def _with_source(spec: Mapping, weights_sources: Mapping[str, str] | None) -> dict:
    """The spec with its weights variant replaced by where they come from (``imagenet`` -> a state_dict path, or
    ``random`` as an offline stand-in), as the workflow maps variants to sources."""
    spec = dict(spec)
    if weights_sources and spec.get("weights") in weights_sources:
        spec["weights"] = weights_sources[spec["weights"]]
    return spec


def render_seed_layout(sets: Mapping[str, torch.Tensor], means: Mapping[str, Mapping[str, torch.Tensor]],
                       path: str | os.PathLike,
                       scores: Mapping[tuple[str, str], tuple[float, float]] | None = None,
                       note: str | None = None) -> list[Path]:
    """Seed 003's results figure: one row per set, its pixel mean ("starting image") then one column per objective;
    each result titled with its objective's mean loss to the set at the end and at the start (``scores``:
    ``(set, label) -> (end, start)``), plus the set's four images at the left. PNG and PDF."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    set_names = list(sets)
    labels = list(next(iter(means.values())))
    n_inputs = max(len(images) for images in sets.values())
    columns = n_inputs + len(labels)
    fig, axes = plt.subplots(len(set_names), columns, figsize=(1.9 * columns, 2.15 * len(set_names)),
                             squeeze=False, layout="constrained")
    for row, set_name in enumerate(set_names):
        for i in range(n_inputs):
            ax = axes[row, i]
            ax.set_axis_off()
            if i < len(sets[set_name]):
                ax.imshow(_as_rgb(sets[set_name][i]), interpolation="nearest")
                ax.set_title(f"{set_name} {i + 1}" if i == 0 else f"input {i + 1}", fontsize=8)
        for j, label in enumerate(labels):
            ax = axes[row, n_inputs + j]
            ax.imshow(_as_rgb(means[set_name][label]), interpolation="nearest")
            ax.set_axis_off()
            title = label if row == 0 else ""
            if scores and (set_name, label) in scores:
                end, start = scores[set_name, label]
                title += f"\nloss opt {end:.3g}\nloss start {start:.3g}"
            ax.set_title(title.strip(), fontsize=7)
    if note:
        fig.suptitle(note, fontsize=8)
    return save_figure(fig, path, ("png", "pdf"), dpi=120)


def run_seed003_image_mean(
    *,
    images: str | os.PathLike = "offline",
    n_sets: int = 3,
    side: int = JITTER_SIDE,
    shift: int = JITTER_SHIFT,
    steps: int = SEED_STEPS,
    lr: float = SEED_LR,
    objectives: Sequence[Mapping] = SEED_OBJECTIVES,
    evaluations: Sequence[Mapping] = SEED_EVALUATIONS,
    weights_sources: Mapping[str, str] | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    output: str | os.PathLike,
    table: str | os.PathLike,
) -> dict[str, dict[str, torch.Tensor]]:
    """Seed 003's image mean: jitter sets, Adam from the pixel mean (``lr`` in the seed's [-1, 1] units, no clamping
    until the end), one result per set and objective; the figure in the seed's layout (``output``, PNG + PDF) and a
    CSV (``table``) scoring every mean, the pixel mean included, under every objective and evaluation distance,
    plus each image's sharpness (:func:`sharpness`).

    ``objectives`` and ``evaluations`` are specs for :func:`build_objective`. ``weights_sources`` maps a weights
    variant named in a spec (``imagenet``) to what is loaded for it (a state_dict path, or ``random`` as an
    offline stand-in); the figure and CSV keep the variant's name.
    """
    device = resolve_device(device)
    sets = jitter_sets(images, n_sets, side, shift)
    pixel_means = {name: images_.mean(dim=0) for name, images_ in sets.items()}
    means: dict[str, dict[str, torch.Tensor]] = {name: {"pixel mean": mean} for name, mean in pixel_means.items()}
    figure_scores: dict[tuple[str, str], tuple[float, float]] = {}
    for spec in objectives:
        label = objective_label(spec, weights_sources)
        function = build_objective(_with_source(spec, weights_sources), seed, device)
        for name, targets in sets.items():
            result = image_mean(targets.to(device), function, steps=steps, lr=lr / 2, seed=seed, clamp=False)
            means[name][label] = result.image.cpu()
            k = len(targets)
            figure_scores[name, label] = (result.losses[-1] / k, result.losses[0] / k)
            _report(f"{name}: {label}", result)
        del function
    rows = score_means(sets, means, scoring_distances(objectives, evaluations), weights_sources, seed, device)
    _write_rows(rows, table)
    stand_ins = any(label.endswith(" *") for label in means[next(iter(means))])
    render_seed_layout(sets, means, output, figure_scores,
                       note="* weights replaced by an offline stand-in" if stand_ins else None)
    return means


def scoring_distances(objectives: Sequence[Mapping], evaluations: Sequence[Mapping]) -> list[dict]:
    """The objectives, each with one fixed network where it redrew (a stochastic distance is no yardstick), then the
    evaluations not already among them."""
    specs: list[dict] = []
    for spec in [*objectives, *evaluations]:
        fixed = {key: value for key, value in spec.items() if key != "redraw"}
        if fixed not in specs:
            specs.append(fixed)
    return specs


def _write_rows(rows: Sequence[Mapping], table: str | os.PathLike) -> None:
    with atomic_output(table) as partial, open(partial, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["set", "mean", "measure", "value"])
        writer.writeheader()
        writer.writerows(rows)
