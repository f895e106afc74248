"""Neural style transfer with any loss network (Gatys et al., as seed 003 runs it).

One image ``x`` is optimised from the content image, in ImageNet-normalised units, to minimise

    L(x) = content(x) + style_weight * style(x) + tv_weight * TV(x)
    content(x) = mean (F_c(x) - F_c(content))^2                      at the content layer c
    style(x)   = 1/|S| sum_{l in S} mean_{ij} (G_l(x) - G_l(style))^2,   G_l = F_l F_l^T / (H_l W_l)
    TV(x)      = mean |x[..., :, 1:] - x[..., :, :-1]| + mean |x[..., 1:, :] - x[..., :-1, :]|

with Adam (lr 0.5), 1000 steps, the learning rate x0.75 every 250. Seed 003 used VGG16 (content conv3_3; style
conv1_2, conv2_2, conv3_3, conv4_3) pretrained and random; here any architecture, layers and weights variant.

:func:`transfer` runs one optimisation; :func:`style_transfer` is the experiment (a grid of results per network
and weights, a CSV of the final losses, and the style image's channel correlations pretrained against random).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from .._util import atomic_output, progress_bar, resolve_device
from ..distances import gram, gram_matrix
from ..network import IMAGENET_MEAN, IMAGENET_STD, LossNetwork
from ._images import as_tensor, named_image, pyplot, save_figure, square

# Seed 003's VGG16 layers: content conv3_3; style conv1_2, conv2_2, conv3_3, conv4_3; correlations relu1_2, relu2_2.
DEFAULT_NETWORKS: tuple[dict, ...] = (
    {"arch": "vgg16", "content": "features.14", "style": ["features.2", "features.7", "features.14", "features.21"],
     "correlations": ["features.3", "features.8"]},
)
DEFAULT_WEIGHTS = ("imagenet", "random", "random_zero_mean")
DEFAULT_CONTENT = "astronaut"  # scikit-image's bundled photos: offline
DEFAULT_STYLE = "immunohistochemistry"  # a stained-tissue texture, bundled with scikit-image


@dataclass
class StyleResult:
    """The stylised image (3, H, W) in [0, 1] and the terms of the loss at the end (unweighted) and per step."""

    image: torch.Tensor
    final: dict[str, float]
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of horizontal neighbours plus that of vertical neighbours."""
    return (x[..., :, 1:] - x[..., :, :-1]).abs().mean() + (x[..., 1:, :] - x[..., :-1, :]).abs().mean()


def style_term(features: Mapping[str, torch.Tensor], style_features: Mapping[str, torch.Tensor],
               layers: Sequence[str]) -> torch.Tensor:
    """The mean over ``layers`` of the mean squared difference of the Gram matrices ``F F^T / HW``."""
    return torch.stack([gram(features[layer], style_features[layer]).mean() for layer in layers]).mean()


def _normalise(images: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=images.device).view(1, 3, 1, 1)
    return (images - mean) / std


def _denormalise(images: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=images.device).view(1, 3, 1, 1)
    return images * std + mean


