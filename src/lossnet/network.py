"""``LossNetwork``: a frozen torchvision model that returns the features of its extraction layers."""

from __future__ import annotations

import os
from typing import Callable, Sequence

import torch
from torch import fx, nn
from torch.nn import functional as F
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

from ._inputs import as_dtype
from .stages import CLS, as_map, family_of, meta_model, min_size, module_of
from .weights import INITIALIZERS, build_model, reinitialize, torchvision_weights
from .zoo import LAYER_LABELS, PIXELS, get_architecture, is_preset, layer_preset

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
    """Map each requested layer (a label E/S/M/L, a module path, a ViT module path + ``:cls``, or a preset
    ``lpips``/``stages``/``cls``) to its layer path, checking it exists and gives a spatial map."""
    spec = get_architecture(arch)
    if isinstance(layers, str):
        layers = list(layer_preset(layers, arch)) if is_preset(layers) else [layers]
    if not layers:
        raise ValueError(f"no layers requested for {arch}")
    resolved = {layer: spec.module_path(layer) for layer in layers}
    not_vit = [layer for layer, path in resolved.items() if path.endswith(CLS) and family_of(arch).name != "vit"]
    if not_vit:
        raise ValueError(f"layer(s) {not_vit}: ':cls' (the class token) exists only in ViTs, not in {arch}")
    unknown = [layer for layer, path in resolved.items()
               if path != PIXELS and module_of(path) not in _module_nodes(arch)]
    if unknown:
        raise ValueError(
            f"unknown layer(s) {unknown} for {arch}: use one of the labels {list(LAYER_LABELS)}, {PIXELS!r} or a "
            "module path "
            f"of torchvision's {arch}, e.g. {', '.join(sorted(_module_nodes(arch), key=_natural)[:40])}..."
        )
    flat = [layer for layer, path in resolved.items() if path != PIXELS and not _gives_map(arch, module_of(path))]
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
        model = meta_model(arch, **spec.build_kwargs)  # structure only: no memory, no initialisation cost
        _, eval_nodes = get_graph_node_names(model)
        # A container module (resnet's layer1) is not a node itself; the extractor returns its last node.
        prefixes = {".".join(node.split(".")[:i]) for node in eval_nodes for i in range(1, node.count(".") + 2)}
        _NODE_CACHE[arch] = {name for name, _ in model.named_modules() if name in prefixes}
    return _NODE_CACHE[arch]


def _meta_extractor(arch: str, paths: Sequence[str]) -> nn.Module:
    """A feature extractor of ``arch`` on the meta device: shapes only, no memory, no arithmetic."""
    spec = get_architecture(arch)
    model = meta_model(arch, **spec.build_kwargs)
    nodes = dict.fromkeys(module_of(path) for path in paths)
    return create_feature_extractor(model, return_nodes={path: path for path in nodes})


_SPATIAL_CACHE: dict[str, frozenset[str]] = {}
_PROBE_SIZE = 224


def spatial_layers(arch: str) -> frozenset[str]:
    """Module paths of ``arch`` whose output is a spatial feature map (N, C, H, W), or becomes one
    (:func:`lossnet.stages.as_map`: ViT tokens, Swin's channels-last maps): the layers a distance can compare.
    The classifier's linear layers (and anything after a flatten) are not."""
    if arch not in _SPATIAL_CACHE:
        spatial, remaining = set(), sorted(_module_nodes(arch))
        while remaining:  # a container and its last module share a node, and an extractor returns it once
            outputs = _meta_extractor(arch, remaining)(torch.empty(1, 3, _PROBE_SIZE, _PROBE_SIZE, device="meta"))
            spatial |= {path for path, value in outputs.items()
                        if isinstance(value, torch.Tensor) and as_map(arch, path, value) is not None}
            remaining = [path for path in remaining if path not in outputs] if outputs else []
        _SPATIAL_CACHE[arch] = frozenset(spatial)
    return _SPATIAL_CACHE[arch]


