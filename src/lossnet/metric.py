"""``LPIPS``: a one-line perceptual metric, ``lossnet.LPIPS("alexnet")(x, y)``, on any zoo loss network.

With ``calibrated=True`` (the default for alexnet, vgg16 and squeezenet1_1 at ``layers="lpips"``) it is the LPIPS
v0.1 metric of Zhang et al. (2018): the per-channel weights are read from the installed ``lpips`` package, which
ships them in its wheel, and the result equals ``lpips.LPIPS(net=...)(x, y, normalize=True)`` on the same backbone.
Otherwise it is the unweighted LPIPS baseline (``lossnet.distance("lpips", ...)`` summed over the layers).
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from ._inputs import should_check_range, unit_images, warn_if_out_of_range
from .distances.features import lpips_channels
from .network import LossNetwork, resolve_layers
from .zoo import LAYER_LABELS, LAYER_PRESETS

# lpips' file name of each backbone's calibrated weights (weights/v0.1/<name>.pth in the package).
LPIPS_NETS = {"alexnet": "alex", "vgg16": "vgg", "squeezenet1_1": "squeeze"}


def lpips_weights_path(arch: str, version: str = "0.1") -> Path:
    """Where the installed ``lpips`` package keeps the calibrated weights of ``arch``; a clear error if absent."""
    if arch not in LPIPS_NETS:
        raise ValueError(f"calibrated LPIPS weights exist for {', '.join(LPIPS_NETS)}, not {arch!r}: "
                         f"use calibrated=False (the unweighted LPIPS baseline)")
    spec = importlib.util.find_spec("lpips")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "calibrated LPIPS needs the per-channel weights shipped with the `lpips` package, which is not "
            "installed: `pip install lpips==0.1.4` (or `pip install 'lossnet[test]'`), or pass calibrated=False "
            "for the unweighted baseline"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "weights" / f"v{version}" / f"{LPIPS_NETS[arch]}.pth"
    if not path.is_file():
        raise FileNotFoundError(f"the installed lpips package has no {path}: reinstall it (`pip install lpips==0.1.4`)")
    return path


def load_lpips_weights(arch: str, version: str = "0.1") -> list[torch.Tensor]:
    """The calibrated per-channel weights of ``arch``, one (C,) tensor per layer of ``layers="lpips"``."""
    state = torch.load(lpips_weights_path(arch, version), map_location="cpu", weights_only=True)
    return [state[f"lin{i}.model.1.weight"].flatten().float() for i in range(len(state))]


def label(calibrated: bool, weights: str | os.PathLike) -> str:
    """What an LPIPS result is: ``lpips-calibrated`` only with the ImageNet weights the channel weights were learned
    on; the channel weights on any other backbone (random, a state_dict) are ``lpips-channel-weighted``."""
    if not calibrated:
        return "lpips"
    return "lpips-calibrated" if str(weights) == "imagenet" else "lpips-channel-weighted"


class LPIPS(nn.Module):
    """Perceptual distance between two image batches: ``LPIPS("alexnet")(x, y)`` -> shape (N,).

    Args:
        arch: a zoo architecture.
        layers: ``"lpips"`` (the LPIPS package's taps; the default for alexnet, vgg16 and squeezenet1_1),
            E/S/M/L labels or module paths (the default elsewhere: ``E S M L``).
        weights: backbone weights as for :class:`LossNetwork`: ``"imagenet"``, ``"random"`` or a state_dict path
            (offline use).
        calibrated: use LPIPS v0.1's learned per-channel weights (from the ``lpips`` package). ``None`` (default)
            means yes where they exist (the three architectures at ``layers="lpips"``), else the unweighted sum.
            A path: a calibration file fitted for this backbone (:func:`lossnet.calibration.fit_calibration`), whose
            layers are used (``layers`` must be None or the same); a file fitted on another backbone is refused.
        value_range: the range of float inputs, ``(0, 1)`` by default; ``(-1, 1)`` as the ``lpips`` package's
            default (its ``normalize=False``), or ``(0, 255)``. The first batch is checked, and a warning given when
            it falls clearly outside (only the first: the check reads tensor values, which would sync the GPU on
            every call and break ``torch.compile(fullgraph=True)``; it is skipped while compiling). uint8 inputs
            are read as 8-bit images in [0, 255] whatever the range.
        seed: seed of ``weights="random"``.

    Differentiable in the inputs; the network is frozen. Both batches must have the same shape (N, 3, H, W);
    float16, bfloat16 and float64 inputs are cast to the module's dtype. :attr:`label` says what the metric is:
    ``lpips-calibrated`` (LPIPS v0.1 on the ImageNet backbone its channel weights were learned on),
    ``lpips-channel-weighted`` (those weights on another backbone: a warning says so), ``lpips_lin`` (a calibration
    file fitted for this backbone) or ``lpips``.
    """

    def __init__(
        self,
        arch: str = "alexnet",
        layers: str | Sequence[str] | None = None,
        weights: str | os.PathLike = "imagenet",
        calibrated: bool | str | os.PathLike | None = None,
        value_range: tuple[float, float] = (0.0, 1.0),
        seed: int = 0,
    ) -> None:
        super().__init__()
        fitted = None
        if isinstance(calibrated, (str, os.PathLike)):
            from .calibration import backbone_identity, load_calibration

            fitted = load_calibration(calibrated, backbone_identity(arch, weights, seed))
            if layers is not None and list(resolve_layers(arch, layers)) != fitted.layers:
                raise ValueError(f"{calibrated} was fitted on layers {fitted.layers}, not {layers!r}: "
                                 "pass layers=None to use its layers")
            layers, calibrated = list(fitted.layers), True
        if layers is None:
            layers = "lpips" if arch in LAYER_PRESETS["lpips"] else list(LAYER_LABELS)
        preset = layers == "lpips"
        if calibrated is None:
            calibrated = preset and arch in LPIPS_NETS
        if calibrated and not preset and fitted is None:
            raise ValueError(f"calibrated LPIPS weights belong to layers='lpips', not {layers!r}: "
                             "use layers='lpips' or calibrated=False")
        low, high = map(float, value_range)
        if not high > low:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")
        self.value_range = (low, high)
        self.calibrated = bool(calibrated)
        self.network = LossNetwork(arch, layers, weights, normalize_input=True, seed=seed)
        self.channel_weights = nn.ParameterList()
        if self.calibrated:
            for weight in (fitted.weights if fitted is not None else load_lpips_weights(arch)):
                self.channel_weights.append(nn.Parameter(weight, requires_grad=False))
            if len(self.channel_weights) != len(self.network.layers):
                raise ValueError(f"the lpips package has {len(self.channel_weights)} calibrated layers for {arch}, "
                                 f"layers='lpips' gives {len(self.network.layers)}")
        self.label = "lpips_lin" if fitted is not None else label(self.calibrated, weights)
        if self.calibrated and fitted is None and self.label != "lpips-calibrated":
            warnings.warn(f"LPIPS's channel weights were learned on the ImageNet {arch}, not on weights={weights!s}: "
                          f"unless that file holds them, the result is not the LPIPS metric (labelled {self.label!r}); "
                          "pass calibrated=False (--no-calibrated) for the unweighted distance", stacklevel=2)
        self._range_checked = False

    def _to_unit_range(self, images: torch.Tensor) -> torch.Tensor:
        return unit_images(images, self.value_range, "LPIPS")

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if x.shape != y.shape:
            raise ValueError(f"LPIPS compares two batches of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
        if should_check_range(self._range_checked):
            self._range_checked = True
            for images in (x, y):
                warn_if_out_of_range(images, self.value_range, "LPIPS")
        features_x = self.network(self._to_unit_range(x))
        features_y = self.network(self._to_unit_range(y))
        total = 0
        for i, layer in enumerate(features_x):
            per_channel = lpips_channels(features_x[layer], features_y[layer])
            if self.calibrated:
                per_channel = per_channel * self.channel_weights[i].to(per_channel.dtype)
            total = total + per_channel.sum(dim=1)
        return total

    def extra_repr(self) -> str:
        return f"calibrated={self.calibrated}, label={self.label!r}, value_range={self.value_range}"