def transfer(content: torch.Tensor, style: torch.Tensor, network: LossNetwork, content_layer: str,
             style_layers: Sequence[str], *, steps: int = 1000, lr: float = 0.5, decay_every: int = 250,
             decay: float = 0.75, style_weight: float = 30.0, tv_weight: float = 1.0,
             progress: bool = True) -> StyleResult:
    """Optimise one image from ``content`` (1, 3, H, W in [0, 1]) towards the style of ``style``.

    ``network`` must see its input as given (``normalize_input=False``): the image is optimised in ImageNet-
    normalised units, as the seed does, so ``lr`` is in those units. Its output keys must include
    ``content_layer`` and ``style_layers``.
    """
    if network.input_transform != "none":
        raise ValueError("transfer: build the network with normalize_input=False (the image is optimised in "
                         "ImageNet-normalised units)")
    began = time.perf_counter()
    with torch.no_grad():
        content_features = network(_normalise(content))[content_layer]
        style_features = network(_normalise(style))
    x = _normalise(content).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([x], lr=lr)
    history = []

    def terms() -> dict[str, torch.Tensor]:
        features = network(x)
        return {"content": torch.mean((features[content_layer] - content_features) ** 2),
                "style": style_term(features, style_features, style_layers), "tv": total_variation(x)}

    for step in progress_bar(range(1, steps + 1), desc="style transfer", disable=not progress):
        parts = terms()
        loss = parts["content"] + style_weight * parts["style"] + tv_weight * parts["tv"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.append(float(loss.detach()))
        if decay_every and step % decay_every == 0:
            for group in optimizer.param_groups:
                group["lr"] *= decay
    with torch.no_grad():
        parts = {name: float(value) for name, value in terms().items()}
    parts["total"] = parts["content"] + style_weight * parts["style"] + tv_weight * parts["tv"]
    image = _denormalise(x.detach()).clamp(0, 1)[0].cpu()
    return StyleResult(image, parts, history, time.perf_counter() - began)


def channel_correlations(features: torch.Tensor) -> torch.Tensor:
    """The (C, C) correlations of one image's feature channels: its Gram matrix with each entry divided by
    ``sqrt(G_ii G_jj)`` (the cosine of two channels' response maps), seed 003's "normalised Gram"."""
    g = gram_matrix(features[:1].double())[0]
    scale = g.diagonal().clamp_min(1e-12).sqrt()
    return (g / scale[:, None] / scale[None, :]).float()


def _network_label(spec: Mapping) -> str:
    return f"{spec['arch']}"


def _source(variant: str, arch: str, weights_sources: Mapping[str, str] | None) -> str:
    """Where ``variant``'s weights of ``arch`` come from: ``weights_sources[variant]`` (``{arch}`` filled in) or the
    variant itself."""
    source = (weights_sources or {}).get(variant, variant)
    return str(source).format(arch=arch)


def _weights_label(variant: str, weights_sources: Mapping[str, str] | None) -> str:
    """The variant's name, ``*``-marked when ``weights_sources`` replaces it by a stand-in."""
    replaced = weights_sources and variant in weights_sources and weights_sources[variant] != variant
    return f"{variant} *" if replaced else variant


def style_transfer(
    content: str | os.PathLike = DEFAULT_CONTENT,
    style: str | os.PathLike = DEFAULT_STYLE,
    *,
    networks: Sequence[Mapping] = DEFAULT_NETWORKS,
    weights: Sequence[str] = DEFAULT_WEIGHTS,
    weights_sources: Mapping[str, str] | None = None,
    size: int = 256,
    steps: int = 1000,
    lr: float = 0.5,
    decay_every: int = 250,
    decay: float = 0.75,
    style_weight: float = 30.0,
    tv_weight: float = 1.0,
    seed: int = 0,
    device: str | torch.device = "auto",
    grid: str | os.PathLike | None = None,
    table: str | os.PathLike | None = None,
    correlations: str | os.PathLike | None = None,
) -> dict[tuple[str, str], StyleResult]:
    """Style transfer of ``content`` to ``style`` (scikit-image image names or files) under every network and weights
    variant; returns ``(network, weights label) -> result`` and writes, when given, the ``grid`` figure (content,
    style, one result per network and weights), the ``table`` of final losses (CSV) and the ``correlations`` figure
    (the style image's channel correlations at each network's first two correlation layers, per weights variant).

    ``networks``: ``{arch, content, style, correlations}`` with layers as labels (E/S/M/L) or module paths;
    ``correlations`` defaults to the first two style layers. ``weights``: variants (``imagenet``, ``random``,
    ``random_zero_mean``, ...); ``weights_sources`` maps a variant to what is loaded instead (a state_dict path, where
    ``{arch}`` is the architecture; results mark it ``*``).
    """
    device = resolve_device(device)
    content_image = as_tensor(square(named_image(content), size)).to(device)
    style_image = as_tensor(square(named_image(style), size)).to(device)
    results: dict[tuple[str, str], StyleResult] = {}
    correlation_maps: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    for spec in networks:
        style_layers = list(spec["style"])
        shown = list(spec.get("correlations") or style_layers[:2])
        layers = list(dict.fromkeys([spec["content"], *style_layers, *shown]))
        for variant in weights:
            network = LossNetwork(spec["arch"], layers, _source(variant, spec["arch"], weights_sources),
                                  normalize_input=False, seed=seed).to(device)
            key = (_network_label(spec), _weights_label(variant, weights_sources))
            results[key] = transfer(content_image, style_image, network, spec["content"], style_layers, steps=steps,
                                    lr=lr, decay_every=decay_every, decay=decay, style_weight=style_weight,
                                    tv_weight=tv_weight)
            with torch.no_grad():
                features = network(_normalise(style_image))
            correlation_maps[key] = {layer: channel_correlations(features[layer]).cpu() for layer in shown}
            del network
    if grid is not None:
        render_grid(content_image[0].cpu(), style_image[0].cpu(), results, grid)
    if table is not None:
        _write_table(results, table, style_weight, tv_weight)
    if correlations is not None:
        render_correlations(correlation_maps, correlations)
    return results


def _write_table(results: Mapping[tuple[str, str], StyleResult], path: str | os.PathLike, style_weight: float,
                 tv_weight: float) -> None:
    import csv

    with atomic_output(path) as partial, open(partial, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch", "weights", "content", "style", "tv", "total", "style_weight", "tv_weight", "seconds"])
        for (arch, variant), result in results.items():
            final = result.final
            writer.writerow([arch, variant, final["content"], final["style"], final["tv"], final["total"],
                             style_weight, tv_weight, round(result.seconds, 2)])


def _image(ax, image: torch.Tensor, title: str) -> None:
    ax.imshow(np.asarray(image.permute(1, 2, 0).clamp(0, 1)), interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_axis_off()


def render_grid(content: torch.Tensor, style: torch.Tensor, results: Mapping[tuple[str, str], StyleResult],
                path: str | os.PathLike) -> list[Path]:
    """One row per network: content, style, then one result per weights variant (PNG)."""
    plt = pyplot()
    archs = list(dict.fromkeys(arch for arch, _ in results))
    variants = list(dict.fromkeys(variant for _, variant in results))
    fig, axes = plt.subplots(len(archs), 2 + len(variants), figsize=(2.2 * (2 + len(variants)), 2.4 * len(archs)),
                             squeeze=False, layout="constrained")
    for row, arch in enumerate(archs):
        _image(axes[row, 0], content, "content")
        _image(axes[row, 1], style, "style")
        for column, variant in enumerate(variants):
            ax = axes[row, 2 + column]
            if (arch, variant) in results:
                _image(ax, results[arch, variant].image, f"{arch} {variant}")
            else:
                ax.set_axis_off()
    if any(variant.endswith("*") for variant in variants):
        fig.suptitle("* weights replaced by a stand-in", fontsize=8)
    return save_figure(fig, path)


def render_correlations(maps: Mapping[tuple[str, str], Mapping[str, torch.Tensor]],
                        path: str | os.PathLike) -> list[Path]:
    """The style image's channel correlations: one row per (network, weights), one column per layer (PNG)."""
    plt = pyplot()
    keys = list(maps)
    n_layers = max(len(layers) for layers in maps.values())
    fig, axes = plt.subplots(len(keys), n_layers, figsize=(2.6 * n_layers, 2.5 * len(keys)), squeeze=False,
                             layout="constrained")
    for row, key in enumerate(keys):
        for column, (layer, matrix) in enumerate(maps[key].items()):
            ax = axes[row, column]
            ax.imshow(matrix.numpy(), cmap="viridis", vmin=-1, vmax=1, interpolation="nearest")
            ax.set_title(f"{key[0]} {key[1]}\n{layer}", fontsize=8)
            ax.set_axis_off()
    fig.suptitle("Style image: correlations of feature channels (normalised Gram)", fontsize=9)
    return save_figure(fig, path)
