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

from ..._util import progress_bar, resolve_device
from ...distances import pixel_distance
from ...stats import RESAMPLES, average_precision, bootstrap, interval
from ..scores import ALL_LAYERS, INTERVAL_COLUMNS, reference_columns, score_table, write_scores
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
    NaN when no pair has a positive ``same`` (average precision is undefined without positives). The one
    implementation is :func:`lossnet.stats.average_precision`, which the bootstrap runs on every resample.
    """
    return float(average_precision(d, same)[0])


def outcomes_2afc(d0: np.ndarray, d1: np.ndarray, judge: np.ndarray) -> np.ndarray:
    """Per-triplet 2AFC agreement (its mean is :func:`score_2afc`): the items the bootstrap resamples."""
    d0, d1, judge = (np.asarray(a, dtype=np.float64) for a in (d0, d1, judge))
    return (d0 < d1) * (1 - judge) + (d1 < d0) * judge + (d1 == d0) * 0.5


EXTRAS = ["subset", "distance", "n", "seed", *INTERVAL_COLUMNS]


def _mean_of_subset_means(picked: dict) -> np.ndarray:
    return np.mean([outcomes.mean(axis=1) for (outcomes,) in picked.values()], axis=0)


def _pooled_ap(picked: dict) -> np.ndarray:
    d = np.concatenate([d for d, _ in picked.values()], axis=1)
    same = np.concatenate([same for _, same in picked.values()], axis=1)
    return average_precision(d, same)


def _score_splits(judgements: h5py.Group, distances_of, seed: int = 0,
                  resamples: int = RESAMPLES) -> tuple[list[dict], list[np.ndarray]]:
    """Score rows and, for the two headline rows, their bootstrap replicates.

    Per subset: its 2AFC mean or JND mAP, with a 95% interval over triplets/pairs resampled within the subset.
    Headlines (empty ``subset``): 2AFC = the mean of the subset means; JND = one mAP over the pooled pairs of all
    JND subsets (the authors' code scores a ConcatDataset of jnd/val; protocol section 3). Their replicates
    resample within each subset (stratified); the indices depend on the seed, subset and size only, so every
    architecture's job draws the same resamples (joint bootstrap, :mod:`lossnet.stats`).
    """
    rows, headlines, replicates = [], [], []
    for split, judgement in (("2afc", "judge"), ("jnd", "same")):
        items = {}
        for subset in judgements[split] if split in judgements else []:
            truth = judgements[f"{split}/{subset}/{judgement}"][:].astype(np.float64)
            if split == "2afc":
                items[subset] = (outcomes_2afc(distances_of(split, subset, "d0"), distances_of(split, subset, "d1"),
                                               truth),)
            else:
                items[subset] = (np.asarray(distances_of(split, subset, "d"), dtype=np.float64), truth)
        if not items:
            continue
        key = f"{BENCHMARK}/{split}"
        statistic = _mean_of_subset_means if split == "2afc" else _pooled_ap
        for subset, arrays in items.items():
            value = float(statistic({subset: tuple(a[None] for a in arrays)})[0])
            low, high = interval(bootstrap(statistic, {subset: arrays}, key, resamples, seed))
            rows.append({"metric": split, "subset": subset, "value": value, "n": len(arrays[0]),
                         "ci_low": low, "ci_high": high})
        value = float(statistic({subset: tuple(a[None] for a in arrays) for subset, arrays in items.items()})[0])
        draws = bootstrap(statistic, items, key, resamples, seed)
        low, high = interval(draws)
        headlines.append({"metric": split, "subset": "", "value": value,
                          "n": sum(len(arrays[0]) for arrays in items.values()), "ci_low": low, "ci_high": high})
        replicates.append(draws)
    return headlines + rows, replicates


def _tidy(rows: list[dict], **columns) -> pd.DataFrame:
    """Headline rows (empty ``subset``: what the rankings use) first, then the per-subset breakdowns."""
    return score_table(rows, extras=EXTRAS, benchmark=BENCHMARK, **columns)


def score(cache_path: Path, layers: Sequence[str] | str, distance_name: str = "lpips") -> pd.DataFrame:
    """Score one layer, or the sum of distances over several layers, from a cache written by compute_distances.

    Returns tidy rows (scores schema): ``2afc`` and ``jnd`` per subset, and the headlines with an empty
    ``subset`` (the numbers the rankings use; :func:`_score_splits`), each with ``ci_low``/``ci_high``.
    """
    return score_with_replicates(cache_path, layers, distance_name)[0]


def score_with_replicates(cache_path: Path, layers: Sequence[str] | str, distance_name: str = "lpips",
                          label: str | None = None) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """:func:`score` and the bootstrap replicates of its headline rows (one array per headline row, in order).

    ``label``: the rows' layer (default: the layer's own name for one layer, ``all`` for several). The workflow's
    summed-layers job passes ``all`` even when the study has one layer, so its rows never repeat that layer's."""
    layer_list = [layers] if isinstance(layers, str) else list(layers)
    with h5py.File(cache_path, "r") as cache:
        available = list(cache[distance_name]) if distance_name in cache else []
        missing = [layer for layer in layer_list if layer not in available]
        if missing:
            raise KeyError(f"{cache_path} has no {distance_name} distances for layers {missing} (has {available})")

        def summed(split: str, subset: str, pair: str) -> np.ndarray:
            return sum(cache[f"{distance_name}/{layer}/{split}/{subset}/{pair}"][:].astype(np.float64)
                       for layer in layer_list)

        attrs = dict(cache.attrs)
        rows, replicates = _score_splits(cache["judgements"], summed, seed=int(attrs.get("seed", 0)))
    layer_name = label or (layer_list[0] if len(layer_list) == 1 else ALL_LAYERS)
    table = _tidy(rows, arch=attrs["arch"], layer=layer_name, weights=attrs["weights"], distance=distance_name,
                  seed=attrs["seed"])
    return table, replicates


