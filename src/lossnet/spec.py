"""``LossSpec``: a loss network as one value, and what makes two of them the same network.

A training job must know *which* network it trains with, not only what it is called: a state_dict replaced at the
same path, or a layer label remapped to another module, is another network under the same name. A ``LossSpec``
carries both sides: the labels results are filed under (architecture, layer label, weights label) and what
defines the function (resolved module path, build kwargs, and the weights' content identity, read only when
asked for). The pixel reference ("no loss network") is a spec too, so no caller special-cases a string.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ._util import content_digest

if TYPE_CHECKING:
    from torch import nn

PIXEL = "pixel"  # the reference "architecture": no network, the distance of the pixels themselves
NONE = "none"  # the weights label of the references
NO_LAYER = "-"  # the layer label of the references
NAMED_WEIGHTS = ("imagenet", "imagenet_v2", "random")  # weights sources that are names, not files (and any
# torchvision weights entry's name, such as IMAGENET1K_SWAG_E2E_V1)


@dataclass(frozen=True)
class LossSpec:
    """One loss network: how results label it, and what defines it.

    ``weights`` is the source (``imagenet``, ``random``, or a state_dict path); ``weights_label`` is the name
    of the variant in results (``imagenet``, ``random``, or the config's name for a file). ``module`` is the
    torchvision module path the layer label resolves to, ``build_kwargs`` what the model is built with.
    """

    arch: str
    layer: str = NO_LAYER
    weights: str = NONE
    weights_label: str = NONE
    module: str = ""
    build_kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def pixel(cls) -> "LossSpec":
        """The pixel reference: no loss network (its losses compare pixels)."""
        return cls(PIXEL)

    @classmethod
    def resolve(cls, arch: str, layer: str, weights: str | os.PathLike = "imagenet",
                weights_label: str | None = None) -> "LossSpec":
        """The spec of ``arch`` at ``layer`` (a label E/S/M/L or a module path) with ``weights``, looked up in the
        architecture registry now, so that a later change of the registry cannot change what this value means."""
        if arch == PIXEL:
            return cls.pixel()
        from .zoo import get_architecture

        from .weights import torchvision_weights

        entry = get_architecture(arch)
        source = str(weights)
        named = source in NAMED_WEIGHTS or torchvision_weights(arch, source) is not None
        return cls(arch, layer, source, weights_label or (source if named else Path(source).stem),
                   entry.module_path(layer), dict(entry.build_kwargs))

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "LossSpec":
        """The spec from :meth:`to_params` (Snakemake ``params`` are plain data)."""
        return cls(**dict(params))

    def to_params(self) -> dict[str, Any]:
        """Plain data for Snakemake ``params``: a changed module path or build kwarg reruns the job."""
        return asdict(self)

    @property
    def is_pixel(self) -> bool:
        return self.arch == PIXEL

    @property
    def labels(self) -> dict[str, str]:
        """The columns that file this network's results: ``arch``, ``layer``, ``weights`` (the label)."""
        return {"arch": self.arch, "layer": self.layer, "weights": self.weights_label}

    def identity(self) -> dict[str, Any]:
        """What defines the network's function, never its labels or a file's path: the module path, the build
        kwargs, and the weights by content (a state_dict file's sha256; a torchvision checkpoint's file name,
        whose hash prefix torch hub verifies; otherwise the weights' name, seeded by the run)."""
        if self.is_pixel:
            return {"arch": PIXEL}
        return {"arch": self.arch, "module": self.module, "build_kwargs": dict(self.build_kwargs),
                "weights": weights_identity(self.weights, self.arch)}

    def network(self, normalize_input: bool = True, seed: int = 0) -> "nn.Module | None":
        """The frozen :class:`~lossnet.network.LossNetwork` at the resolved module path (None for pixels)."""
        if self.is_pixel:
            return None
        from .network import LossNetwork

        return LossNetwork(self.arch, [self.module], self.weights, normalize_input, seed)

    def perceptual_loss(self, distance: str = "mse", normalize_input: bool = True, seed: int = 0) -> "nn.Module":
        """The training loss of this network (pixel MSE for the pixel reference)."""
        from .loss import PerceptualLoss

        if self.is_pixel:
            return PerceptualLoss(PIXEL)
        return PerceptualLoss(self.arch, [self.module], self.weights, distance, normalize_input, seed)


def weights_identity(source: str, arch: str) -> str | dict[str, str]:
    """The content identity of a weights source (see :meth:`LossSpec.identity`)."""
    from .weights import imagenet_weights, torchvision_weights

    if source == "imagenet":
        return {"imagenet": imagenet_weights(arch).url.rsplit("/", 1)[-1]}
    entry = torchvision_weights(arch, source)  # imagenet_v2 or an entry's name: its checkpoint, as imagenet
    if entry is not None:
        return {"imagenet": entry.url.rsplit("/", 1)[-1]}
    if Path(source).is_file():
        return {"state_dict_sha256": content_digest(Path(source))}
    if source in NAMED_WEIGHTS or not any(sep in source for sep in ("/", os.sep)) and "." not in source:
        return source  # a named variant (random and the like): its seed is part of the run
    raise FileNotFoundError(f"weights file {source} does not exist (weights must be 'imagenet', 'random' or the path "
                            "of a torchvision-format state_dict)")
