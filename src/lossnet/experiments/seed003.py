"""Seed 003's 2AFC table, recomputed: every distance it reported, on prepared BAPPS, beside the numbers it reports.

Seed 003 (``ariel415el/PerceptualLossExperiments``, its ``Adobe_2AFC`` experiment) scored distances on the BAPPS
2AFC val triplets of the *cnn* and *traditional* subsets pooled into one set, at 64 px, with images in [-1, 1].
:func:`compute_table` scores the same distances on a prepared BAPPS file (:mod:`lossnet.benchmarks.similarity.data`)
on all six 2AFC subsets, their mean, the JND mAP and the seed's pooled cnn + traditional number, each with a 95%
bootstrap interval (:mod:`lossnet.stats`), and puts the seed's reported number beside its row.

How each row is computed (all inputs [0, 1] as stored; ``signed`` means the network saw them in [-1, 1], the seed's
way, and ``imagenet`` ImageNet standardisation, lossnet's way):

- image distances: L1, L2, 1 - SSIM, patch-RBF (11 px, sigma 0.02), MMD++ in the seed's [-1, 1] and in [0, 1],
  each with the published local sigma 0.06 and the repository's later 0.1;
- VGG16 with each weights variant: the seed's VGG loss (pixels + five pre-ReLU convolutions, L1, averaged, signed);
  each pre-ReLU convolution alone (L1, signed); the LPIPS baseline (lossnet's ``lpips`` preset and distance,
  imagenet); the seed's layers under the Gram distance (averaged, signed); and seed 003's random network redrawn at
  every forward pass (its ``reinit``);
- AlexNet conv1 and conv1 + conv2 before their ReLU (squared error summed over the layers, signed), pretrained and
  torchvision's random init, as the seed's ``AlexNetLoss``.

Random networks take ``seed``; with ``n_seeds > 1`` their distances are averaged over that many consecutive seeds
(:class:`lossnet.distances.networks.SeedAverage`'s estimate of the random family's distance).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import h5py
import numpy as np
import pandas as pd
import torch

from ._images import save_figure
from .._util import progress_bar, resolve_device, write_csv
from ..stats import RESAMPLES, bootstrap, interval
from ..benchmarks.similarity.cache import PAIRS, feature_pass, subset_distances
from ..benchmarks.similarity.data import SPLITS, SUBSETS_2AFC
from ..benchmarks.similarity.scoring import _score_splits, outcomes_2afc
from ..distances import pixel_distance
from ..network import LossNetwork
from ..weights import INITIALIZERS
from ..zoo import LAYER_PRESETS

log = logging.getLogger(__name__)

SEED_SUBSETS = ("cnn", "traditional")  # the seed pooled these two 2AFC val subsets
SEED_COLUMN = "2afc_cnn_traditional"
SOURCE = "ariel415el/PerceptualLossExperiments, Adobe_2AFC/results.txt (and README)"
VGG_CONVS = {"conv1_2": "features.2", "conv2_2": "features.7", "conv3_3": "features.14", "conv4_3": "features.21",
             "conv5_3": "features.28"}
ALEXNET_CONVS = {"conv1": "features.0", "conv2": "features.3"}
VGG_WEIGHTS = ("imagenet", "random", "random_kaiming", "random_zero_mean")

# What seed 003 reports, by the name it gives the number (facts, cited as SOURCE).
REPORTED: dict[str, float] = {
    "L1": 0.68, "L2": 0.67, "SSIM(w=11,s=1.5)": 0.696, "PatchLoss(p=11,s=0.02)": 0.68, "MMD++": 0.74,
    "VGG(PT)": 0.72, "VGG(M-l1)": 0.689, "VGG(NormFC)": 0.731, "VGG(reinit_NormFC)": 0.72, "VGG(PT_M-gram)": 0.79,
    "vgg-conv1_2": 0.696, "vgg-conv2_2": 0.697, "vgg-conv3_3": 0.729, "vgg-conv4_3": 0.768, "vgg-conv5_3": 0.769,
    "vgg-rand_conv1_2": 0.691, "vgg-rand_conv2_2": 0.712, "vgg-rand_conv3_3": 0.728, "vgg-rand_conv4_3": 0.731,
    "vgg-rand_conv5_3": 0.731,
    "AlexNet_1_pt": 0.688, "AlexNet_1_rand": 0.676, "AlexNet_4_pt": 0.747, "AlexNet_4_rand": 0.679,
}


@dataclass(frozen=True)
class Row:
    """One distance of the table: an image distance (``arch`` None) or a network, layers and a feature distance."""

    label: str
    distance: str
    arch: str | None = None
    weights: str | None = None
    layers: tuple[str, ...] = ()
    normalize_input: str = "signed"  # what the network sees; for an image distance, the units it computes in
    layer_reduction: str = "mean"
    redraw: bool = False
    options: tuple[tuple[str, object], ...] = ()
    reported_as: str = ""  # the seed's name of the number beside this row ("" when it reports none)
    note: str = ""

    @property
    def reported(self) -> float:
        return REPORTED.get(self.reported_as, float("nan"))


def _image_rows() -> list[Row]:
    unit = "[0, 1]"  # L1, L2 and SSIM rank pairs alike in any units
    rows = [Row("L1", "l1", normalize_input=unit, reported_as="L1"),
            Row("L2", "l2", normalize_input=unit, reported_as="L2"),
            Row("1 - SSIM", "ssim", normalize_input=unit, reported_as="SSIM(w=11,s=1.5)"),
            Row("patch-RBF (p 11, sigma 0.02)", "patch_rbf", normalize_input="[-1, 1]",
                reported_as="PatchLoss(p=11,s=0.02)")]
    for units, value_range in (("[-1, 1]", (-1.0, 1.0)), ("[0, 1]", (0.0, 1.0))):
        for local_sigma in (0.06, 0.1):
            published = value_range == (-1.0, 1.0) and local_sigma == 0.06
            rows.append(Row(f"MMD++ {units}, local sigma {local_sigma}", "mmdpp", normalize_input=units,
                            options=(("value_range", value_range), ("local_sigma", local_sigma)),
                            reported_as="MMD++" if published else "",
                            note="the published setting" if published else ""))
    return rows


def _vgg_rows(weights: str) -> list[Row]:
    seed_loss = {"imagenet": "VGG(PT)", "random_kaiming": "VGG(M-l1)", "random_zero_mean": "VGG(NormFC)"}
    per_layer = {"imagenet": "vgg-", "random_zero_mean": "vgg-rand_"}
    vgg = dict(arch="vgg16", weights=weights)
    rows = [Row(f"VGG16 {weights}: seed VGG loss", "l1", layers=LAYER_PRESETS["seed003"]["vgg16"],
                reported_as=seed_loss.get(weights, ""), **vgg)]
    for name, path in VGG_CONVS.items():
        prefix = per_layer.get(weights)
        note = "the seed's per-layer random numbers came from its redrawn (reinit) network" \
            if weights == "random_zero_mean" else ""
        rows.append(Row(f"VGG16 {weights}: {name} (pre-ReLU)", "l1", layers=(path,),
                        reported_as=f"{prefix}{name}" if prefix else "", note=note, **vgg))
    rows.append(Row(f"VGG16 {weights}: lpips", "lpips", layers=LAYER_PRESETS["lpips"]["vgg16"],
                    normalize_input="imagenet", layer_reduction="sum", **vgg))
    rows.append(Row(f"VGG16 {weights}: gram (seed layers)", "gram", layers=LAYER_PRESETS["seed003"]["vgg16"],
                    reported_as="VGG(PT_M-gram)" if weights == "imagenet" else "", **vgg))
    if weights == "random_zero_mean":
        rows.append(Row(f"VGG16 {weights} redrawn per forward: seed VGG loss", "l1",
                        layers=LAYER_PRESETS["seed003"]["vgg16"], redraw=True, reported_as="VGG(reinit_NormFC)",
                        note="stochastic: a new network for every batch", **vgg))
    if weights == "random":
        rows[0] = replace(rows[0], note="torchvision's init; the seed's plain random VGG is random_kaiming")
    return rows


def _alexnet_rows(weights: str) -> list[Row]:
    tag = "pt" if weights == "imagenet" else "rand"
    alex = dict(arch="alexnet", weights=weights, distance="mse", layer_reduction="sum")
    return [Row(f"AlexNet {weights}: conv1 (pre-ReLU)", layers=(ALEXNET_CONVS["conv1"],),
                reported_as=f"AlexNet_1_{tag}", **alex),
            Row(f"AlexNet {weights}: conv1 + conv2 (pre-ReLU)", layers=tuple(ALEXNET_CONVS.values()),
                reported_as=f"AlexNet_4_{tag}", **alex)]


def table_rows(vgg_weights: Sequence[str] = VGG_WEIGHTS,
               alexnet_weights: Sequence[str] = ("imagenet", "random")) -> list[Row]:
    """Every row of the table, in order: image distances, VGG16 per weights variant, AlexNet per weights variant."""
    return [*_image_rows(), *(r for w in vgg_weights for r in _vgg_rows(w)),
            *(r for w in alexnet_weights for r in _alexnet_rows(w))]


# ------------------------------------------------------------------------------------------------ distances

Distances = dict[tuple[str, str, str], np.ndarray]  # (split, subset, pair) -> one distance per sample


def _image_batches(group: h5py.Group, split: str, batch_size: int) -> Iterable[tuple[int, int]]:
    n = len(group[SPLITS[split][1]])
    return ((start, min(start + batch_size, n)) for start in range(0, n, batch_size))


def image_distances(prepared: Path, function: Callable, batch_size: int, device: torch.device) -> Distances:
    """An image distance of every pair of the prepared file (images to [0, 1] on ``device``)."""
    out: Distances = {}
    with torch.inference_mode(), h5py.File(prepared, "r") as source:
        for split, (folders, _) in SPLITS.items():
            for subset, group in source.get(split, {}).items():
                chunks: dict[str, list[np.ndarray]] = {pair: [] for pair in PAIRS[split]}
                for start, stop in _image_batches(group, split, batch_size):
                    images = [torch.from_numpy(group[folder][start:stop]).to(device).permute(0, 3, 1, 2).float()
                              / 255.0 for folder in folders]
                    for pair, (a, b) in PAIRS[split].items():
                        chunks[pair].append(function(images[a], images[b]).double().cpu().numpy())
                for pair, values in chunks.items():
                    out[split, subset, pair] = np.concatenate(values)
    return out


def network_distances(prepared: Path, arch: str, weights: str, layers: Sequence[str], distances: Sequence[str],
                      *, normalize_input: str, redraw: bool, seed: int, batch_size: int,
                      device: torch.device) -> dict[tuple[str, str], Distances]:
    """``(distance, layer) -> distances of every pair``: one network, every image through it once per batch
    (ref, p0 and p1 of a batch in one forward pass, so a redrawn network is the same for d0 and d1)."""
    network = LossNetwork(arch, list(dict.fromkeys(layers)), weights, normalize_input=normalize_input, seed=seed,
                          redraw=redraw)
    features = feature_pass(network, device)
    out: dict[tuple[str, str], Distances] = {}
    with torch.inference_mode(), h5py.File(prepared, "r") as source:
        for split in SPLITS:
            for subset, group in source.get(split, {}).items():
                for name, layer, pair, values in subset_distances(group, split, features, distances, batch_size):
                    out.setdefault((name, layer), {})[split, subset, pair] = values.astype(np.float64)
    return out


def _combine(per_layer: Mapping[tuple[str, str], Distances], row: Row) -> Distances:
    keys = per_layer[row.distance, row.layers[0]].keys()
    total = {key: sum(per_layer[row.distance, layer][key] for layer in row.layers) for key in keys}
    return {key: value / len(row.layers) for key, value in total.items()} if row.layer_reduction == "mean" else total


def _pass_key(row: Row) -> tuple:
    return row.arch, row.weights, row.normalize_input, row.redraw


def row_distances(prepared: Path, rows: Sequence[Row], *, seed: int = 0, n_seeds: int = 1, batch_size: int = 64,
                  device: str | torch.device = "auto", weights_sources: Mapping[str, str] | None = None,
                  progress: bool = True) -> dict[str, Distances]:
    """Every row's distances: image distances directly, network rows from one pass per (network, input, redraw)
    that serves every row sharing it; random networks averaged over ``n_seeds`` consecutive seeds."""
    target = resolve_device(device)
    sources = dict(weights_sources or {})
    out: dict[str, Distances] = {}
    for row in progress_bar([r for r in rows if r.arch is None], desc="seed003 image distances", disable=not progress):
        function = pixel_distance(row.distance, seed=seed, **dict(row.options))
        if isinstance(function, torch.nn.Module):
            function = function.to(target)
        out[row.label] = image_distances(prepared, function, batch_size, target)
    passes: dict[tuple, list[Row]] = {}
    for row in rows:
        if row.arch is not None:
            passes.setdefault(_pass_key(row), []).append(row)
    for (arch, weights, normalize_input, redraw), members in passes.items():
        loaded = sources.get(weights, weights)
        random = loaded == "random" or loaded in INITIALIZERS
        seeds = range(seed, seed + (n_seeds if random else 1))
        layers = [layer for row in members for layer in row.layers]
        names = list(dict.fromkeys(row.distance for row in members))
        log.info("seed003: %s %s (%s) input %s%s, %d seed(s)", arch, weights, loaded, normalize_input,
                 " redrawn" if redraw else "", len(seeds))
        draws = [network_distances(prepared, arch, loaded, layers, names, normalize_input=normalize_input,
                                   redraw=redraw, seed=s, batch_size=batch_size, device=target) for s in seeds]
        for row in members:
            combined = [_combine(draw, row) for draw in draws]
            out[row.label] = {key: np.mean([c[key] for c in combined], axis=0) for key in combined[0]}
    return out


# -------------------------------------------------------------------------------------------------- scoring


def _pooled_mean(picked: dict) -> np.ndarray:
    return np.concatenate([outcomes for (outcomes,) in picked.values()], axis=1).mean(axis=1)


def score_row(source: h5py.File, distances: Distances, seed: int = 0, resamples: int = RESAMPLES) -> dict[str, float]:
    """Wide scores of one row: ``2afc`` (mean of the subset means), ``2afc_<subset>``, ``jnd`` (pooled mAP),
    ``jnd_<subset>`` and the seed's pooled cnn + traditional 2AFC, each with ``_low``/``_high`` (95% bootstrap)."""
    rows, _ = _score_splits(source, lambda split, subset, pair: distances[split, subset, pair], seed, resamples)
    scores: dict[str, float] = {}
    for item in rows:
        name = item["metric"] + (f"_{item['subset']}" if item["subset"] else "")
        scores[name], scores[f"{name}_low"], scores[f"{name}_high"] = item["value"], item["ci_low"], item["ci_high"]
    present = [subset for subset in SEED_SUBSETS if f"2afc/{subset}" in source]
    if present:
        items = {subset: (outcomes_2afc(distances["2afc", subset, "d0"], distances["2afc", subset, "d1"],
                                        source[f"2afc/{subset}/judge"][:]),) for subset in present}
        value = float(_pooled_mean({s: (a[None],) for s, (a,) in items.items()})[0])
        low, high = interval(bootstrap(_pooled_mean, items, "seed003/2afc/cnn+traditional", resamples, seed))
        scores[SEED_COLUMN], scores[f"{SEED_COLUMN}_low"], scores[f"{SEED_COLUMN}_high"] = value, low, high
    return scores


