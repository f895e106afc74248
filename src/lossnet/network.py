"""``LossNetwork``: a frozen torchvision model that returns the features of its extraction layers."""

from __future__ import annotations

import os
from typing import Sequence

import torch
import torchvision
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

from .weights import build_model
from .zoo import LAYER_LABELS, LAYER_PRESETS, get_architecture, layer_preset

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def resolve_layers(arch: str, layers: str | Sequence[str]) -> dict[str, str]:
    """Map each requested layer (a label E/S/M/L or a module path) to its module path, checking it exists."""
    spec = get_architecture(arch)
    if isinstance(layers, str):
        layers = list(layer_preset(layers, arch)) if layers in LAYER_PRESETS else [layers]
    if not layers:
        raise ValueError(f"no layers requested for {arch}")
    resolved = {layer: spec.module_path(layer) for layer in layers}
    unknown = [layer for layer, path in resolved.items() if path not in _module_nodes(arch)]
    if unknown:
        raise ValueError(
            f"unknown layer(s) {unknown} for {arch}: use one of the labels {list(LAYER_LABELS)} or a module path "
            f"of torchvision's {arch}, e.g. {', '.join(sorted(_module_nodes(arch), key=_natural)[:40])}..."
        )
    return resolved


def check_layer_paths(arch: str, layers: dict[str, str], where: str = "layers") -> None:
    """Check that every module path of ``layers`` (label -> path) exists in ``arch``; the error names the key."""
    nodes = _module_nodes(arch)
    for label, path in layers.items():
        if path not in nodes:
            close = sorted((node for node in nodes if node.split(".")[0] == path.split(".")[0]), key=_natural)[:12]
            raise ValueError(
                f"{where}.{label}: {path!r} is not a module of torchvision's {arch}"
                + (f" (nearby: {', '.join(close)})" if close else "")
                + f"; `lossnet archs {arch}` lists every module path"
            )


def _natural(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in name.replace(".", " . ").split()]


_NODE_CACHE: dict[str, set[str]] = {}


def _module_nodes(arch: str) -> set[str]:
    """Module paths of ``arch`` that the feature extractor can return (cached: tracing takes a moment)."""
    if arch not in _NODE_CACHE:
        spec = get_architecture(arch)
        with torch.device("meta"):  # structure only: no memory, no initialisation cost
            model = torchvision.models.get_model(arch, weights=None, **spec.build_kwargs).eval()
        _, eval_nodes = get_graph_node_names(model)
        # A container module (resnet's layer1) is not a node itself; the extractor returns its last node.
        prefixes = {".".join(node.split(".")[:i]) for node in eval_nodes for i in range(1, node.count(".") + 2)}
        _NODE_CACHE[arch] = {name for name, _ in model.named_modules() if name in prefixes}
    return _NODE_CACHE[arch]


class LossNetwork(nn.Module):
    """A frozen loss network: ``forward(images)`` returns ``{layer: features}`` for every requested layer.

    Args:
        arch: a zoo architecture (``lossnet.zoo.ARCHITECTURES``), e.g. ``"vgg16"``.
        layers: layer labels (``"E"``, ``"S"``, ``"M"``, ``"L"``) and/or torchvision module paths
            (``"features.22"``), or a preset name (``"lpips"``: the LPIPS package's taps of alexnet, vgg16 and
            squeezenet1_1). The output dict is keyed by the names given here (module paths for a preset).
        weights: ``"imagenet"`` (torchvision ``IMAGENET1K_V1``), ``"random"`` (torchvision's init under
            ``seed``) or the path of a torchvision-format state_dict.
        normalize_input: inputs are RGB in [0, 1]; when True they are normalised with ImageNet's mean and
            std first (what the pretrained weights expect). A copy is made; the caller's tensor is untouched.
        seed: seed of the random initialisation (used for ``weights="random"``).

    The parameters never receive gradients, but gradients flow to the input, so the module can serve as a
    training loss. All layers come from one forward pass that stops after the last requested layer. The
    wrapped model stays in eval mode (frozen BatchNorm statistics) even when ``.train()`` is called on a
    parent module.
    """

    def __init__(
        self,
        arch: str,
        layers: str | Sequence[str] = LAYER_LABELS,
        weights: str | os.PathLike = "imagenet",
        normalize_input: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.arch = arch
        self.layers = resolve_layers(arch, layers)
        self.weights = str(weights)
        self.normalize_input = normalize_input
        model = build_model(arch, weights, seed=seed)
        return_nodes = {path: path for path in dict.fromkeys(self.layers.values())}
        self.extractor = create_feature_extractor(model, return_nodes=return_nodes)
        self.extractor.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.train(False)

    def train(self, mode: bool = True) -> "LossNetwork":
        # A loss network is frozen: BatchNorm must keep its ImageNet statistics whatever the caller's mode.
        super().train(mode)
        self.extractor.eval()
        return self

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images of shape (N, 3, H, W) in [0, 1], got {tuple(images.shape)}")
        if self.normalize_input:
            images = (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)
        features = self.extractor(images)
        return {layer: features[path] for layer, path in self.layers.items()}

    def extra_repr(self) -> str:
        return f"arch={self.arch!r}, layers={self.layers}, weights={self.weights!r}"
