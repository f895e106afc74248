"""``LossNetwork``: a frozen torchvision model that returns the features of its extraction layers."""

from __future__ import annotations

import os
from typing import Callable, Sequence

import torch
import torchvision
from torch import fx, nn
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

from ._inputs import as_dtype
from .weights import INITIALIZERS, build_model, reinitialize
from .zoo import LAYER_LABELS, LAYER_PRESETS, PIXELS, get_architecture, layer_preset

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _imagenet(images: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images - mean) / std


# What the network sees of an image in [0, 1]: ImageNet's standardisation (what the pretrained weights expect),
# nothing, or [-1, 1] (seed 003's networks, which never standardised).
INPUT_TRANSFORMS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "imagenet": _imagenet,
    "none": lambda images: images,
    "signed": lambda images: images * 2 - 1,
}


def input_transform_name(normalize_input: bool | str) -> str:
    """``True`` -> ``"imagenet"``, ``False`` -> ``"none"``, a name of :data:`INPUT_TRANSFORMS` passes through."""
    if isinstance(normalize_input, bool):
        return "imagenet" if normalize_input else "none"
    if normalize_input not in INPUT_TRANSFORMS:
        raise ValueError(f"normalize_input must be true, false or one of {', '.join(INPUT_TRANSFORMS)}, "
                         f"got {normalize_input!r}")
    return normalize_input


def _clone_returned_nodes(extractor: fx.GraphModule) -> fx.GraphModule:
    """Copy every returned feature right where it is computed, before any later operation can change it in place.

    Why: VGG's ``ReLU(inplace=True)`` (and ResNet's ``out += identity``) overwrite their input tensor, so a
    feature extractor returning a convolution's output would hand back the *post*-ReLU values. With the copy a tap
    at ``features.2`` of VGG16 is conv1_2 before its ReLU, as asked.
    """
    graph = extractor.graph
    output = next(node for node in graph.nodes if node.op == "output")
    returned = output.args[0]
    copies = {}
    for key, node in returned.items():
        with graph.inserting_after(node):
            copies[key] = graph.call_method("clone", (node,))
    output.args = (copies,)
    graph.lint()
    extractor.recompile()
    return extractor


