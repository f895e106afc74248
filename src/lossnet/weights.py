"""Building a zoo architecture with the requested weights: ``imagenet``, ``random`` or a state_dict file."""

from __future__ import annotations

import os
import re
import urllib.error
from pathlib import Path

import torch
import torchvision
from torch import nn

from .zoo import get_architecture

# Heads that torchvision's GoogLeNet/Inception checkpoints carry but that the feature extractor never runs.
_AUXILIARY_PREFIXES = ("aux1.", "aux2.", "AuxLogits.")
# DenseNet checkpoints published by torchvision use pre-0.4 key names ("norm.1" for "norm1");
# torchvision renames them on load, and so must we (the same pattern as torchvision.models.densenet).
_DENSENET_OLD_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights are neither cached nor downloadable."""


def imagenet_weights(arch: str) -> torchvision.models.WeightsEnum:
    """The torchvision ``IMAGENET1K_V1`` weights entry of ``arch`` (the paper's weights)."""
    return torchvision.models.get_model_weights(arch).IMAGENET1K_V1


def build_model(arch: str, weights: str | os.PathLike = "imagenet", seed: int = 0) -> nn.Module:
    """Build ``arch`` with ``weights``: ``"imagenet"``, ``"random"`` (seeded init) or a state_dict path.

    The model always gets the same structure (GoogLeNet and Inception keep ImageNet's ``transform_input``),
    so that random and pretrained variants of one architecture differ only in their parameter values.
    """
    spec = get_architecture(arch)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = torchvision.models.get_model(arch, weights=None, **spec.build_kwargs)
    if weights == "random":
        return model.eval()
    if weights == "imagenet":
        state_dict = _imagenet_state_dict(arch)
        source = f"torchvision {imagenet_weights(arch)}"
    else:
        state_dict = _read_state_dict(Path(weights))
        source = str(weights)
    state_dict = {
        _DENSENET_OLD_KEY.sub(r"\1\2", key): value
        for key, value in state_dict.items()
        if not key.startswith(_AUXILIARY_PREFIXES)
    }
    expected = model.state_dict()
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    misshapen = [key for key in expected if key in state_dict and state_dict[key].shape != expected[key].shape]
    if missing or unexpected or misshapen:
        raise ValueError(
            f"weights {source} do not fit torchvision's {arch}: missing keys {missing[:5]}, "
            f"unexpected keys {unexpected[:5]}, keys of another shape {misshapen[:5]}"
        )
    model.load_state_dict(state_dict)
    return model.eval()


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(
            f"weights file {path} does not exist (weights must be 'imagenet', 'random' or a state_dict path)"
        )
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a damaged or pickled-module file
        raise ValueError(f"cannot read {path} as a torchvision state_dict: {error}") from error
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(f"{path} does not hold a state_dict (a mapping of parameter names to tensors)")
    return state_dict


def imagenet_cache_path(arch: str) -> Path:
    """Where torch hub keeps (and looks for) the ImageNet checkpoint of ``arch``."""
    filename = imagenet_weights(arch).url.rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _imagenet_state_dict(arch: str) -> dict[str, torch.Tensor]:
    weights = imagenet_weights(arch)
    try:
        return weights.get_state_dict(progress=False, check_hash=True)
    except (urllib.error.URLError, OSError) as error:
        raise WeightsUnavailableError(
            f"ImageNet weights for {arch} are not cached at {imagenet_cache_path(arch)} and could not be "
            f"downloaded from {weights.url} ({error}). On a machine with internet run "
            f"`python -c \"import torchvision; torchvision.models.get_model('{arch}', weights='IMAGENET1K_V1')\"` "
            f"and copy the file to that path (or set TORCH_HOME), or pass a state_dict file as weights."
        ) from error
