"""Benchmark 1's expensive step: one forward pass per BAPPS image, every pair distance cached in HDF5.

:func:`compute_distances` runs **one forward pass per image** through the architecture, taking every requested
layer, and stores the distance of every pair at every layer (and for every requested distance):
``/<distance>/<layer>/2afc/<subset>/{d0,d1}`` and ``/<distance>/<layer>/jnd/<subset>/d``, plus a copy of the
judgements under ``/judgements``. :mod:`.scoring` turns the cache into scores.
"""

from __future__ import annotations

import json
import platform
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, Iterator, Sequence

import h5py
import numpy as np
import torch
import torchvision

from ..._util import atomic_output, progress_bar, resolve_device
from ...distances import distance
from ...network import LossNetwork
from ...zoo import LAYER_LABELS
from .data import SPLITS

# Which images of a sample each stored distance compares: 2AFC d0 = (ref, p0), d1 = (ref, p1); JND d = (p0, p1).
PAIRS = {"2afc": {"d0": (0, 1), "d1": (0, 2)}, "jnd": {"d": (0, 1)}}
Features = Callable[[np.ndarray], dict[str, torch.Tensor]]


def feature_pass(network: LossNetwork, device: torch.device, *, precision: str = "fp32",
                 channels_last: bool = False, compile: bool = False) -> Features:
    """``uint8 (N, H, W, 3) images -> {layer: float32 features}`` on ``device``, with the speed knobs applied."""
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    network = network.to(device).to(memory_format=memory_format)
    forward = torch.compile(network) if compile else network
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()

    def features(images: np.ndarray) -> dict[str, torch.Tensor]:
        batch = torch.from_numpy(images).to(device, non_blocking=True).permute(0, 3, 1, 2)
        batch = (batch.float() / 255.0).contiguous(memory_format=memory_format)
        with autocast:
            out = forward(batch)
        return {layer: value.float() for layer, value in out.items()}

    return features


def subset_distances(group: h5py.Group, split: str, features: Features, distances: Sequence[str],
                     batch_size: int, progress: str | None = None) -> Iterator[tuple[str, str, str, np.ndarray]]:
    """``(distance, layer, pair, values)`` for every pair of one prepared subset, each image through the net once."""
    image_dirs, judgement = SPLITS[split]
    n = len(group[judgement])
    results: dict[tuple[str, str, str], list[np.ndarray]] = {}
    for start in progress_bar(range(0, n, batch_size), desc=progress, disable=progress is None):
        stop = min(start + batch_size, n)
        stacked = features(np.concatenate([group[folder][start:stop] for folder in image_dirs]))
        for layer, value in stacked.items():
            images = value.split(stop - start)
            for pair, (a, b) in PAIRS[split].items():
                for name in distances:
                    values = distance(name, images[a], images[b]).cpu().numpy().astype(np.float32)
                    results.setdefault((name, layer, pair), []).append(values)
    for (name, layer, pair), chunks in results.items():
        yield name, layer, pair, np.concatenate(chunks) if chunks else np.empty(0, np.float32)


def compute_distances(
    arch: str,
    weights: str,
    prepared: Path,
    output: Path,
    *,
    layers: Sequence[str] = LAYER_LABELS,
    distances: Sequence[str] = ("lpips",),
    batch_size: int = 64,
    device: str = "auto",
    precision: str = "fp32",
    channels_last: bool = False,
    compile: bool = False,
    normalize_input: bool = True,
    seed: int = 0,
    weights_label: str | None = None,
    progress: bool = True,
    input_size: int | None = None,
) -> Path:
    """Run ``arch`` once over every BAPPS image of ``prepared`` and cache all pair distances in ``output``.

    ``weights_label`` names the weights variant in the scores (default: ``weights`` itself); the workflow
    passes the variant's name when ``weights`` is a state_dict path. ``input_size`` is
    :class:`~lossnet.network.LossNetwork`'s (None: the images as they are).
    """
    target = resolve_device(device)
    network = LossNetwork(arch, layers, weights, normalize_input=normalize_input, seed=seed, input_size=input_size)
    features = feature_pass(network, target, precision=precision, channels_last=channels_last, compile=compile)
    settings = {"precision": precision, "channels_last": channels_last, "compile": compile, "seed": seed}
    with torch.inference_mode(), h5py.File(prepared, "r") as source, atomic_output(output) as partial, \
            h5py.File(partial, "w") as cache:
        cache.attrs.update(_provenance(arch, weights_label or weights, network, distances, settings))
        for split, (_, judgement) in SPLITS.items():
            for subset, group in source.get(split, {}).items():
                cache[f"judgements/{split}/{subset}/{judgement}"] = group[judgement][:]
                label = f"{arch} {split}/{subset}" if progress else None
                for name, layer, pair, values in subset_distances(group, split, features, distances, batch_size,
                                                                  label):
                    if not np.all(np.isfinite(values)):
                        raise FloatingPointError(f"{arch}/{layer}: non-finite {name} distances in {split}/{subset}")
                    cache[f"{name}/{layer}/{split}/{subset}/{pair}"] = values
    return Path(output)


def _provenance(arch: str, weights: str, network: LossNetwork, distances: Sequence[str], settings: dict) -> dict:
    return {
        "arch": arch,
        "weights": str(weights),
        "layers": json.dumps(network.layers),
        "distances": json.dumps(list(distances)),
        **settings,
        "normalize_input": network.normalize_input,
        **({"input_size": network.input_size} if network.input_size is not None else {}),
        "torch": str(torch.__version__),
        "torchvision": str(torchvision.__version__),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu",
    }
