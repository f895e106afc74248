"""Building a zoo architecture with the requested weights: ``imagenet`` (V1), ``imagenet_v2``, any torchvision
weights entry by name, ``random``, a named random initialisation of :data:`INITIALIZERS` (``random_kaiming``,
``random_zero_mean``) or a state_dict file."""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
from pathlib import Path
from typing import Callable

from typing import Any, Mapping

import torch
import torchvision
from torch import nn

from .stages import _regnet_on_meta
from .zoo import get_architecture

# Named torchvision weights: the entry each name means (any other entry is named as torchvision names it).
WEIGHTS_ALIASES = {"imagenet": "IMAGENET1K_V1", "imagenet_v2": "IMAGENET1K_V2"}

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
    entry = torchvision_weights(arch, "imagenet")
    assert entry is not None
    return entry


# ------------------------------------------------------------------------------ named random initialisations


def first_conv_name(model: nn.Module) -> str:
    """The module path of ``model``'s first ``Conv2d`` in registration order (the input convolution of every zoo
    architecture: ``features.0`` of VGG, ``conv1`` of ResNet, ``features.0.0`` of EfficientNet)."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name
    raise ValueError(f"{type(model).__name__} has no Conv2d: a zero-mean first layer needs a convolutional network")


def kaiming_init(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Every ``Conv2d`` weight ~ N(0, 2 / fan_in) (He et al.; fan_in = in_channels / groups x kernel area), bias 0.

    This is the random network of seed 003 (``torch.nn.init.kaiming_normal_`` with its defaults), not
    torchvision's init (which scales by fan_out for VGG and ResNet, and uses other schemes elsewhere). Other
    layers (BatchNorm, Linear) keep the values they were built with. Draws come from ``generator`` alone.
    """
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                weight = module.weight
                fan_in = weight.shape[1] * weight[0, 0].numel()
                draw = torch.randn(weight.shape, generator=generator, dtype=torch.float32)
                weight.copy_(draw * (2.0 / fan_in) ** 0.5)
                if module.bias is not None:
                    module.bias.zero_()
    return model


def zero_mean_first_conv(model: nn.Module) -> nn.Module:
    """Remove the spatial mean of every filter of the first convolution, per output and input channel:
    ``w[o, c] -= mean_{u,v} w[o, c, u, v]``.

    Why: a first layer of zero-sum filters ignores each channel's local brightness and responds only to local
    structure (edges, texture), which is what makes a random VGG16 agree with people about as well as a trained one
    on BAPPS (Amir & Weiss 2021; about 0.72 against 0.69 on cnn + traditional in seed 003's runs).
    """
    conv = model.get_submodule(first_conv_name(model))
    with torch.no_grad():
        conv.weight -= conv.weight.mean(dim=(2, 3), keepdim=True)
    return model