def score_distances(cache_path: Path, layers: Sequence[str], distances: Sequence[str],
                    output: Path | None = None, label: str | None = None) -> pd.DataFrame:
    """:func:`score` for every distance: one layer's scores, or the summed layers' when several are given.

    With ``output``, write the scores there and the headline rows' replicates beside them (scores schema)."""
    layer_arg = layers[0] if len(layers) == 1 else list(layers)
    scored = [score_with_replicates(cache_path, layer_arg, name, label) for name in distances]
    table = pd.concat([t for t, _ in scored], ignore_index=True)
    if output is not None:
        write_scores(table, output, [r for _, rs in scored for r in rs], table["subset"] == "")
    return table


def score_pixel_distance(prepared: Path, name: str, seed: int = 0, batch_size: int = 256,
                         device: str = "auto", progress: bool = True, output: Path | None = None) -> pd.DataFrame:
    """Network-free reference rows: 2AFC and JND of a pixel-space distance (l2, ssim, mmdpp) on prepared BAPPS.

    With ``output``, write them there and the headline rows' replicates beside them."""
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
                    for start in progress_bar(range(0, len(group[image_dirs[0]]), batch_size), disable=not progress,
                                      desc=f"{name} {split}/{subset} {pair}"):
                        x, y = (torch.from_numpy(group[image_dirs[i]][start:start + batch_size]).to(target)
                                .permute(0, 3, 1, 2).float() / 255.0 for i in (a, b))
                        values.append(function(x, y).double().cpu().numpy())
                    computed[split, subset, pair] = np.concatenate(values)
        rows, replicates = _score_splits(source, lambda split, subset, pair: computed[split, subset, pair], seed)
    table = _tidy(rows, **reference_columns(name), distance=name, seed=seed)
    if output is not None:
        write_scores(table, output, replicates, table["subset"] == "")
    return table
