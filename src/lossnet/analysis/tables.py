"""The analysis beyond the rankings: best layers (Table IV), how often each layer wins, correlations of the scores
with the architectures' attributes, agreement of the benchmarks, and the loss network to use for a task.

Every function works on whatever benchmarks, metrics and weights variants the scores hold (scores schema of
:mod:`lossnet.benchmarks.scores`); attributes are the per-layer tables of :mod:`lossnet.attributes` (one row per arch and layer).
Reference rows (weights ``none``: pixel distances and baselines, layer ``-``) have no layer or attributes: they are
left out of everything here except the rankings table they come with.
"""

from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from ..benchmarks import BENCHMARKS, benchmark_order
from ..benchmarks.scores import REFERENCE_LAYER, REFERENCE_WEIGHTS
from ..zoo import LAYER_LABELS
from .rank import architectures, best_layers, headline, ranked_benchmarks, would_be_rank

ARCH_ATTRIBUTES = ("imagenet_top1", "depth_total", "mflops_total", "params_total")
LAYER_ATTRIBUTES = ("params_to_layer", "params_fraction", "mflops_to_layer", "depth_to_layer", "channels")
GROUP = ["weights", "benchmark", "metric"]
CORRELATION_COLUMNS = ["analysis", "weights", "benchmark", "metric", "layer", "variable", "n",
                       "spearman", "spearman_p", "pearson", "pearson_p", "p_method"]
EXACT_BELOW = 10  # fewer points than this: exact permutation p-values (every pairing), not the asymptotic ones
EXACT = "exact permutation"
MONTE_CARLO = "permutation (9999 seeded resamples)"  # 8 or 9 points: 8! and 9! pairings take seconds per test
EXACT_UP_TO = 7
ASYMPTOTIC = "asymptotic"


def read_attributes(paths: Iterable[Path | str]) -> pd.DataFrame:
    """Concatenate attribute CSVs (``results/attributes/{arch}.csv``), checking the columns the analysis uses."""
    frames = []
    for path in paths:
        frame = pd.read_csv(path)
        missing = [c for c in ("arch", "layer", *ARCH_ATTRIBUTES, *LAYER_ATTRIBUTES) if c not in frame.columns]
        if missing:
            raise ValueError(f"{path} is not an attributes file: missing columns {missing}")
        frames.append(frame)
    if not frames:
        raise ValueError("no attribute files given")
    return pd.concat(frames, ignore_index=True)


def attribute_columns(attributes: pd.DataFrame) -> list[str]:
    """The numeric attributes present: architecture-wide, then per-layer (``features_<size>`` for each size)."""
    features = sorted((c for c in attributes.columns if c.startswith("features_")), key=lambda c: int(c.split("_")[1]))
    return [*ARCH_ATTRIBUTES, *LAYER_ATTRIBUTES, *features]


def benchmarks_in(scores: pd.DataFrame) -> list[str]:
    """The benchmarks present, in the registry's (the paper's) order, unknown ones after, alphabetically."""
    return benchmark_order(scores["benchmark"])


def figure_metric(scores: pd.DataFrame, benchmark: str) -> str:
    """The score of ``benchmark`` that the figures show: the registry's choice, else its first metric."""
    metrics = sorted(set(networks(scores).query("benchmark == @benchmark")["metric"]))
    if not metrics:
        raise ValueError(f"no {benchmark} scores")
    preferred = BENCHMARKS[benchmark].figure_metric if benchmark in BENCHMARKS else None
    return preferred if preferred in metrics else metrics[0]


def networks(scores: pd.DataFrame) -> pd.DataFrame:
    """The headline rows of loss networks: no reference rows (weights ``none``, layer ``-``)."""
    rows = headline(scores)
    return rows[(rows["weights"] != REFERENCE_WEIGHTS) & (rows["layer"].astype(str) != REFERENCE_LAYER)]


