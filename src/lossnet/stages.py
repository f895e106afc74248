"""Stages of any torchvision classifier: where each downsampling stage ends, and how its output becomes a map.

A *stage* is a run of blocks at one spatial resolution; its *tap* is a module whose output carries that stage's
features. :data:`FAMILIES` is the rule table, keyed by model family (the builder's name prefix), that finds the
taps from the model's structure:

========================================  ===================================================================
family (builders)                         stage taps
========================================  ===================================================================
pool (vgg*, alexnet, squeezenet*)         the ``MaxPool2d`` modules of ``features``, after the first
                                          activation when the first convolution is strided (AlexNet,
                                          SqueezeNet)
resnet (resnet*, resnext*, wide_resnet*)  ``layer1`` .. ``layer4``
regnet                                    ``trunk_output.block1`` .. ``block4``
mobilenet (mobilenet_v2, mobilenet_v3_*)  the block before each strided block (``_is_cn``, as torchvision's
                                          detection backbones find them) and the last block of ``features``
densenet                                  ``features.denseblock1`` .. ``denseblock4``
vit                                       every encoder block (no downsampling: the tokens keep one grid)
efficientnet, convnext, swin, maxvit,     the last child of the trunk container (``features``, ``blocks``,
mnasnet, googlenet, inception,            ``layers`` or the model itself) at each resolution, found from a
shufflenet                                shape-only trace on the meta device: a new stage begins where the
                                          side shrinks below 3/4 of the stage's first side (a valid 3x3
                                          convolution is no stage)
========================================  ===================================================================

Transformers' outputs become (N, C, H, W) maps (:func:`as_map`): ViT's tokens (N, 1 + h*w, C) lose the class
token and are reshaped to the patch grid; Swin's channels-last (N, H, W, C) outputs are permuted. A layer path
ending in ``:cls`` is the ViT class token as a 1x1 map (Kumar et al.'s ViT taps).

:func:`esml` labels four of n stages E/S/M/L by one rule: label k (0..3) is stage ``round(k (n - 1) / 3)``,
so E is the first stage, L the last and S, M evenly between.
"""

from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import torch
import torchvision
from torch import nn

CLS = ":cls"  # suffix of a ViT layer path that selects the class token
PROBE_SIZE = 224  # the input side of the shape-only traces (every torchvision classifier runs at 224)
_NEW_STAGE = 0.75  # a stage ends where the side falls below this fraction of the stage's first side


@contextlib.contextmanager
def _regnet_on_meta() -> Iterator[None]:
    """RegNet's builder computes its block widths with tensor ``.tolist()``, which the meta device cannot do:
    compute them on the CPU while the model itself is built on the meta device."""
    from torchvision.models import regnet

    original = regnet.BlockParams.__dict__["from_init_params"]

    def on_cpu(cls, *args, **kwargs):
        with torch.device("cpu"):
            return original.__func__(cls, *args, **kwargs)

    regnet.BlockParams.from_init_params = classmethod(on_cpu)
    try:
        yield
    finally:
        regnet.BlockParams.from_init_params = original


def meta_model(arch: str, **build_kwargs) -> nn.Module:
    """``arch`` built on the meta device in eval mode: its structure and shapes, no memory, no initialisation."""
    with _regnet_on_meta(), torch.device("meta"):
        return torchvision.models.get_model(arch, weights=None, **build_kwargs).eval()


# ---- layouts: how a module's output becomes an (N, C, H, W) map ---------------------------------------------------

def _nchw(path: str, value: torch.Tensor) -> torch.Tensor | None:
    return value if value.ndim == 4 else None


def _swin(path: str, value: torch.Tensor) -> torch.Tensor | None:
    # Swin runs channels-last from the patch embedding's Permute (features.0.1) to the final norm.
    if value.ndim != 4:
        return None
    channels_last = path == "norm" or path == "features" or (path.startswith("features.") and path != "features.0.0")
    return value.permute(0, 3, 1, 2) if channels_last else value


