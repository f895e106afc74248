"""Benchmark 1: perceptual similarity on BAPPS (2AFC and JND), scored as the LPIPS repository scores them.

Two steps, so that the expensive one runs once per architecture:

1. :func:`compute_distances` runs **one forward pass per image** through the architecture, taking every
   requested layer, and stores the distance of every pair at every layer (and for every requested distance)
   in an HDF5 cache: ``/<distance>/<layer>/2afc/<subset>/{d0,d1}`` and ``/<distance>/<layer>/jnd/<subset>/d``,
   plus a copy of the judgements under ``/judgements``.
2. :func:`score` turns one layer (or the sum of several) of that cache into 2AFC and JND scores.
"""

from __future__ import annotations

import json
import os
import platform
from contextlib import nullcontext
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np
import pandas as pd
import torch
import torchvision
from tqdm import tqdm

from .bapps import SPLITS
from .distances import distance
from .network import LossNetwork
from .zoo import LAYER_LABELS

ALL_LAYERS = "all"  # the layer name of the score of summed distances over all cached layers


def score_2afc(d0: np.ndarray, d1: np.ndarray, judge: np.ndarray) -> float:
    """Mean 2AFC agreement: ``judge`` if p1 is nearer, ``1 - judge`` if p0 is nearer, 0.5 on a tie.

    ``judge`` is the fraction of raters who preferred p1 (LPIPS ``score_2afc_dataset``).
    """
    d0, d1, judge = (np.asarray(a, dtype=np.float64) for a in (d0, d1, judge))
    return float(np.mean((d0 < d1) * (1 - judge) + (d1 < d0) * judge + (d1 == d0) * 0.5))