def score_columns(source: h5py.File) -> list[str]:
    """The score columns of a prepared file, in the table's order (each followed by its ``_low``/``_high``)."""
    names = [SEED_COLUMN] if all(f"2afc/{s}" in source for s in SEED_SUBSETS) else []
    subsets = [s for s in SUBSETS_2AFC if f"2afc/{s}" in source] + sorted(
        s for s in source.get("2afc", {}) if s not in SUBSETS_2AFC)
    names += ["2afc", *(f"2afc_{s}" for s in subsets)]
    if "jnd" in source:
        names += ["jnd", *(f"jnd_{s}" for s in source["jnd"])]
    return [column for name in names for column in (name, f"{name}_low", f"{name}_high")]


def compute_table(prepared: str | os.PathLike, *, rows: Sequence[Row] | None = None, seed: int = 0,
                  n_seeds: int = 1, batch_size: int = 64, device: str | torch.device = "auto",
                  weights_sources: Mapping[str, str] | None = None, resamples: int = RESAMPLES,
                  progress: bool = True) -> pd.DataFrame:
    """The seed-003 table: one row per :class:`Row` (default :func:`table_rows`), its identity, scores with 95%
    bootstrap intervals, and the seed's reported number (``reported``, ``reported_as``, ``reported_source``).

    ``weights_sources`` maps a weights variant to what is loaded for it (``{"imagenet": "random"}``: an offline
    stand-in, flagged in ``weights_source``); scores of a stand-in are not the variant's.
    """
    prepared = Path(prepared)
    rows = list(table_rows() if rows is None else rows)
    labels = [row.label for row in rows]
    if len(set(labels)) != len(labels):
        raise ValueError(f"seed003 table rows must have distinct labels, got duplicates in {labels}")
    distances = row_distances(prepared, rows, seed=seed, n_seeds=n_seeds, batch_size=batch_size, device=device,
                              weights_sources=weights_sources, progress=progress)
    sources = dict(weights_sources or {})
    records = []
    with h5py.File(prepared, "r") as source:
        columns = score_columns(source)
        for row in rows:
            identity = {
                "label": row.label, "arch": row.arch or "-", "weights": row.weights or "none",
                "weights_source": sources.get(row.weights, row.weights) if row.weights else "none",
                "layers": " ".join(row.layers) or "-", "distance": row.distance,
                "input": row.normalize_input,
                "layer_reduction": row.layer_reduction if row.arch else "-",
                "redraw": row.redraw, "n_seeds": n_seeds if row.weights in ("random", *INITIALIZERS) else 1,
                "options": ", ".join(f"{k}={v}" for k, v in row.options), "note": row.note,
            }
            scores = score_row(source, distances[row.label], seed, resamples)
            records.append({**identity, **{c: scores.get(c, float("nan")) for c in columns},
                            "reported": row.reported, "reported_as": row.reported_as,
                            "reported_source": SOURCE if row.reported_as else ""})
    return pd.DataFrame.from_records(records)