def _vit(path: str, value: torch.Tensor) -> torch.Tensor | None:
    if value.ndim == 4:
        return value
    if value.ndim != 3:
        return None
    side = math.isqrt(value.shape[1] - 1)
    if side * side != value.shape[1] - 1:
        return None
    patches = value[:, 1:]  # the class token comes first
    return patches.reshape(value.shape[0], side, side, value.shape[2]).permute(0, 3, 1, 2)


# ---- stage finders ------------------------------------------------------------------------------------------------

def _pools(model: nn.Module, arch: str) -> list[str]:
    features = model.features
    first = next(i for i, m in enumerate(features) if isinstance(m, nn.Conv2d))
    stem = [f"features.{first + 1}"] if max(features[first].stride) > 1 else []
    return stem + [f"features.{i}" for i, m in enumerate(features) if isinstance(m, nn.MaxPool2d)]


def _named(*paths: str) -> Callable[[nn.Module, str], list[str]]:
    def find(model: nn.Module, arch: str) -> list[str]:
        names = dict(model.named_modules())
        return [path for path in paths if path in names]

    return find


def _children(container: str, prefix: str = "") -> Callable[[nn.Module, str], list[str]]:
    def find(model: nn.Module, arch: str) -> list[str]:
        return [f"{container}.{name}" for name, _ in model.get_submodule(container).named_children()
                if name.startswith(prefix)]

    return find


def _before_strided(model: nn.Module, arch: str) -> list[str]:
    blocks = list(model.features)
    strided = [i for i, block in enumerate(blocks) if getattr(block, "_is_cn", False)]
    return [f"features.{i - 1}" for i in strided if i > 0] + [f"features.{len(blocks) - 1}"]


def _resolution_ends(container: str = "", skip: Sequence[str] = ()) -> Callable[[nn.Module, str], list[str]]:
    """The last child of ``container`` at each resolution, from a shape-only trace."""

    def find(model: nn.Module, arch: str) -> list[str]:
        parent = model.get_submodule(container) if container else model
        paths = [f"{container}.{name}" if container else name for name, _ in parent.named_children()
                 if name not in skip]
        groups: list[list] = []  # [last path, first side] of each stage, in execution order
        for path, side in trace_sides(model, arch, paths).items():
            if not groups or side < _NEW_STAGE * groups[-1][1]:
                groups.append([path, side])
            else:
                groups[-1][0] = path
        return [last for last, _ in groups]

    return find


@dataclass(frozen=True)
class Family:
    """A model family: the builders it covers, how its stage taps are found and how its outputs become maps."""

    name: str
    prefixes: tuple[str, ...]
    stages: Callable[[nn.Module, str], list[str]]
    layout: Callable[[str, torch.Tensor], torch.Tensor | None] = _nchw
    fixed_size: bool = False  # the builder fixes the input side (``image_size``): ViT
    strict_min_size: bool = False  # smaller inputs than the metadata's min_size break the model (MaxViT's windows)


FAMILIES: dict[str, Family] = {family.name: family for family in (
    Family("pool", ("vgg", "alexnet", "squeezenet"), _pools),
    Family("resnet", ("resnet", "resnext", "wide_resnet"), _named("layer1", "layer2", "layer3", "layer4")),
    Family("regnet", ("regnet",), _children("trunk_output", "block")),
    Family("mobilenet", ("mobilenet_v2", "mobilenet_v3"), _before_strided),
    Family("densenet", ("densenet",), _children("features", "denseblock")),
    Family("vit", ("vit_",), _children("encoder.layers"), _vit, fixed_size=True),
    Family("efficientnet", ("efficientnet",), _resolution_ends("features")),
    Family("convnext", ("convnext",), _resolution_ends("features")),
    Family("swin", ("swin",), _resolution_ends("features"), _swin),
    Family("maxvit", ("maxvit",), _resolution_ends("blocks"), strict_min_size=True),
    Family("mnasnet", ("mnasnet",), _resolution_ends("layers")),
    Family("googlenet", ("googlenet",), _resolution_ends(skip=("aux1", "aux2", "avgpool", "dropout", "fc"))),
    Family("inception", ("inception",), _resolution_ends(skip=("AuxLogits", "avgpool", "dropout", "fc"))),
    Family("shufflenet", ("shufflenet",), _resolution_ends(skip=("fc",))),
)}