def random_zero_mean_init(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """:func:`kaiming_init`, then :func:`zero_mean_first_conv`: seed 003's random VGG (after Amir & Weiss)."""
    return zero_mean_first_conv(kaiming_init(model, generator))


# Named random initialisations: ``weights=<name>`` builds the architecture, then re-initialises it in place from a
# ``torch.Generator`` seeded with ``seed`` (so equal seeds give equal networks, on any machine).
INITIALIZERS: dict[str, Callable[[nn.Module, torch.Generator], nn.Module]] = {
    "random_kaiming": kaiming_init,
    "random_zero_mean": random_zero_mean_init,
}


def reinitialize(model: nn.Module, name: str, generator: torch.Generator) -> nn.Module:
    """Re-draw ``model``'s weights in place with the named initialisation of :data:`INITIALIZERS`."""
    try:
        initializer = INITIALIZERS[name]
    except KeyError:
        raise ValueError(f"unknown random initialisation {name!r}; known: {', '.join(INITIALIZERS)}") from None
    return initializer(model, generator)


def _fit_vit_positions(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A ViT's position embeddings interpolated to the patch grid ``model`` was built for (torchvision's
    ``interpolate_embeddings``, bicubic); any other state_dict is returned as it is."""
    from torchvision.models.vision_transformer import VisionTransformer, interpolate_embeddings

    key = "encoder.pos_embedding"
    if not isinstance(model, VisionTransformer) or key not in state_dict:
        return state_dict
    if state_dict[key].shape == model.encoder.pos_embedding.shape:
        return state_dict
    return dict(interpolate_embeddings(model.image_size, model.patch_size, state_dict))


def torchvision_weights(arch: str, weights: str | os.PathLike) -> torchvision.models.WeightsEnum | None:
    """The torchvision weights entry that ``weights`` names for ``arch`` (``imagenet``: ``IMAGENET1K_V1``,
    ``imagenet_v2``: ``IMAGENET1K_V2``, or an entry's own name, bare or as ``ResNet50_Weights.IMAGENET1K_V2``);
    None for ``random`` and for a path. A name of no entry of ``arch`` is refused, listing its entries."""
    source = str(weights)
    name = WEIGHTS_ALIASES.get(source, source.rsplit(".", 1)[-1] if source.count(".") == 1 else source)
    if source == "random" or not (source in WEIGHTS_ALIASES or name.isupper() and "/" not in source
                                  and os.sep not in source):
        return None
    try:
        entries = torchvision.models.get_model_weights(arch)
    except ValueError:
        entries = None
    if entries is not None and name in entries.__members__:
        return entries[name]
    if Path(source).is_file():  # a state_dict file that happens to be named like an entry
        return None
    known = ", ".join(entries.__members__) if entries is not None else "none"
    raise ValueError(f"torchvision has no {name} weights for {arch} (weights {source!r}); its entries: {known} "
                     "(imagenet = IMAGENET1K_V1, imagenet_v2 = IMAGENET1K_V2): pass one of them, 'random' or a "
                     "state_dict path")


def build_model(arch: str, weights: str | os.PathLike = "imagenet", seed: int = 0,
                build_kwargs: Mapping[str, Any] | None = None) -> nn.Module:
    """Build ``arch`` with ``weights``: ``"imagenet"``, ``"imagenet_v2"``, a torchvision weights entry's name,
    ``"random"`` (torchvision's init, seeded), a name of :data:`INITIALIZERS` (e.g. ``"random_zero_mean"``, seeded)
    or a state_dict path.

    The model always gets the same structure (GoogLeNet and Inception keep ImageNet's ``transform_input``),
    so that random and pretrained variants of one architecture differ only in their parameter values.
    ``build_kwargs`` are added to the architecture's (a ViT's ``image_size``: loaded position embeddings are
    interpolated to its patch grid, as torchvision's ``interpolate_embeddings`` does).
    """
    spec = get_architecture(arch)
    kwargs = {**spec.build_kwargs, **(build_kwargs or {})}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with _regnet_on_meta():  # RegNet's widths on the CPU, so that the model can also be built on the meta device
            model = torchvision.models.get_model(arch, weights=None, **kwargs)
    if weights == "random":
        return model.eval()
    if isinstance(weights, str) and weights in INITIALIZERS:
        return reinitialize(model, weights, torch.Generator().manual_seed(seed)).eval()
    entry = torchvision_weights(arch, weights)
    if weights == "imagenet":
        state_dict = _imagenet_state_dict(arch)
        source = f"torchvision {imagenet_weights(arch)}"
    elif entry is not None:
        state_dict = _torchvision_state_dict(arch, entry)
        source = f"torchvision {entry}"
    else:
        state_dict = _read_state_dict(Path(weights))
        source = str(weights)
        _check_finite(state_dict, source)
    state_dict = {
        _DENSENET_OLD_KEY.sub(r"\1\2", key): value
        for key, value in state_dict.items()
        if not key.startswith(_AUXILIARY_PREFIXES)
    }
    state_dict = _fit_vit_positions(model, state_dict)
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
    if path.is_dir():
        raise ValueError(f"weights {path} is a directory, not a state_dict file (weights must be 'imagenet', 'random', "
                         f"one of {', '.join(INITIALIZERS)} or the path of a torchvision-format state_dict file)")
    if not path.is_file():
        raise FileNotFoundError(
            f"weights file {path} does not exist (weights must be 'imagenet', 'random', one of "
            f"{', '.join(INITIALIZERS)} or a state_dict path)"
        )
    return _load_tensors(path, "give the path of a state_dict saved with torch.save(model.state_dict(), path)")


def _check_finite(state_dict: dict[str, torch.Tensor], source: str) -> None:
    """Refuse weights holding NaN or infinity: every distance computed with them would be NaN, found much later."""
    bad = [key for key, value in state_dict.items()
           if torch.is_floating_point(value) and not bool(torch.isfinite(value).all())]
    if bad:
        raise ValueError(f"weights {source} hold NaN or infinite values in {len(bad)} tensor(s), e.g. {bad[0]}: "
                         "the file comes from a diverged or damaged training run; save a healthy state_dict")


def _load_tensors(path: Path, advice: str) -> dict[str, torch.Tensor]:
    """``torch.load(path, weights_only=True)`` of a mapping of names to tensors, or an error naming ``path``."""
    if path.stat().st_size == 0:
        raise ValueError(f"cannot read {path} as a torchvision state_dict: the file is empty (0 bytes); {advice}")
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a damaged or pickled-module file
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"cannot read {path} as a torchvision state_dict ({reason}); {advice}") from error
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(f"{path} does not hold a state_dict (a mapping of parameter names to tensors); {advice}")
    return state_dict


def imagenet_cache_path(arch: str) -> Path:
    """Where torch hub keeps (and looks for) the ImageNet checkpoint of ``arch``."""
    return checkpoint_path(imagenet_weights(arch))


def checkpoint_path(entry: torchvision.models.WeightsEnum) -> Path:
    """Where torch hub keeps (and looks for) the checkpoint of a torchvision weights entry."""
    return Path(torch.hub.get_dir()) / "checkpoints" / entry.url.rsplit("/", 1)[-1]


def _hash_prefix(filename: str) -> str | None:
    """The sha256 prefix torch hub puts in a checkpoint's file name (``alexnet-owt-7be5be79.pth``: ``7be5be79``)."""
    match = torch.hub.HASH_REGEX.search(filename)
    return match.group(1) if match and match.group(1) else None


_VERIFIED: dict[tuple[str, int, int], bool] = {}  # (path, size, mtime_ns) already hashed in this process


def _verify_cached(path: Path, url: str) -> None:
    """Check the sha256 of the cached ``path`` against the prefix in its file name, before anything unpickles it."""
    prefix = _hash_prefix(path.name)
    if prefix is None:
        return
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _VERIFIED:
        return
    with open(path, "rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()
    if not digest.startswith(prefix):
        raise WeightsUnavailableError(
            f"the cached ImageNet checkpoint {path} is not the published file: its sha256 is {digest}, the file name "
            f"promises one starting with {prefix} (damaged, truncated or replaced). It was not loaded. Delete it to "
            f"download it again, or copy the original from {url} to that path."
        )
    _VERIFIED[key] = True


def _imagenet_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """The ImageNet (``IMAGENET1K_V1``) state_dict of ``arch`` (:func:`_torchvision_state_dict`)."""
    return _torchvision_state_dict(arch, imagenet_weights(arch))


def _torchvision_state_dict(arch: str, weights) -> dict[str, torch.Tensor]:
    """The state_dict of the torchvision weights entry ``weights`` from the torch hub cache (downloaded there
    first if absent).

    The cached file is verified against the sha256 prefix of its name on every load and read with
    ``weights_only=True``: a file placed in the cache by hand can neither be a wrong checkpoint nor run code.
    """
    path = checkpoint_path(weights)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # torch hub writes to a temporary file, checks the hash prefix and only then renames it to `path`.
            torch.hub.download_url_to_file(weights.url, str(path), hash_prefix=_hash_prefix(path.name),
                                           progress=False)
        except (urllib.error.URLError, OSError, RuntimeError) as error:
            raise WeightsUnavailableError(
                f"ImageNet weights for {arch} are not cached at {path} and could not be "
                f"downloaded from {weights.url} ({error}). On a machine with internet run "
                f"`python -c \"import torchvision; torchvision.models.get_model('{arch}', "
                f"weights='{getattr(weights, 'name', 'IMAGENET1K_V1')}')\"` "
                f"and copy the file to that path (or set TORCH_HOME), or pass a state_dict file as weights."
            ) from error
    _verify_cached(path, weights.url)
    return _load_tensors(path, f"delete it to download it again, or copy the original from {weights.url}")


def weights_metadata(arch: str, weights: str = "imagenet") -> dict[str, object]:
    """What torchvision's metadata says of ``arch`` with ``weights`` (``imagenet``: V1, or the default entry where
    torchvision has no V1, as ``vit_h_14``): the entry's name, ImageNet top-1 (%), the evaluation crop (pixels),
    GFLOPS (torchvision's ``_ops``, multiply-accumulates of one image at the crop size), parameters, the file size
    (MB) and the minimum input side. Empty for a state_dict path or ``random``."""
    try:
        entry = torchvision_weights(arch, weights)
    except ValueError:
        if weights != "imagenet":
            raise
        entry = torchvision.models.get_model_weights(arch).DEFAULT
    if entry is None:
        return {}
    meta = entry.meta
    crop = getattr(entry.transforms(), "crop_size", [float("nan")])
    return {
        "weights_entry": f"{type(entry).__name__}.{entry.name}",
        "imagenet_top1": float(meta["_metrics"]["ImageNet-1K"]["acc@1"]),
        "eval_crop": int(crop[0]),
        "gflops": float(meta.get("_ops", float("nan"))),
        "params": int(meta.get("num_params", 0)),
        "file_size_mb": float(meta.get("_file_size", float("nan"))),
        "min_size": int(min(meta.get("min_size", (1, 1)))),
    }


def save_seeded_state_dict(arch: str, path: str | os.PathLike, seed: int = 0) -> Path:
    """Save torchvision's random ``arch`` drawn under ``seed + 1`` as a state_dict file: an offline stand-in for a
    pretrained checkpoint (loaded like one, yet another network than ``weights="random"`` with ``seed``)."""
    from ._util import atomic_output

    model = build_model(arch, "random", seed=seed + 1)
    with atomic_output(path) as partial:
        torch.save(model.state_dict(), partial)
    return Path(path)