# --------------------------------------------------------------------------------------------------- figure


def render_table_figure(table: pd.DataFrame, path: str | os.PathLike, column: str = SEED_COLUMN) -> list[Path]:
    """Dot plot of ``column`` (default: the seed's pooled cnn + traditional 2AFC) per row with its 95% interval,
    and the seed's reported number as a red cross where it has one. PNG and PDF."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if column not in table:
        raise ValueError(f"the table has no column {column!r} (score columns: "
                         f"{', '.join(c for c in table.columns if c.startswith(('2afc', 'jnd')))})")
    n = len(table)
    y = np.arange(n)[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.24 * n + 1.4), layout="constrained")
    value, low, high = (table[c].to_numpy(dtype=float) for c in (column, f"{column}_low", f"{column}_high"))
    ax.errorbar(value, y, xerr=[value - low, high - value], fmt="o", ms=3.5, color="#1f4e79", ecolor="#7f9fbf",
                capsize=2, label="lossnet (95% bootstrap interval)")
    reported = table["reported"].to_numpy(dtype=float)
    shown = ~np.isnan(reported)
    ax.scatter(reported[shown], y[shown], marker="x", color="#c00000", s=28, zorder=3, label="seed 003 reports")
    names = [label + (" *" if source not in (weights, "none") else "")
             for label, source, weights in zip(table["label"], table["weights_source"], table["weights"])]
    ax.set_yticks(y, names, fontsize=7)
    ax.set_xlabel(f"{column.replace('_', ' ')} (agreement with people)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    if any(name.endswith(" *") for name in names):
        ax.set_title("* weights replaced by an offline stand-in: not the named variant's score", fontsize=7)
    return save_figure(fig, path, ("png", "pdf"), dpi=150)


def run(prepared: str | os.PathLike, table: str | os.PathLike, figure: str | os.PathLike, **settings) -> pd.DataFrame:
    """:func:`compute_table`, written to ``table`` (CSV) and drawn to ``figure`` (PNG + PDF)."""
    result = compute_table(prepared, **settings)
    write_csv(result, table, float_format="%.6g")
    render_table_figure(result, figure)
    return result


__all__ = ["REPORTED", "Row", "SEED_COLUMN", "compute_table", "render_table_figure", "row_distances", "run",
           "score_row", "table_rows"]