def family_of(arch: str) -> Family:
    """The family whose prefix ``arch`` starts with; a new torchvision family is refused with the fix."""
    for family in FAMILIES.values():
        if arch.startswith(family.prefixes):
            return family
    raise ValueError(
        f"{arch!r} belongs to no model family of lossnet.stages.FAMILIES, so its stages are unknown: register its "
        f"E/S/M/L module paths with lossnet.register_architecture({arch!r}, {{...}}) (`lossnet archs {arch}` lists "
        "them), or add its family to FAMILIES"
    )


def as_map(arch: str, path: str, value: torch.Tensor) -> torch.Tensor | None:
    """The output ``value`` of module ``path`` of ``arch`` as an (N, C, H, W) map; None where it is none (vectors).
    ``path`` may end in ``:cls`` (ViT): the class token as an (N, C, 1, 1) map."""
    if path.endswith(CLS):
        return value[:, 0, :, None, None] if value.ndim == 3 else None
    return family_of(arch).layout(path, value)


def module_of(path: str) -> str:
    """The module path of a layer path (``encoder.layers.encoder_layer_3:cls`` -> ``encoder.layers.encoder_layer_3``)."""
    return path[: -len(CLS)] if path.endswith(CLS) else path


def trace_sides(model: nn.Module, arch: str, paths: Sequence[str], size: int = PROBE_SIZE) -> dict[str, int]:
    """Height of the map of each module of ``paths`` (in execution order) on a ``size`` x ``size`` meta input;
    modules whose output is no map are left out. ``model`` must be on the meta device."""
    sides: dict[str, int] = {}

    def record(path: str, module: nn.Module, inputs, output) -> None:
        if isinstance(output, torch.Tensor):
            mapped = as_map(arch, path, output)
            if mapped is not None:
                sides.setdefault(path, int(mapped.shape[2]))

    modules = dict(model.named_modules())
    hooks = [modules[path].register_forward_hook(functools.partial(record, path)) for path in paths]
    try:
        with torch.no_grad():
            model(torch.empty(1, 3, size, size, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    return sides


@functools.lru_cache(maxsize=None)
def stage_paths(arch: str) -> tuple[str, ...]:
    """The module paths of ``arch``'s stage taps, shallow to deep (the ``stages`` layer preset)."""
    from .zoo import build_kwargs_of

    family = family_of(arch)
    paths = family.stages(meta_model(arch, **build_kwargs_of(arch)), arch)
    if len(paths) < 4:
        raise ValueError(f"{arch}: the {family.name} stage rule found {len(paths)} stage(s) {paths}, fewer than the "
                         f"four E/S/M/L need: register its layers with lossnet.register_architecture({arch!r}, ...)")
    return tuple(paths)


def cls_paths(arch: str) -> tuple[str, ...]:
    """The ViT class token after every encoder block, as 1x1 maps (the ``cls`` layer preset)."""
    if family_of(arch).name != "vit":
        raise ValueError(f"layer preset 'cls' (the class token) is for ViTs, not {arch!r}: use layers='stages'")
    return tuple(path + CLS for path in stage_paths(arch))


def esml(stages: Sequence[str]) -> dict[str, str]:
    """E/S/M/L of n >= 4 stages: label k (0..3) is stage round(k (n - 1) / 3)."""
    n = len(stages)
    return {label: stages[math.floor(k * (n - 1) / 3 + 0.5)] for k, label in enumerate("ESML")}


def min_size(arch: str, weights: torchvision.models.WeightsEnum | None = None) -> int:
    """The smallest input side torchvision's metadata allows (``meta["min_size"]``) for ``weights``, else for the
    architecture's default weights; 1 where torchvision has no weights."""
    try:
        entry = weights or torchvision.models.get_model_weights(arch).DEFAULT
    except (ValueError, AttributeError, KeyError):
        return 1
    return int(min(entry.meta.get("min_size", (1, 1))))
