"""Benchmark 1's scores, as the LPIPS repository computes them: 2AFC agreement and JND mAP per subset.

:func:`score` turns one layer (or the sum of several) of a distance cache (:mod:`.cache`) into scores;
:func:`score_pixel_distance` scores a network-free distance directly on the prepared images (reference rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import h5py
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ..._util import resolve_device
from ...distances import pixel_distance
from ..scores import ALL_LAYERS, reference_columns, score_table
from .cache import PAIRS
from .data import SPLITS

BENCHMARK = "similarity"


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


EXTRAS = ["subset", "distance", "n", "seed"]


def _tidy(rows: list[dict], **columns) -> pd.DataFrame:
    """Per-subset rows plus their means over subsets (empty ``subset``: the headline the rankings use)."""
    table = pd.DataFrame(rows)
    means = table.groupby("metric", sort=False, as_index=False).agg(value=("value", "mean"), n=("n", "sum"))
    table = pd.concat([means.assign(subset=""), table], ignore_index=True)
    return score_table(table.to_dict("records"), extras=EXTRAS, benchmark=BENCHMARK, higher_is_better=True, **columns)


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


def score_distances(cache_path: Path, layers: Sequence[str], distances: Sequence[str]) -> pd.DataFrame:
    """:func:`score` for every distance: one layer's scores, or the summed layers' when several are given."""
    layer_arg = layers[0] if len(layers) == 1 else list(layers)
    return pd.concat([score(cache_path, layer_arg, name) for name in distances], ignore_index=True)


def score_pixel_distance(prepared: Path, name: str, seed: int = 0, batch_size: int = 256,
                         device: str = "auto", progress: bool = True) -> pd.DataFrame:
    """Network-free reference rows: 2AFC and JND of a pixel-space distance (l2, ssim, mmdpp) on prepared BAPPS."""
    target = resolve_device(device)
    function = pixel_distance(name, seed=seed)
    if isinstance(function, torch.nn.Module):
        function = function.to(target)
    computed: dict[tuple[str, str, str], np.ndarray] = {}
    with torch.inference_mode(), h5py.File(prepared, "r") as source:
        for split, (image_dirs, _) in SPLITS.items():
            for subset, group in source.get(split, {}).items():
                for pair, (a, b) in PAIRS[split].items():
                    values = []
                    for start in tqdm(range(0, len(group[image_dirs[0]]), batch_size), disable=not progress,
                                      desc=f"{name} {split}/{subset} {pair}"):
                        x, y = (torch.from_numpy(group[image_dirs[i]][start:start + batch_size]).to(target)
                                .permute(0, 3, 1, 2).float() / 255.0 for i in (a, b))
                        values.append(function(x, y).double().cpu().numpy())
                    computed[split, subset, pair] = np.concatenate(values)
        rows = _score_splits(source, lambda split, subset, pair: computed[split, subset, pair])
    return _tidy(rows, **reference_columns(name), distance=name, seed=seed)