def _gives_map(arch: str, path: str) -> bool:
    """Whether module ``path`` of ``arch`` gives a map: :func:`spatial_layers`, or, where the batched probe there
    returned another module's output under a shared graph node (MaxViT's blocks), a probe of ``path`` alone."""
    if path in spatial_layers(arch):
        return True
    value = _meta_extractor(arch, [path])(torch.empty(1, 3, _PROBE_SIZE, _PROBE_SIZE, device="meta"))[path]
    return isinstance(value, torch.Tensor) and as_map(arch, path, value) is not None


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
            squeezenet1_1; ``"seed003"``: seed 003's VGG16 loss taps; ``"stages"``: the output of each
            downsampling stage of any torchvision classifier). The output dict is keyed by the names given
            here (module paths for a preset). ``"pixels"`` is a pseudo-layer: the image as the network sees it
            (after ``normalize_input``), so that a pixel term can sit beside network layers in one distance.
            A tapped module's output is copied before later in-place operations (VGG's in-place ReLU), so a
            convolution's path gives its pre-activation values.
        weights: ``"imagenet"`` (torchvision ``IMAGENET1K_V1``), ``"imagenet_v2"`` (``IMAGENET1K_V2`` where
            torchvision has it), the name of any other weights entry of the architecture (``"IMAGENET1K_SWAG_E2E_V1"``
            or ``"ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1"``), ``"random"`` (torchvision's init under ``seed``),
            a named initialisation of :data:`lossnet.weights.INITIALIZERS` (``"random_zero_mean"``: Kaiming-normal
            convolutions whose first-layer filters have zero spatial mean) or the path of a state_dict.
        normalize_input: inputs are RGB in [0, 1]; ``True`` (``"imagenet"``) standardises them with ImageNet's
            mean and std first (what the pretrained weights expect), ``False`` (``"none"``) feeds them as they are,
            ``"signed"`` maps them to [-1, 1] (seed 003's networks). A copy is made; the caller's tensor is untouched.
        seed: seed of the random initialisation (used for ``"random"`` and the named initialisations).
        redraw: draw new weights before **every** forward pass (a named initialisation only; seed 003's
            ``reinit``). The network is then stochastic: two calls on one image give different features, so
            compare images within one call. The k-th forward uses the k-th draw of a generator seeded with
            ``seed``: a run is reproducible, a single call is not repeatable.
        input_size: the side the network runs at. ``None``: images go in as given (too small for the network:
            an error naming the minimum), except for a ViT, whose builder fixes its input side: images are resized
            to it (224, or the ``min_size`` of its weights entry). An int N: every batch is resized to N x N first
            (bilinear, antialiased). A ViT is then built for N, its position embeddings interpolated to the
            N / patch grid (N a multiple of the patch size); any other model refuses an N below the ``min_size``
            of torchvision's metadata (Inception v3 75, Swin and MaxViT 224, Swin V2 256).

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
        input_size: int | None = None,
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
        entry = torchvision_weights(arch, self.weights)
        self.min_size = min_size(arch, entry)
        self.fixed_size = family_of(arch).fixed_size
        self.input_size = _check_input_size(arch, input_size, self.min_size, self.fixed_size)
        extra = {}
        if self.fixed_size:  # ViT: built for the side it runs at
            self.input_size = self.input_size or (self.min_size if entry is not None else 224)
            extra["image_size"] = self.input_size
        model = build_model(arch, weights, seed=seed, build_kwargs=extra)
        return_nodes = {path: path for path in dict.fromkeys(module_of(p) for p in self.layers.values()) if path != PIXELS}
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
        images = as_dtype(images, self.mean.dtype, "LossNetwork")
        images = self._resize(images)
        _check_strict_size(self.arch, self.min_size, images.shape[-2], images.shape[-1])
        images = INPUT_TRANSFORMS[self.input_transform](images)
        if self.redraw and self.extractor is not None:
            reinitialize(self.extractor, self.weights, self._draws)
        try:
            features = self.extractor(images) if self.extractor is not None else {}
        except RuntimeError:
            self._check_size(images)
            raise
        features[PIXELS] = images
        return {layer: features[PIXELS] if path == PIXELS else as_map(self.arch, path, features[module_of(path)])
                for layer, path in self.layers.items()}

    def _resize(self, images: torch.Tensor) -> torch.Tensor:
        """Resize to ``input_size`` x ``input_size`` when one is set (see the class doc)."""
        size = (self.input_size, self.input_size)
        if self.input_size is None or tuple(images.shape[-2:]) == size:
            return images
        return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)

    def _check_size(self, images: torch.Tensor) -> None:
        """Turn torch's error on too small an input into one that says the minimum size."""
        tapped = {layer: path for layer, path in self.layers.items() if path != PIXELS}
        _check_reachable(self.arch, list(tapped), list(tapped.values()), *images.shape[-2:])

    def extra_repr(self) -> str:
        redraw = ", redraw=True" if self.redraw else ""
        return (f"arch={self.arch!r}, layers={self.layers}, weights={self.weights!r}, "
                f"input={self.input_transform!r}, input_size={self.input_size}{redraw}")


def planned_side(arch: str, side: int, input_size: int | None = None, weights: str = "random") -> int:
    """The side ``LossNetwork(arch, weights=weights, input_size=input_size)`` runs a ``side`` x ``side`` input at,
    or the error it raises for it (shape-only: nothing is built)."""
    entry = torchvision_weights(arch, weights)
    smallest, fixed = min_size(arch, entry), family_of(arch).fixed_size
    run = _check_input_size(arch, input_size, smallest, fixed)
    if run is None and fixed:
        run = smallest if entry is not None else 224
    run = run or side
    _check_strict_size(arch, smallest, run, run)
    if run < smallest and not fixed:  # below the metadata's minimum: does the graph still reach the stages?
        paths = list(layer_preset("stages", arch))
        _check_reachable(arch, paths, paths, run, run)
    return run


def _check_reachable(arch: str, names: Sequence[str], paths: Sequence[str], height: int, width: int) -> None:
    """Refuse an input too small to reach every layer of ``paths``, naming the minimum and the fixes."""
    smallest = minimum_input_size(arch, paths)
    if min(height, width) < smallest:
        raise ValueError(f"{arch} (up to layer {names[-1]}) needs images of at least {smallest}x{smallest} "
                         f"pixels, got {width}x{height} (width x height): upsample or pad them (LossNetwork: "
                         f"input_size={smallest}; lossnet compare: --resize {smallest})") from None


def _check_strict_size(arch: str, smallest: int, height: int, width: int) -> None:
    """Refuse an input below ``min_size`` where the model breaks on one (MaxViT), naming the fix."""
    if family_of(arch).strict_min_size and min(height, width) < smallest:
        raise ValueError(f"{arch} needs inputs of at least {smallest}x{smallest} pixels (its attention windows), got "
                         f"{width}x{height}: build it with input_size={smallest} to resize them")


def _check_input_size(arch: str, input_size: int | None, smallest: int, fixed: bool) -> int | None:
    """``input_size`` if the architecture can run at it; else an error naming the sizes it can."""
    if input_size is None:
        return None
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 1:
        raise ValueError(f"input_size must be a positive int (pixels a side) or None, got {input_size!r}")
    if fixed:
        patch = _vit_patch(arch)
        if input_size % patch:
            low, high = input_size // patch * patch, (input_size // patch + 1) * patch
            raise ValueError(f"{arch} runs on a grid of {patch}-pixel patches: input_size {input_size} is no multiple "
                             f"of {patch}; use {high}" + (f" or {low}" if low else ""))
        return input_size
    if input_size < smallest:
        raise ValueError(f"{arch} needs inputs of at least {smallest} pixels a side (torchvision's min_size), got "
                         f"input_size={input_size}: pass input_size={smallest} or more")
    return input_size


def _vit_patch(arch: str) -> int:
    """The patch side of a torchvision ViT builder (``vit_b_16``: 16)."""
    return int(arch.rsplit("_", 1)[-1])