def _sorted(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Sort by ``columns``, benchmarks in the paper's order and layers E, S, M, L (other labels after)."""
    ranks = {"benchmark": {b: i for i, b in enumerate(benchmarks_in(frame))},
             "layer": {label: i for i, label in enumerate(LAYER_LABELS)}}

    def key(column: pd.Series) -> pd.Series:
        order = ranks.get(str(column.name))
        return column if order is None else column.map(lambda v: (order.get(v, len(order)), str(v)))

    return frame.sort_values(columns, key=key, kind="stable")


def _oriented(rows: pd.DataFrame) -> pd.Series:
    return rows["value"].where(rows["higher_is_better"].astype(bool), -rows["value"])


def best_layer_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Table IV: per weights, benchmark, metric and arch the best layer; ``best_overall`` marks the best arch(s)."""
    best = best_layers(networks(scores))
    oriented = _oriented(best)
    best["best_overall"] = oriented == oriented.groupby([best[c] for c in GROUP]).transform("max")
    best = _sorted(best, ["weights", "benchmark", "metric", "arch"])
    return best[[*GROUP, "arch", "layer", "value", "higher_is_better", "best_overall"]].reset_index(drop=True)


def layer_summary(best: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """How often each layer is the best, per weights and benchmark, over all (metric, arch) cells of Table IV.

    Every layer evaluated in ``scores`` is listed, with 0 where it never wins; a layer a benchmark did not
    evaluate (e.g. a demo's single super-resolution layer) is left out rather than shown as losing.
    """
    keys = ["weights", "benchmark", "layer"]
    evaluated = networks(scores)[keys].drop_duplicates()
    wins = best.groupby(keys).size().rename("n_best").reset_index()
    counts = evaluated.merge(wins, on=keys, how="left").fillna({"n_best": 0}).astype({"n_best": int})
    counts["n_cells"] = counts.groupby(["weights", "benchmark"])["n_best"].transform("sum")
    counts["share"] = counts["n_best"] / counts["n_cells"]
    return _sorted(counts, ["weights", "benchmark", "layer"]).reset_index(drop=True)


def _pearson(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    x = x - x.mean(axis=axis, keepdims=True)
    y = y - y.mean(axis=axis, keepdims=True)
    return (x * y).sum(axis=axis) / np.sqrt((x * x).sum(axis=axis) * (y * y).sum(axis=axis))


def permutation_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided permutation p-value of Pearson's r of ``x`` and ``y`` (``scipy.stats.permutation_test``,
    pairings): exact over every pairing up to :data:`EXACT_UP_TO` points, else 9999 seeded resamples.
    Spearman's is this on ranks. For n = 3 and r = 1 it is 1/3."""
    y = np.asarray(y, float)
    exact = len(y) <= EXACT_UP_TO
    # One sample: permuting x alone enumerates the n! pairings (passing y too would permute both, (n!)^2).
    result = stats.permutation_test((np.asarray(x, float),), lambda x, axis=-1: _pearson(x, y, axis),
                                    vectorized=True, permutation_type="pairings",
                                    n_resamples=np.inf if exact else 9999, alternative="two-sided", batch=50_000,
                                    rng=np.random.default_rng(0))
    return float(min(1.0, result.pvalue))


def smallest_p(n: int) -> float:
    """The smallest two-sided p-value :func:`correlate` can give for ``n`` points: 2/n! when exact (n = 3: 1/3, so
    nothing is ever significant), 2/10000 with 9999 permutations, 0 for the asymptotic p; NaN below 3 points."""
    if n < 3:
        return float("nan")
    if n <= EXACT_UP_TO:
        return min(1.0, 2 / math.factorial(n))
    return 2 / 10_000 if n < EXACT_BELOW else 0.0


def correlate(x: Iterable[float], y: Iterable[float]) -> dict[str, float]:
    """Spearman and Pearson coefficients with p-values over the pairs where both are finite (NaN when n < 3 or
    either side is constant); ``n`` is the number of pairs used. With fewer than :data:`EXACT_BELOW` pairs the
    p-values are exact permutation p-values (``p_method``), since the asymptotic ones are wrong there (n = 3,
    rho = 1 gives p = 0 asymptotically; the exact two-sided minimum is 1/3)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    result = {"n": int(keep.sum()), "spearman": np.nan, "spearman_p": np.nan, "pearson": np.nan, "pearson_p": np.nan,
              "p_method": ""}
    if len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result["spearman"], result["spearman_p"] = (float(v) for v in stats.spearmanr(x, y))
            result["pearson"], result["pearson_p"] = (float(v) for v in stats.pearsonr(x, y))
        result["p_method"] = ASYMPTOTIC
        if len(x) < EXACT_BELOW:
            result["pearson_p"] = permutation_p(x, y)
            result["spearman_p"] = permutation_p(stats.rankdata(x), stats.rankdata(y))
            result["p_method"] = EXACT if len(x) <= EXACT_UP_TO else MONTE_CARLO
    return result


def correlations(scores: pd.DataFrame, attributes: pd.DataFrame, rankings: pd.DataFrame | None = None) -> pd.DataFrame:
    """Correlation of every headline score with every attribute, across architectures.

    ``analysis == "score_vs_attribute"``: per weights, benchmark, metric and ``layer`` (E/S/M/L: that layer of
    every arch; ``best``: each arch's best layer; ``pooled``: all layers of all archs, per-layer attributes only).
    ``analysis == "benchmark_agreement"``: per weights, Spearman/Pearson of the archs' mean ranks on
    ``benchmark`` and on ``variable`` (another benchmark), from the rankings table.
    """
    attrs = attribute_columns(attributes)
    table = attributes[["arch", "layer", *attrs]]
    keys = [*GROUP, "arch", "layer", "value"]
    per_layer = networks(scores)[keys].merge(table, on=["arch", "layer"], how="left")
    best = best_layers(networks(scores))[keys].merge(table, on=["arch", "layer"], how="left").assign(layer="best")
    pooled = per_layer.assign(layer="pooled")
    rows = []
    layer_attrs = [a for a in attrs if a not in ARCH_ATTRIBUTES]
    for frame, variables in ((per_layer, attrs), (best, attrs), (pooled, layer_attrs)):
        for (weights, benchmark, metric, layer), group in frame.groupby([*GROUP, "layer"], sort=False):
            for variable in variables:
                rows.append({"analysis": "score_vs_attribute", "weights": weights, "benchmark": benchmark,
                             "metric": metric, "layer": layer, "variable": variable,
                             **correlate(group[variable], group["value"])})
    if rankings is not None:
        rows += benchmark_agreement(rankings)
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)


def benchmark_agreement(rankings: pd.DataFrame) -> list[dict]:
    """Rank agreement of the architectures between each pair of benchmarks (rows of :func:`correlations`)."""
    benchmarks = ranked_benchmarks(rankings)
    rows = []
    for weights, group in architectures(rankings).groupby("weights", sort=False):
        for a, b in itertools.combinations(benchmarks, 2):
            rows.append({"analysis": "benchmark_agreement", "weights": weights, "benchmark": a, "metric": "mean_rank",
                         "layer": "best", "variable": b, **correlate(group[a], group[b])})
    return rows


def upper_frontier(x: Iterable[float], y: Iterable[float]) -> np.ndarray:
    """Mask of the points on the upper (Pareto) frontier: no other point has both higher-or-equal x and y
    with one of them strictly higher. NaN points are never on it."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)
    mask = np.zeros(len(x), dtype=bool)
    for i in np.flatnonzero(finite):
        others = finite & (x >= x[i]) & (y >= y[i]) & ((x > x[i]) | (y > y[i]))
        mask[i] = not others.any()
    return mask


def recommend(scores: pd.DataFrame, task: str, attributes: pd.DataFrame | None = None, top: int = 5) -> pd.DataFrame:
    """The best loss networks (arch, layer, weights) for ``task`` (a benchmark): per headline metric of that
    benchmark rank every configuration (1 = best, ties averaged; reference rows left out), then sort by the mean
    rank. The cost is ``mflops_to_layer`` where attributes are given (ties in mean rank go to the cheaper one).
    Each metric's value is a column, followed by ``<metric>_low``/``<metric>_high`` (its 95% interval) where the
    scores have intervals."""
    rows = networks(scores)
    rows = rows[rows["benchmark"] == task].dropna(subset=["value"]).copy()
    if rows.empty:
        present = ", ".join(benchmarks_in(scores)) or "none"
        raise ValueError(f"no {task} scores in the results (benchmarks present: {present})")
    rows["rank"] = _oriented(rows).groupby(rows["metric"]).rank(ascending=False, method="average")
    config = ["arch", "layer", "weights"]
    table = rows.groupby(config)["rank"].agg(mean_rank="mean", n_metrics="count").reset_index()
    table = table.merge(_metric_columns(rows, config), on=config)
    if attributes is not None:
        table = table.merge(attributes[["arch", "layer", "mflops_to_layer"]], on=["arch", "layer"], how="left")
    else:
        table["mflops_to_layer"] = np.nan
    table = table.sort_values(["mean_rank", "mflops_to_layer", *config], na_position="last")
    front = ["arch", "layer", "weights", "mean_rank", "n_metrics", "mflops_to_layer"]
    return table[front + [c for c in table.columns if c not in front]].head(top).reset_index(drop=True)


def _metric_columns(rows: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """One column per metric (registry order) with its value, then ``_low``/``_high`` where intervals exist."""
    metrics = [m for b in benchmarks_in(rows) for m in metric_order(b, rows.loc[rows["benchmark"] == b, "metric"])]
    table = rows.pivot_table(index=index, columns="metric", values="value").reindex(columns=metrics)
    names = list(metrics)
    for bound, suffix in (("ci_low", "_low"), ("ci_high", "_high")):
        if bound in rows and rows[bound].notna().any():
            limits = rows.pivot_table(index=index, columns="metric", values=bound, dropna=False)
            table = table.join(limits.reindex(columns=metrics).add_suffix(suffix))
    if len(table.columns) > len(names):
        table = table[[f"{m}{s}" for m in metrics for s in ("", "_low", "_high") if f"{m}{s}" in table.columns]]
    return table.rename_axis(columns=None).reset_index()


def metric_order(benchmark: str, present: Iterable[str]) -> list[str]:
    """The metrics present, in the registry's order, unknown ones after (alphabetically)."""
    present = set(present)
    known = [m.name for m in BENCHMARKS[benchmark].metrics] if benchmark in BENCHMARKS else []
    return [m for m in known if m in present] + sorted(present - set(known))


def recommend_references(scores: pd.DataFrame, task: str) -> pd.DataFrame:
    """The network-free references of ``task`` (weights ``none``), best first, each with the mean rank it would
    take among the loss-network configurations that :func:`recommend` ranks (per metric: 1 + the configurations
    better + half those tied), which moves none of them. Empty when the task has no references."""
    rows = headline(scores)
    rows = rows[(rows["benchmark"] == task)].dropna(subset=["value"])
    refs = rows[rows["weights"] == REFERENCE_WEIGHTS]
    nets = networks(rows)
    out = []
    for arch, group in refs.groupby("arch", sort=False):
        ranks, values = [], {}
        for ref in group.itertuples():
            others = nets[nets["metric"] == ref.metric]
            ranks.append(would_be_rank(_oriented(group.loc[[ref.Index]]).item(), _oriented(others).to_numpy()))
            values[ref.metric] = ref.value
        out.append({"arch": arch, "network_free": True, "mean_rank": float(np.mean(ranks)),
                    "n_metrics": len(ranks), **values})
    columns = ["arch", "network_free", "mean_rank", "n_metrics"]
    table = pd.DataFrame(out, columns=columns + sorted({k for row in out for k in row} - set(columns)))
    return table.sort_values(["mean_rank", "arch"]).reset_index(drop=True)
