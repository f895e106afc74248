"""lossnet: choose and use deep perceptual loss networks.

>>> import lossnet, torch
>>> net = lossnet.LossNetwork("vgg16", layers=["M"], weights="imagenet")
>>> x, x0 = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
>>> d = lossnet.distance("lpips", net(x), net(x0))   # one value per image pair
>>> d = lossnet.LPIPS("alexnet")(x, x0)                  # the calibrated LPIPS metric, images in [0, 1]
"""

import importlib
from typing import Any

# Public names and the modules that define them, imported on first use: aggregation jobs and the CLI's
# light commands (rank, recommend) then start without paying for torch and torchvision.
_EXPORTS = {
    "ARCHITECTURES": "zoo",
    "LAYER_LABELS": "zoo",
    "register_architecture": "zoo",
    "DISTANCES": "distances",
    "distance": "distances",
    "LossNetwork": "network",
    "LPIPS": "metric",
    "PerceptualLoss": "loss",
    "LossSpec": "spec",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lossnet' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])


__version__ = "0.1.0"