def resolve_layers(arch: str, layers: str | Sequence[str]) -> dict[str, str]:
    """Map each requested layer (a label E/S/M/L or a module path) to its module path, checking it exists."""
    spec = get_architecture(arch)
    if isinstance(layers, str):
        layers = list(layer_preset(layers, arch)) if layers in LAYER_PRESETS else [layers]
    if not layers:
        raise ValueError(f"no layers requested for {arch}")
    resolved = {layer: spec.module_path(layer) for layer in layers}
    unknown = [layer for layer, path in resolved.items() if path != PIXELS and path not in _module_nodes(arch)]
    if unknown:
        raise ValueError(
            f"unknown layer(s) {unknown} for {arch}: use one of the labels {list(LAYER_LABELS)}, {PIXELS!r} or a "
            "module path "
            f"of torchvision's {arch}, e.g. {', '.join(sorted(_module_nodes(arch), key=_natural)[:40])}..."
        )
    flat = [layer for layer, path in resolved.items() if path != PIXELS and path not in spatial_layers(arch)]
    if flat:
        spatial = sorted(spatial_layers(arch), key=_natural)
        raise ValueError(
            f"layer(s) {flat} of {arch} give vectors, not spatial feature maps (N, C, H, W), which the distances "
            f"compare: use a label {list(LAYER_LABELS)} or a spatial module path, the deepest being "
            f"{', '.join(spatial[-8:])} (`lossnet archs {arch}` lists them all)"
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


def _meta_extractor(arch: str, paths: Sequence[str]) -> nn.Module:
    """A feature extractor of ``arch`` on the meta device: shapes only, no memory, no arithmetic."""
    spec = get_architecture(arch)
    with torch.device("meta"):
        model = torchvision.models.get_model(arch, weights=None, **spec.build_kwargs).eval()
    return create_feature_extractor(model, return_nodes={path: path for path in dict.fromkeys(paths)})


_SPATIAL_CACHE: dict[str, frozenset[str]] = {}
_PROBE_SIZE = 224


def spatial_layers(arch: str) -> frozenset[str]:
    """Module paths of ``arch`` whose output is a spatial feature map (N, C, H, W): the layers a distance can
    compare. The classifier's linear layers (and anything after a flatten) are not."""
    if arch not in _SPATIAL_CACHE:
        spatial, remaining = set(), sorted(_module_nodes(arch))
        while remaining:  # a container and its last module share a node, and an extractor returns it once
            outputs = _meta_extractor(arch, remaining)(torch.empty(1, 3, _PROBE_SIZE, _PROBE_SIZE, device="meta"))
            spatial |= {path for path, value in outputs.items() if value.ndim == 4}
            remaining = [path for path in remaining if path not in outputs] if outputs else []
        _SPATIAL_CACHE[arch] = frozenset(spatial)
    return _SPATIAL_CACHE[arch]


_MINIMUM_CACHE: dict[tuple[str, tuple[str, ...]], int] = {}


def minimum_input_size(arch: str, paths: Sequence[str], largest: int = 1024) -> int:
    """The smallest square input (pixels a side) that reaches every layer of ``paths`` (module paths) of ``arch``
    without a pooling or convolution running out of pixels; found once on the meta device (shapes only)."""
    key = (arch, tuple(sorted(set(paths))))
    if key not in _MINIMUM_CACHE:
        extractor = _meta_extractor(arch, key[1])

        def fits(size: int) -> bool:
            try:
                extractor(torch.empty(1, 3, size, size, device="meta"))
            except RuntimeError:
                return False
            return True

        low, high = 1, largest  # the answer lies in [low, high]: bisect on the first size that fits
        while low < high:
            middle = (low + high) // 2
            low, high = (low, middle) if fits(middle) else (middle + 1, high)
        _MINIMUM_CACHE[key] = low
    return _MINIMUM_CACHE[key]


class LossNetwork(nn.Module):
    """A frozen loss network: ``forward(images)`` returns ``{layer: features}`` for every requested layer.

    Args:
        arch: a zoo architecture (``lossnet.zoo.ARCHITECTURES``), e.g. ``"vgg16"``.
        layers: layer labels (``"E"``, ``"S"``, ``"M"``, ``"L"``) and/or torchvision module paths
            (``"features.22"``), or a preset name (``"lpips"``: the LPIPS package's taps of alexnet, vgg16 and
            squeezenet1_1; ``"seed003"``: seed 003's VGG16 loss taps). The output dict is keyed by the names given
            here (module paths for a preset). ``"pixels"`` is a pseudo-layer: the image as the network sees it
            (after ``normalize_input``), so that a pixel term can sit beside network layers in one distance.
            A tapped module's output is copied before later in-place operations (VGG's in-place ReLU), so a
            convolution's path gives its pre-activation values.
        weights: ``"imagenet"`` (torchvision ``IMAGENET1K_V1``), ``"random"`` (torchvision's init under
            ``seed``), a named initialisation of :data:`lossnet.weights.INITIALIZERS` (``"random_zero_mean"``:
            Kaiming-normal convolutions whose first-layer filters have zero spatial mean) or a state_dict path.
        normalize_input: inputs are RGB in [0, 1]; ``True`` (``"imagenet"``) standardises them with ImageNet's
            mean and std first (what the pretrained weights expect), ``False`` (``"none"``) feeds them as they are,
            ``"signed"`` maps them to [-1, 1] (seed 003's networks). A copy is made; the caller's tensor is untouched.
        seed: seed of the random initialisation (used for ``"random"`` and the named initialisations).
        redraw: draw new weights before **every** forward pass (a named initialisation only; seed 003's
            ``reinit``). The network is then stochastic: two calls on one image give different features, so
            compare images within one call. The k-th forward uses the k-th draw of a generator seeded with
            ``seed``: a run is reproducible, a single call is not repeatable.

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
        normalize_input: bool | str = True,
        seed: int = 0,
        redraw: bool = False,
    ) -> None:
        super().__init__()
        self.arch = arch
        self.layers = resolve_layers(arch, layers)
        self.weights = str(weights)
        self.input_transform = input_transform_name(normalize_input)
        self.normalize_input = normalize_input
        if redraw and self.weights not in INITIALIZERS:
            raise ValueError(f"redraw=True needs weights named in {', '.join(INITIALIZERS)} (a random initialisation "
                             f"to draw again), got weights={self.weights!r}")
        self.redraw = redraw
        self._draws = torch.Generator().manual_seed(seed) if redraw else None
        model = build_model(arch, weights, seed=seed)
        return_nodes = {path: path for path in dict.fromkeys(self.layers.values()) if path != PIXELS}
        self.extractor = (_clone_returned_nodes(create_feature_extractor(model, return_nodes=return_nodes))
                          if return_nodes else None)
        if self.extractor is not None:
            self.extractor.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.train(False)

    def train(self, mode: bool = True) -> "LossNetwork":
        # A loss network is frozen: BatchNorm must keep its ImageNet statistics whatever the caller's mode.
        super().train(mode)
        if self.extractor is not None:
            self.extractor.eval()
        return self

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images of shape (N, 3, H, W) in [0, 1], got {tuple(images.shape)}")
        images = INPUT_TRANSFORMS[self.input_transform](as_dtype(images, self.mean.dtype, "LossNetwork"))
        if self.redraw and self.extractor is not None:
            reinitialize(self.extractor, self.weights, self._draws)
        try:
            features = self.extractor(images) if self.extractor is not None else {}
        except RuntimeError:
            self._check_size(images)
            raise
        features[PIXELS] = images
        return {layer: features[path] for layer, path in self.layers.items()}

    def _check_size(self, images: torch.Tensor) -> None:
        """Turn torch's error on too small an input into one that says the minimum size."""
        height, width = images.shape[-2:]
        smallest = minimum_input_size(self.arch, [path for path in self.layers.values() if path != PIXELS])
        if min(height, width) < smallest:
            deepest = list(self.layers)[-1]
            raise ValueError(f"{self.arch} (up to layer {deepest}) needs images of at least {smallest}x{smallest} "
                             f"pixels, got {width}x{height} (width x height): upsample or pad them "
                             f"(lossnet compare: --resize {smallest})") from None

    def extra_repr(self) -> str:
        redraw = ", redraw=True" if self.redraw else ""
        return (f"arch={self.arch!r}, layers={self.layers}, weights={self.weights!r}, "
                f"input={self.input_transform!r}{redraw}")
