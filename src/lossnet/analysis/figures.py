"""The paper's figures (2-5) and a score heatmap, drawn with seaborn on matplotlib ``Figure`` objects (no pyplot,
so no backend or global state is touched). Each figure has one panel per benchmark present in the scores;
absent benchmarks are omitted, never drawn empty. :func:`lossnet.analysis.labels.figure_names` says which
figures a config yields; a benchmark's own figures are a figure kind of :data:`KINDS` applied to it (registry).
"""

from __future__ import annotations

import functools
import math
import warnings
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import MatplotlibDeprecationWarning
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from .._util import atomic_output
from ..benchmarks import BENCHMARKS
from ..zoo import LAYER_LABELS as LAYER_ORDER
from .labels import arch_label, benchmark_label, metric_label
from .rank import best_layers
from .tables import benchmarks_in, correlate, figure_metric, metric_order, networks, upper_frontier

_MARKERS = "osD^vPX<>p*h"


def _style() -> dict:
    return {**sns.axes_style("whitegrid"), **sns.plotting_context("paper", font_scale=1.35)}


def _panels(count: int, width: float, height: float, legend: int = 0) -> tuple[Figure, list[Axes]]:
    """A grid of ``count`` panels of ``width`` x ``height`` inches, plus room on the right for a legend of
    ``legend`` entries (one column)."""
    if count == 0:
        raise ValueError("nothing to draw: the scores have no loss-network rows for this figure")
    columns = 2 if count == 4 else min(count, 3)
    rows = math.ceil(count / columns)
    size = (width * columns + (2.6 if legend else 0), max(height * rows, 0.3 * legend + 0.9))
    figure = Figure(figsize=size, layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for extra in axes[count:]:
        figure.delaxes(extra)
    return figure, list(axes[:count])


def _arch_styles(archs: Sequence[str]) -> dict[str, tuple]:
    colours = sns.color_palette("tab20", 20) if len(archs) <= 20 else sns.color_palette("husl", len(archs))
    return {arch: (colours[i % len(colours)], _MARKERS[i % len(_MARKERS)]) for i, arch in enumerate(archs)}


def _arch_legend(figure: Figure, styles: dict[str, tuple], extra: Sequence[Line2D] = ()) -> None:
    handles = [Line2D([], [], color=c, marker=m, linestyle="", markersize=7, label=arch_label(a))
               for a, (c, m) in styles.items()]
    figure.legend(handles=[*handles, *extra], title="Architecture", loc="outside right center", frameon=False)


def _error_bars(ax: Axes, x, rows: pd.DataFrame, colour, **style) -> None:
    """Vertical bars from ``ci_low`` to ``ci_high`` (95% bootstrap interval) at ``x``, where rows have them."""
    if "ci_low" not in rows or rows["ci_low"].isna().all():
        return
    x, value = np.asarray(x, dtype=float), rows["value"].to_numpy(dtype=float)
    low, high = rows["ci_low"].to_numpy(dtype=float), rows["ci_high"].to_numpy(dtype=float)
    keep = np.isfinite(low) & np.isfinite(high)
    ax.errorbar(x[keep], value[keep], yerr=[value[keep] - low[keep], high[keep] - value[keep]], fmt="none",
                ecolor=colour, elinewidth=1.0, capsize=2.5, alpha=0.8, **style)


def _interval_note(figure: Figure, rows: pd.DataFrame) -> None:
    if "ci_low" in rows and rows["ci_low"].notna().any():
        # Below the figure's bottom edge (the tight bounding box grows to keep it), under the axis labels.
        figure.text(0.0, -0.02, "Error bars: 95% bootstrap intervals over the benchmark's items.", fontsize=9,
                    color="0.35", ha="left", va="top")


def _layer_position(layers: pd.Series) -> pd.Series:
    return layers.map({label: i for i, label in enumerate(LAYER_ORDER)})


def fig2_layers(scores: pd.DataFrame, attributes: pd.DataFrame | None = None) -> Figure:
    """Figure 2: one panel per benchmark, its figure metric per layer E..L, a line per architecture."""
    rows = networks(scores)
    rows = rows[rows["layer"].isin(LAYER_ORDER)]
    styles = _arch_styles(sorted(rows["arch"].unique()))
    benchmarks = benchmarks_in(rows)
    figure, axes = _panels(len(benchmarks), 4.6, 4.0, len(styles))
    for ax, benchmark in zip(axes, benchmarks):
        metric = figure_metric(rows, benchmark)
        data = rows[(rows["benchmark"] == benchmark) & (rows["metric"] == metric)]
        offsets = dict(zip(styles, np.linspace(-0.12, 0.12, len(styles))))  # bars side by side, not on top
        for arch, group in data.assign(x=_layer_position(data["layer"])).sort_values("x").groupby("arch"):
            colour, marker = styles[arch]
            ax.plot(group["x"] + offsets[arch], group["value"], color=colour, marker=marker, linewidth=1.4,
                    markersize=6)
            _error_bars(ax, group["x"] + offsets[arch], group, colour)
        ax.set_xticks(range(len(LAYER_ORDER)), LAYER_ORDER)
        ax.set(xlabel="Extraction layer (early → late)", ylabel=metric_label(benchmark, metric),
               title=benchmark_label(benchmark))
    _arch_legend(figure, styles)
    _interval_note(figure, rows)
    return figure


def layer_boxes(scores: pd.DataFrame, attributes: pd.DataFrame | None, benchmark: str) -> Figure:
    """A benchmark's scores grouped by layer, one panel per metric (box per layer, a point per arch); Figure 3."""
    rows = networks(scores)
    rows = rows[(rows["benchmark"] == benchmark) & rows["layer"].isin(LAYER_ORDER)]
    if rows.empty:
        raise ValueError(f"a figure of {benchmark} scores grouped by layer needs {benchmark} scores; there are none")
    styles = _arch_styles(sorted(rows["arch"].unique()))
    metrics = metric_order(benchmark, rows["metric"])
    figure, axes = _panels(len(metrics), 4.4, 3.8, len(styles))
    for ax, metric in zip(axes, metrics):
        data = rows[rows["metric"] == metric]
        with warnings.catch_warnings():  # seaborn 0.13 passes matplotlib 3.11's deprecated `vert`
            warnings.simplefilter("ignore", MatplotlibDeprecationWarning)
            sns.boxplot(data=data, x="layer", y="value", order=list(LAYER_ORDER), color="0.88", showfliers=False,
                        width=0.55, ax=ax)
        offsets = np.linspace(-0.2, 0.2, len(styles))
        for (arch, (colour, marker)), offset in zip(styles.items(), offsets):
            points = data[data["arch"] == arch]
            ax.scatter(_layer_position(points["layer"]) + offset, points["value"], color=colour, marker=marker,
                       s=30, zorder=3, edgecolor="white", linewidth=0.4)
            _error_bars(ax, _layer_position(points["layer"]) + offset, points, colour, zorder=2)
        ax.set(xlabel="Extraction layer (early → late)", ylabel=metric_label(benchmark, metric))
    _arch_legend(figure, styles)
    _interval_note(figure, rows)
    return figure


def flops_scatter(scores: pd.DataFrame, attributes: pd.DataFrame, benchmark: str) -> Figure:
    """A benchmark's scores against the MFLOPS up to the layer (log-scale axis), coloured by layer; Figure 4."""
    rows = networks(scores)
    rows = rows[(rows["benchmark"] == benchmark) & rows["layer"].isin(LAYER_ORDER)]
    if rows.empty:
        raise ValueError(f"a figure of {benchmark} scores against MFLOPS needs {benchmark} scores; there are none")
    data = rows.merge(attributes[["arch", "layer", "mflops_to_layer"]], on=["arch", "layer"], how="left")
    data["log_mflops"] = np.log10(data["mflops_to_layer"].where(data["mflops_to_layer"] > 0))
    metrics = metric_order(benchmark, data["metric"])
    figure, axes = _panels(len(metrics), 4.6, 3.8, len(LAYER_ORDER) + 1)
    palette = dict(zip(LAYER_ORDER, sns.color_palette("viridis", len(LAYER_ORDER))))
    markers = dict(zip(LAYER_ORDER, "oXsP"))
    for ax, metric in zip(axes, metrics):
        panel = data[data["metric"] == metric].dropna(subset=["log_mflops", "value"])
        for layer, points in panel.groupby("layer"):
            _error_bars(ax, points["mflops_to_layer"], points, palette.get(layer, "0.5"), zorder=1)
        sns.scatterplot(data=panel, x="mflops_to_layer", y="value", hue="layer", style="layer",
                        hue_order=LAYER_ORDER, palette=palette, markers=markers, s=55, ax=ax, legend=False)
        ax.set_xscale("log")
        stats = correlate(panel["log_mflops"], panel["value"])
        ax.set_title(f"Spearman ρ = {stats['spearman']:.2f} (n = {stats['n']})")
        ax.set(xlabel="", ylabel=metric_label(benchmark, metric))
    figure.supxlabel("MFLOPS up to the extraction layer (224×224 input, log scale)")
    handles = [Line2D([], [], color=palette[l], marker=markers[l], linestyle="", markersize=7, label=l)
               for l in LAYER_ORDER]
    figure.legend(handles=handles, title="Layer", loc="outside right center", frameon=False)
    return figure


def fig5_imagenet(scores: pd.DataFrame, attributes: pd.DataFrame) -> Figure:
    """Figure 5 (Kumar et al.'s view): each arch's best-layer score against ImageNet top-1, with the upper frontier."""
    best = best_layers(networks(scores))
    top1 = attributes.groupby("arch")["imagenet_top1"].first()
    best["top1"] = best["arch"].map(top1)
    best = best.dropna(subset=["top1", "value"])
    if best.empty:
        raise ValueError("figure fig5_imagenet needs ImageNet top-1 accuracies (attributes' imagenet_top1); none found")
    styles = _arch_styles(sorted(best["arch"].unique()))
    benchmarks = benchmarks_in(best)
    figure, axes = _panels(len(benchmarks), 4.6, 3.8, len(styles) + 1)
    for ax, benchmark in zip(axes, benchmarks):
        metric = figure_metric(best, benchmark)
        data = best[(best["benchmark"] == benchmark) & (best["metric"] == metric)]
        oriented = data["value"] if data["higher_is_better"].all() else -data["value"]
        front = data[upper_frontier(data["top1"], oriented)].sort_values("top1")
        ax.plot(front["top1"], front["value"], color="0.35", linestyle="--", linewidth=1.2, zorder=1)
        for _, row in data.iterrows():
            colour, marker = styles[row["arch"]]
            ax.scatter(row["top1"], row["value"], color=colour, marker=marker, s=55, zorder=2)
            _error_bars(ax, [row["top1"]], data.loc[[row.name]], colour, zorder=1)
        stats = correlate(data["top1"], data["value"])
        ax.set_title(f"{benchmark_label(benchmark)}\nSpearman ρ = {stats['spearman']:.2f} "
                     f"(n = {stats['n']})")
        ax.set(xlabel="ImageNet top-1 accuracy (%, torchvision)", ylabel=f"{metric_label(benchmark, metric)}, best layer")
    _arch_legend(figure, styles, [Line2D([], [], color="0.35", linestyle="--", label="Upper frontier")])
    if "weights" in scores and set(scores["weights"]) <= {"random", "none"}:  # the accuracy is the pretrained one
        figure.suptitle("Random weights: scores of untrained networks against the accuracy of the pretrained ones; "
                        "no relation is expected", color="#a94400", fontsize=10)
    _interval_note(figure, best)
    return figure


def heatmap(scores: pd.DataFrame, attributes: pd.DataFrame | None = None) -> Figure:
    """Heatmap per benchmark of its figure metric, architecture x layer, best layer of each row boxed."""
    rows = networks(scores)
    rows = rows[rows["layer"].isin(LAYER_ORDER)]
    benchmarks = benchmarks_in(rows)
    archs = sorted(rows["arch"].unique(), key=arch_label)
    figure, axes = _panels(len(benchmarks), 4.8, 0.32 * len(archs) + 1.6)
    for ax, benchmark in zip(axes, benchmarks):
        metric = figure_metric(rows, benchmark)
        data = rows[(rows["benchmark"] == benchmark) & (rows["metric"] == metric)]
        grid = data.pivot_table(index="arch", columns="layer", values="value").reindex(
            index=[a for a in archs if a in set(data["arch"])], columns=list(LAYER_ORDER))
        higher = bool(data["higher_is_better"].all())
        digits = 1 if grid.abs().max().max() >= 10 else 3
        sns.heatmap(grid.rename(index=arch_label), annot=True, fmt=f".{digits}f", cmap="viridis" if higher else
                    "viridis_r", ax=ax, cbar_kws={"label": metric_label(benchmark, metric)}, annot_kws={"size": 8.5})
        for row, values in enumerate(grid.to_numpy()):
            if np.isfinite(values).any():
                column = int(np.nanargmax(values) if higher else np.nanargmin(values))
                ax.add_patch(Rectangle((column, row), 1, 1, fill=False, edgecolor="red", linewidth=2))
        ax.set(xlabel="Extraction layer", ylabel="", title=benchmark_label(benchmark))
        ax.tick_params(axis="y", rotation=0)
    return figure


KINDS = {"layer_boxes": layer_boxes, "flops_scatter": flops_scatter}
FIGURES: dict[str, Callable[[pd.DataFrame, pd.DataFrame], Figure]] = {
    "fig2_layers": fig2_layers, "fig5_imagenet": fig5_imagenet, "heatmap": heatmap,
    **{figure.name: functools.partial(KINDS[figure.kind], benchmark=name)
       for name, entry in BENCHMARKS.items() for figure in entry.figures},
}


def write_figures(scores: pd.DataFrame, attributes: pd.DataFrame, names: Iterable[str], weights: Iterable[str],
                  outdir: Path | str, dpi: int = 150) -> list[Path]:
    """Draw each named figure per weights variant to ``outdir/{weights}/{name}.png`` and ``.pdf``."""
    written = []
    for variant in weights:
        subset = scores[scores["weights"] == variant]
        if subset.empty:
            raise ValueError(f"no scores for weights {variant!r} (present: {sorted(set(scores['weights']))})")
        for name in names:
            if name not in FIGURES:
                raise ValueError(f"unknown figure {name!r} (known: {list(FIGURES)})")
            folder = Path(outdir) / variant
            folder.mkdir(parents=True, exist_ok=True)
            with sns.axes_style(_style()), sns.plotting_context(_style()):
                figure = FIGURES[name](subset, attributes)
                for extension in ("png", "pdf"):
                    with atomic_output(folder / f"{name}.{extension}") as partial:
                        figure.savefig(partial, format=extension, dpi=dpi, bbox_inches="tight")
                    written.append(folder / f"{name}.{extension}")
    return written
