"""The Kumar study's figures (a) to (g), each a PNG and the CSV of exactly what it plots.

(a) ``kumar_accuracy``: top-1 against best-stage PS (lpips), the upper frontier and the reference lines;
(b) ``kumar_distances``: the same per distance (local, mean-pool, style), and calibrated LPIPS (``lpips_lin``, one
PS a network over all its stages) when the study fits it; (c) ``kumar_sensitivity``: distortion
sensitivity (relative margin on unanimous triplets) against PS; (d) ``kumar_depth``: PS per stage across depths;
(e) ``kumar_subsets``: the "distortions" subsets against the "real algorithms" subsets; (f) ``kumar_versions``:
one weights variant against another per architecture (V1 -> V2); (g) ``kumar_ceiling``: PS's dynamic range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .._util import atomic_output  # noqa: E402
from .kumar import DISTANCE_NAMES, REFERENCES, SUBSET_GROUPS, best_stages, upper_frontier  # noqa: E402

FIGURES = ("kumar_accuracy", "kumar_distances", "kumar_sensitivity", "kumar_depth", "kumar_subsets",
           "kumar_versions", "kumar_ceiling")


def _save(figure: plt.Figure, frame: pd.DataFrame, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_output(folder / f"{name}.png", suffix=".partial.png") as partial:
        figure.savefig(partial, dpi=110, bbox_inches="tight")
    plt.close(figure)
    with atomic_output(folder / f"{name}.csv") as partial:
        frame.to_csv(partial, index=False)


def _note(random: bool) -> str:
    return " (RANDOM weights: top-1 is the architecture's trained entry, not this network's)" if random else ""


def _references(axis: plt.Axes, vertical: bool = False) -> None:
    for (label, value), style in zip(REFERENCES.items(), (":", "--", "-.")):
        (axis.axvline if vertical else axis.axhline)(value, color="grey", linestyle=style, linewidth=1, label=label)


def _accuracy_panel(axis: plt.Axes, best: pd.DataFrame, title: str,
                    ylabel: str = "best-stage PS (2AFC x 100)") -> pd.DataFrame:
    x, y = best["imagenet_top1"].to_numpy(float), best["ps"].to_numpy(float)
    axis.scatter(x, y, s=18)
    for _, row in best.iterrows():
        axis.annotate(row["arch"], (row["imagenet_top1"], row["ps"]), fontsize=6, alpha=0.7)
    frontier = upper_frontier(x, y) if len(best) else np.array([], dtype=int)
    axis.plot(x[frontier], y[frontier], color="C3", label="upper frontier")
    _references(axis)
    axis.set(xlabel="ImageNet top-1 (%)", ylabel=ylabel, title=title)
    return best.assign(on_frontier=np.isin(np.arange(len(best)), frontier))


def _with_meta(best: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    return best.merge(models[["arch", "weights", "imagenet_top1", "gflops", "params"]], on=["arch", "weights"],
                      how="left").reset_index(drop=True)


def figure_accuracy(scores, models, sensitivity, ceiling, pair, depth_series, folder, random) -> None:
    best = _with_meta(best_stages(scores), models)
    lpips = best[best["distance"] == "lpips"].reset_index(drop=True)
    figure, axis = plt.subplots(figsize=(7, 5))
    frame = _accuracy_panel(axis, lpips, "(a) accuracy vs best-stage PS" + _note(random))
    axis.legend(fontsize=7)
    _save(figure, frame, folder, "kumar_accuracy")


def figure_distances(scores, models, sensitivity, ceiling, pair, depth_series, folder, random) -> None:
    best = _with_meta(best_stages(scores), models)
    names = [d for d in DISTANCE_NAMES if d in set(best["distance"])]
    # calibrated LPIPS has one PS per network (its channel weights span every map tap): the stage "all" rows
    calibrated = _with_meta(scores[(scores["distance"] == "lpips_lin") & (scores["subset"] == "")], models)
    panels = len(names) + (len(calibrated) > 0)
    figure, axes = plt.subplots(1, max(panels, 1), figsize=(5 * max(panels, 1), 4.5), squeeze=False)
    frames = [_accuracy_panel(axis, best[best["distance"] == name].reset_index(drop=True),
                              f"(b) {DISTANCE_NAMES[name]}") for axis, name in zip(axes[0], names)]
    if len(calibrated):
        frames.append(_accuracy_panel(axes[0][len(names)], calibrated, "(b) calibrated (lpips_lin, all stages)",
                                      ylabel="PS (2AFC x 100)"))
    axes[0][0].legend(fontsize=7)
    figure.suptitle("Best-stage PS per distance" + _note(random), fontsize=9)
    _save(figure, pd.concat(frames, ignore_index=True) if frames else best, folder, "kumar_distances")


def figure_sensitivity(scores, models, sensitivity, ceiling, pair, depth_series, folder, random) -> None:
    best = best_stages(scores)
    frame = best.merge(sensitivity.rename(columns={"layer": "layer"}), on=["weights", "size", "arch", "distance",
                                                                           "layer"], how="inner")
    figure, axis = plt.subplots(figsize=(7, 5))
    for name, group in frame.groupby("distance"):
        axis.scatter(group["relative_margin"], group["ps"], s=18, label=DISTANCE_NAMES.get(name, name))
    axis.set(xlabel="distortion sensitivity: relative margin on unanimous triplets", ylabel="best-stage PS",
             title="(c) sensitivity vs PS" + _note(random))
    axis.legend(fontsize=7)
    _save(figure, frame, folder, "kumar_sensitivity")


def figure_depth(scores, models, sensitivity, ceiling, pair, depth_series, folder, random) -> None:
    rows = scores[(scores["subset"] == "") & (scores["distance"] == "lpips") & (scores["stage"].str.isdigit())]
    series = {name: [a for a in archs if a in set(rows["arch"])] for name, archs in depth_series.items()}
    series = {name: archs for name, archs in series.items() if archs}
    figure, axes = plt.subplots(1, max(len(series), 1), figsize=(5 * max(len(series), 1), 4), squeeze=False)
    frames = []
    for axis, (name, archs) in zip(axes[0], series.items()):
        for arch in archs:
            for (weights, size), line in rows[rows["arch"] == arch].groupby(["weights", "size"]):
                stage = line["stage"].astype(int)
                axis.plot(stage, line["ps"], marker="o", label=f"{arch} {weights} {size}px")
                frames.append(line.assign(series=name))
        axis.set(xlabel="stage (shallow -> deep)", ylabel="PS (lpips)", title=f"(d) {name}")
        axis.legend(fontsize=6)
    figure.suptitle("PS per stage across depths" + _note(random), fontsize=9)
    _save(figure, pd.concat(frames, ignore_index=True) if frames else rows.head(0), folder, "kumar_depth")


def figure_subsets(scores, models, sensitivity, ceiling, pair, depth_series, folder, random) -> None:
    groups = list(SUBSET_GROUPS)
    best = {group: best_stages(scores, group) for group in groups}
    frame = best[groups[0]].merge(best[groups[1]], on=["weights", "size", "arch", "distance"],
                                  suffixes=("_distortions", "_real"))
    frame = frame[frame["distance"] == "lpips"]
    figure, axis = plt.subplots(figsize=(6, 5))
    axis.scatter(frame["ps_distortions"], frame["ps_real"], s=18)
    for _, row in frame.iterrows():
        axis.annotate(row["arch"], (row["ps_distortions"], row["ps_real"]), fontsize=6, alpha=0.7)
    axis.set(xlabel=f"best-stage PS on {groups[0]} ({', '.join(SUBSET_GROUPS[groups[0]])})",
             ylabel=f"best-stage PS on {groups[1]} ({', '.join(SUBSET_GROUPS[groups[1]])})",
             title="(e) distortions vs real algorithms" + _note(random))
    _save(figure, frame, folder, "kumar_subsets")


def figure_versions(scores, models, sensitivity, ceiling, pair, depth_series, folder, random) -> None:
    best = _with_meta(best_stages(scores), models)
    best = best[best["distance"] == "lpips"]
    first, second = (best[best["weights"] == variant] for variant in pair)
    frame = first.merge(second, on=["size", "arch", "distance"], suffixes=(f"_{pair[0]}", f"_{pair[1]}"))
    figure, axis = plt.subplots(figsize=(7, 5))
    for _, row in frame.iterrows():
        start = (row[f"imagenet_top1_{pair[0]}"], row[f"ps_{pair[0]}"])
        end = (row[f"imagenet_top1_{pair[1]}"], row[f"ps_{pair[1]}"])
        axis.annotate("", end, start, arrowprops={"arrowstyle": "->", "color": "C0"})
        axis.annotate(row["arch"], end, fontsize=6, alpha=0.7)
        axis.scatter(*zip(start, end), s=10, c=["C0", "C3"])
    axis.set(xlabel="ImageNet top-1 (%)", ylabel="best-stage PS (lpips)",
             title=f"(f) {pair[0]} -> {pair[1]} per architecture" + _note(random))
    axis.autoscale()
    _save(figure, frame, folder, "kumar_versions")


def figure_ceiling(scores, models, sensitivity, ceiling, pair, depth_series, folder, random) -> None:
    figure, axis = plt.subplots(figsize=(6, 4.5))
    for subset, group in ceiling.groupby("subset", sort=False):
        axis.plot(group["sigma"], group["ps"], marker="o" if subset == "" else None,
                  linewidth=2.5 if subset == "" else 0.8, label=subset or "all 2AFC (mean of subsets)")
    _references(axis)
    axis.axhline(50, color="black", linewidth=0.5)
    axis.set(xlabel="noise sigma of the simulated distances", ylabel="PS (2AFC x 100)",
             title="(g) PS's dynamic range: binarised human judgements (sigma 0 = ceiling)")
    axis.legend(fontsize=6)
    _save(figure, ceiling, folder, "kumar_ceiling")


DRAW: Mapping[str, Callable] = dict(zip(FIGURES, (figure_accuracy, figure_distances, figure_sensitivity,
                                                  figure_depth, figure_subsets, figure_versions, figure_ceiling)))


def write_figures(scores: pd.DataFrame, models: pd.DataFrame, sensitivity: pd.DataFrame, ceiling: pd.DataFrame,
                  pair: Sequence[str], depth_series: Mapping[str, Sequence[str]], folder: Path | str) -> list[Path]:
    """Draw (a) to (g) into ``folder`` (``<name>.png`` and ``<name>.csv`` each); return the PNG paths."""
    folder = Path(folder)
    scores = scores.assign(stage=scores["stage"].astype(str), subset=scores["subset"].fillna(""))
    ceiling = ceiling.assign(subset=ceiling["subset"].fillna(""))
    random = bool(scores["weights"].astype(str).str.startswith("random").all())
    for draw in DRAW.values():
        draw(scores, models, sensitivity, ceiling, list(pair), depth_series, folder, random)
    return [folder / f"{name}.png" for name in FIGURES]