def score_jnd(d: np.ndarray, same: np.ndarray) -> float:
    """JND mean average precision of ``same`` (soft positives) ranked by ascending distance.

    As LPIPS ``score_jnd_dataset`` with ``voc_ap(use_07_metric=False)``; a stable sort makes ties deterministic.
    NaN when no pair has a positive ``same`` (average precision is undefined without positives).
    """
    order = np.argsort(np.asarray(d, dtype=np.float64), kind="stable")
    same_sorted = np.asarray(same, dtype=np.float64)[order]
    true_positives = np.cumsum(same_sorted)
    false_positives = np.cumsum(1 - same_sorted)
    false_negatives = np.sum(same_sorted) - true_positives
    precision = true_positives / (true_positives + false_positives)
    with np.errstate(invalid="ignore"):  # 0/0 without positives: NaN, documented above
        recall = true_positives / (true_positives + false_negatives)
    recall = np.concatenate(([0.0], recall, [1.0]))
    precision = np.concatenate(([0.0], precision, [0.0]))
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # the precision envelope
    changes = np.where(recall[1:] != recall[:-1])[0]
    return float(np.sum((recall[changes + 1] - recall[changes]) * precision[changes + 1]))


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks the GPU when there is one."""
    return torch.device(("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device)


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
) -> Path:
    """Run ``arch`` once over every BAPPS image of ``prepared`` and cache all pair distances in ``output``.

    ``weights_label`` names the weights variant in the scores (default: ``weights`` itself); the workflow
    passes the variant's name when ``weights`` is a state_dict path.
    """
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
    target = resolve_device(device)
    network = LossNetwork(arch, layers, weights, normalize_input=normalize_input, seed=seed).to(target)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    network = network.to(memory_format=memory_format)
    forward = torch.compile(network) if compile else network
    autocast = torch.autocast(target.type, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()

    def features(images: np.ndarray) -> dict[str, torch.Tensor]:
        batch = torch.from_numpy(images).to(target, non_blocking=True).permute(0, 3, 1, 2)
        batch = (batch.float() / 255.0).contiguous(memory_format=memory_format)
        with autocast:
            out = forward(batch)
        return {layer: value.float() for layer, value in out.items()}

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with torch.inference_mode(), h5py.File(prepared, "r") as source, h5py.File(partial, "w") as cache:
        cache.attrs.update(_provenance(arch, weights_label or weights, network, distances, precision, channels_last, compile, seed))
        for split, (image_dirs, judgement) in SPLITS.items():
            for subset, group in source.get(split, {}).items():
                cache[f"judgements/{split}/{subset}/{judgement}"] = group[judgement][:]
                n = len(group[judgement])
                pairs = ("d0", "d1") if split == "2afc" else ("d",)
                results = {(dist, layer, pair): np.empty(n, np.float32) for dist in distances for layer in layers
                           for pair in pairs}
                for start in tqdm(range(0, n, batch_size), desc=f"{arch} {split}/{subset}", disable=not progress):
                    stop = min(start + batch_size, n)
                    # Stack all images of a batch of samples so that each image goes through the network once.
                    stacked = features(np.concatenate([group[folder][start:stop] for folder in image_dirs]))
                    per_folder = {layer: value.split(stop - start) for layer, value in stacked.items()}
                    for layer, chunks in per_folder.items():
                        comparisons = zip(pairs, [(0, 1), (0, 2)] if split == "2afc" else [(0, 1)])
                        for pair, (a, b) in comparisons:
                            for dist in distances:
                                value = distance(dist, chunks[a], chunks[b])
                                results[dist, layer, pair][start:stop] = value.cpu().numpy()
                for (dist, layer, pair), values in results.items():
                    if not np.all(np.isfinite(values)):
                        raise FloatingPointError(f"{arch}/{layer}: non-finite {dist} distances in {split}/{subset}")
                    cache[f"{dist}/{layer}/{split}/{subset}/{pair}"] = values
    os.replace(partial, output)
    return output


def _provenance(arch, weights, network, distances, precision, channels_last, compile, seed) -> dict:
    return {
        "arch": arch,
        "weights": str(weights),
        "layers": json.dumps(network.layers),
        "distances": json.dumps(list(distances)),
        "precision": precision,
        "channels_last": channels_last,
        "compile": compile,
        "normalize_input": network.normalize_input,
        "seed": seed,
        "torch": str(torch.__version__),
        "torchvision": str(torchvision.__version__),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu",
    }


SCORE_ORDER = ["benchmark", "metric", "arch", "layer", "weights", "value", "higher_is_better", "subset", "distance", "n", "seed"]


def _tidy(rows: list[dict], **columns) -> pd.DataFrame:
    """Per-subset rows plus their means over subsets (empty ``subset``: the headline the rankings use)."""
    table = pd.DataFrame(rows)
    means = table.groupby("metric", sort=False, as_index=False).agg(value=("value", "mean"), n=("n", "sum"))
    table = pd.concat([means.assign(subset=""), table], ignore_index=True)
    return table.assign(benchmark="similarity", higher_is_better=True, **columns)[SCORE_ORDER]


def _score_splits(judgements: h5py.Group, distances_of) -> list[dict]:
    rows = []
    for split, judgement in (("2afc", "judge"), ("jnd", "same")):
        for subset in judgements[split] if split in judgements else []:
            truth = judgements[f"{split}/{subset}/{judgement}"][:]
            if split == "2afc":
                value = score_2afc(distances_of(split, subset, "d0"), distances_of(split, subset, "d1"), truth)
            else:
                value = score_jnd(distances_of(split, subset, "d"), truth)
            rows.append({"metric": split, "subset": subset, "value": value, "n": len(truth)})
    return rows


def score(cache_path: Path, layers: Sequence[str] | str, distance_name: str = "lpips") -> pd.DataFrame:
    """Score one layer, or the sum of distances over several layers, from a cache written by compute_distances.

    Returns tidy rows (scores schema): ``2afc`` and ``jnd`` per subset, and their means over subsets with an
    empty ``subset`` (the headline numbers the rankings use).
    """
    layer_list = [layers] if isinstance(layers, str) else list(layers)
    with h5py.File(cache_path, "r") as cache:
        available = list(cache[distance_name]) if distance_name in cache else []
        missing = [layer for layer in layer_list if layer not in available]
        if missing:
            raise KeyError(f"{cache_path} has no {distance_name} distances for layers {missing} (has {available})")

        def summed(split: str, subset: str, pair: str) -> np.ndarray:
            return sum(cache[f"{distance_name}/{layer}/{split}/{subset}/{pair}"][:].astype(np.float64)
                       for layer in layer_list)

        rows = _score_splits(cache["judgements"], summed)
        attrs = dict(cache.attrs)
    layer_name = layer_list[0] if len(layer_list) == 1 else ALL_LAYERS
    return _tidy(rows, arch=attrs["arch"], layer=layer_name, weights=attrs["weights"], distance=distance_name,
                 seed=attrs["seed"])


def score_pixel_distance(prepared: Path, name: str, seed: int = 0, batch_size: int = 256,
                         device: str = "auto", progress: bool = True) -> pd.DataFrame:
    """Network-free reference rows: 2AFC and JND of a pixel-space distance (l2, ssim, mmdpp) on prepared BAPPS."""
    from .pixel_distances import pixel_distance

    target = resolve_device(device)
    function = pixel_distance(name, seed=seed)
    if isinstance(function, torch.nn.Module):
        function = function.to(target)
    computed: dict[tuple[str, str, str], np.ndarray] = {}
    with torch.inference_mode(), h5py.File(prepared, "r") as source:
        for split, (image_dirs, _) in SPLITS.items():
            for subset, group in source.get(split, {}).items():
                comparisons = {"d0": (0, 1), "d1": (0, 2)} if split == "2afc" else {"d": (0, 1)}
                for pair, (a, b) in comparisons.items():
                    values = []
                    for start in tqdm(range(0, len(group[image_dirs[0]]), batch_size), disable=not progress,
                                      desc=f"{name} {split}/{subset} {pair}"):
                        x, y = (torch.from_numpy(group[image_dirs[i]][start:start + batch_size]).to(target)
                                .permute(0, 3, 1, 2).float() / 255.0 for i in (a, b))
                        values.append(function(x, y).double().cpu().numpy())
                    computed[split, subset, pair] = np.concatenate(values)
        rows = _score_splits(source, lambda split, subset, pair: computed[split, subset, pair])
    return _tidy(rows, arch=name, layer="-", weights="none", distance=name, seed=seed)
