"""The loss-network zoo: which torchvision architectures exist and where their layers are.

An architecture is a torchvision classification builder plus the module paths of its four extraction
layers, labelled E (early), S (semi-early), M (mid) and L (late). The paper's 14 keep Table II of Pihlgren et al.;
every other classifier of ``torchvision.models.list_models(module=torchvision.models)`` works without
registration, its E/S/M/L chosen from its stages by the rule of :func:`lossnet.stages.esml`.
:func:`register_architecture` (or one config entry, which the workflow turns into that call) overrides them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

# E..L in depth order; analysis modules import this without paying for torchvision (imported on first use).
LAYER_LABELS = ("E", "S", "M", "L")
# The pseudo-layer "pixels": the network's input as it sees it (a pixel term beside network layers).
PIXELS = "pixels"


@dataclass(frozen=True)
class Architecture:
    """A torchvision builder and the module paths of its E/S/M/L extraction layers."""

    name: str
    layers: Mapping[str, str]
    # Keyword arguments that make the randomly initialised model match what the ImageNet weights were
    # trained with (GoogLeNet and Inception v3 rescale their input inside forward).
    build_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def module_path(self, layer: str) -> str:
        """Translate a layer label (E/S/M/L) to a module path; module paths pass through."""
        return self.layers.get(layer, layer)


_GOOGLE_KWARGS = {"transform_input": True, "aux_logits": False, "init_weights": True}
_RESNET = {"E": "relu", "S": "layer1", "M": "layer2", "L": "layer4"}
_EFFICIENTNET = {"E": "features.0", "S": "features.1", "M": "features.4", "L": "features.7"}

ARCHITECTURES: dict[str, Architecture] = {}


def register_architecture(
    name: str, layers: Mapping[str, str], build_kwargs: Mapping[str, Any] | None = None
) -> Architecture:
    """Add (or redefine) an architecture: ``name`` must be a torchvision classification builder."""
    import torchvision

    if name not in torchvision.models.list_models(module=torchvision.models):
        raise ValueError(
            f"cannot register architecture {name!r}: torchvision has no classification model of that "
            f"name (see torchvision.models.list_models(module=torchvision.models))"
        )
    if not isinstance(layers, Mapping):
        raise ValueError(f"architecture {name!r}: layers must map each of {list(LAYER_LABELS)} to a module path, "
                         f"got {layers!r}")
    missing = [label for label in LAYER_LABELS if label not in layers]
    if missing:
        raise ValueError(f"architecture {name!r} must name a module for each of the layers {missing}")
    not_paths = {label: path for label, path in layers.items() if not isinstance(path, str) or not path}
    if not_paths:
        raise ValueError(f"architecture {name!r}: layers {not_paths} are not module paths (strings such as "
                         "'features.4'); `lossnet archs <name>` lists them")
    arch = Architecture(name, dict(layers), dict(build_kwargs or {}))
    previous = ARCHITECTURES.get(name)
    ARCHITECTURES[name] = arch
    _AUTOMATIC.pop(name, None)
    try:  # the module paths must exist now, not when a label is first used
        from .network import _NODE_CACHE, _SPATIAL_CACHE, check_layer_paths, resolve_layers

        _NODE_CACHE.pop(name, None), _SPATIAL_CACHE.pop(name, None)  # build_kwargs may change the graph
        check_layer_paths(name, dict(layers), where=f"architecture {name!r} layers")
        resolve_layers(name, list(LAYER_LABELS))  # and give spatial feature maps
    except BaseException:
        if previous is None:
            ARCHITECTURES.pop(name, None)
        else:
            ARCHITECTURES[name] = previous
        raise
    return arch


for _name, _layers in {
    "alexnet": ("features.1", "features.4", "features.7", "features.11"),
    "vgg11": ("features.1", "features.4", "features.9", "features.19"),
    "vgg16": ("features.3", "features.8", "features.15", "features.29"),
    "vgg16_bn": ("features.5", "features.12", "features.22", "features.42"),
    "vgg19": ("features.3", "features.8", "features.17", "features.35"),
    "resnet18": tuple(_RESNET.values()),
    "resnet50": tuple(_RESNET.values()),
    "resnext50_32x4d": tuple(_RESNET.values()),
    "googlenet": ("conv1", "inception3a", "inception4a", "inception5b"),
    "inception_v3": ("Conv2d_2b_3x3", "Mixed_5b", "Mixed_5d", "Mixed_6e"),
    "efficientnet_b0": tuple(_EFFICIENTNET.values()),
    "efficientnet_b7": tuple(_EFFICIENTNET.values()),
    "densenet121": ("features.relu0", "features.denseblock1", "features.denseblock2", "features.denseblock4"),
    "squeezenet1_1": ("features.1", "features.3", "features.7", "features.12"),
}.items():  # torchvision builders by construction: registered without asking torchvision
    ARCHITECTURES[_name] = Architecture(
        _name, dict(zip(LAYER_LABELS, _layers)), dict(_GOOGLE_KWARGS if _name in ("googlenet", "inception_v3") else {})
    )

PAPER_ARCHITECTURES = tuple(ARCHITECTURES)

# Named layer presets: ``layers="lpips"`` is the LPIPS package's taps (Zhang et al. 2018, lpips 0.1.4's
# pretrained_networks.py: the ReLU after each conv block; SqueezeNet has seven).
LAYER_PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "lpips": {
        "alexnet": ("features.1", "features.4", "features.7", "features.9", "features.11"),
        "vgg16": ("features.3", "features.8", "features.15", "features.22", "features.29"),
        "squeezenet1_1": tuple(f"features.{i}" for i in (1, 4, 7, 9, 10, 11, 12)),
    },
    # Seed 003's VGG loss: the pixels and the convolutions conv1_2, conv2_2, conv3_3, conv4_3 and conv5_3 *before*
    # their ReLU; used with distance "l1", the mean over these six layers and inputs in [-1, 1]
    # (lossnet.distances.SeedVGGLoss puts the three together).
    "seed003": {
        "vgg16": (PIXELS, "features.2", "features.7", "features.14", "features.21", "features.28"),
    },
}


# Presets computed for any architecture: its stage taps (lossnet.stages), and the ViT class token after each block.
COMPUTED_PRESETS = ("stages", "cls")


def is_preset(name: str) -> bool:
    """Whether ``name`` is a layer preset (``lpips``, ``stages``, ``cls``)."""
    return name in LAYER_PRESETS or name in COMPUTED_PRESETS


def layer_preset(name: str, arch: str) -> tuple[str, ...]:
    """The module paths of preset ``name`` (e.g. ``"lpips"``) for ``arch``, with the valid choices in the error."""
    if name in COMPUTED_PRESETS:
        from . import stages

        get_architecture(arch)
        return stages.stage_paths(arch) if name == "stages" else stages.cls_paths(arch)
    preset = LAYER_PRESETS[name]
    if arch not in preset:
        raise ValueError(f"layer preset {name!r} is defined for {', '.join(preset)}, not {arch!r}: "
                         f"pass layer labels ({', '.join(LAYER_LABELS)}) or module paths instead")
    return preset[arch]


def torchvision_classifiers() -> list[str]:
    """Every classification builder of torchvision (``list_models(module=torchvision.models)``)."""
    import torchvision

    return torchvision.models.list_models(module=torchvision.models)


_AUTOMATIC: dict[str, Architecture] = {}  # classifiers used without registration, their E/S/M/L from their stages


def build_kwargs_of(name: str) -> dict[str, Any]:
    """The build kwargs of a registered architecture; none for any other classifier."""
    return dict(ARCHITECTURES[name].build_kwargs) if name in ARCHITECTURES else {}


def get_architecture(name: str) -> Architecture:
    """Look an architecture up by name: a registered one, else any torchvision classifier (E/S/M/L from its
    stages, :func:`lossnet.stages.esml`); the error lists the valid names."""
    if name in ARCHITECTURES:
        return ARCHITECTURES[name]
    if name not in _AUTOMATIC:
        if not isinstance(name, str) or name not in torchvision_classifiers():
            raise ValueError(
                f"unknown architecture {name!r}; known: the registered {', '.join(sorted(ARCHITECTURES))} and every "
                "torchvision classifier (`lossnet archs --all`). Add another model with "
                "lossnet.register_architecture(name, layers) or an entry {name: ..., layers: {E: ..., S: ..., M: ..., "
                "L: ...}} under `architectures` in the config."
            ) from None
        from .stages import esml, stage_paths

        _AUTOMATIC[name] = Architecture(name, esml(stage_paths(name)))
    return _AUTOMATIC[name]


def register_from_config(entries: list[str | Mapping[str, Any]]) -> list[str]:
    """Register the config's architecture entries (a name, or ``{name, layers}``); return the names."""
    names = []
    for entry in entries:
        if isinstance(entry, str):
            get_architecture(entry)
            names.append(entry)
        else:
            register_architecture(entry["name"], entry["layers"], entry.get("build_kwargs"))
            names.append(entry["name"])
    return names
