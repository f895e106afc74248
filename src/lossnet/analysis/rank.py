"""Tidy scores and the paper's rankings (Table III).

Scores schema: :mod:`lossnet.benchmarks.scores`. Rows with a
non-empty ``subset`` are breakdowns of a headline metric (2AFC per BAPPS subset) and are not ranked; rows with
``layer == "all"`` (summed distances over all layers) are reported but not ranked either, since the paper
ranks architectures by their best single extraction layer. Where a ``distance`` column says how features were
compared, only the primary distance (the paper's: lpips) is ranked; the others are compared in their own table.
Reference rows (``weights == "none"``: network-free distances and baselines such as pixel MSE) are ranked beside
the architectures of every weights variant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from .._util import write_csv
from ..benchmarks import benchmark_order
from ..zoo import LAYER_LABELS
from ..benchmarks.scores import ALL_LAYERS, REFERENCE_WEIGHTS, read_scores

PRIMARY_DISTANCE = "lpips"
# The columns of a rankings table that are not a benchmark's mean rank.
RANKING_COLUMNS = ("weights", "arch", "overall", "n_benchmarks", "position")  # where rows name how features were compared, the paper's distance is ranked


def _column(scores: pd.DataFrame, name: str) -> pd.Series:
    return scores[name].fillna("").astype(str) if name in scores else pd.Series("", index=scores.index)


def headline(scores: pd.DataFrame, distance: str = PRIMARY_DISTANCE) -> pd.DataFrame:
    """The rows that take part in rankings: no subset breakdowns, no all-layer sums, the ranked ``distance``
    (config ``similarity.rank_distance``)."""
    keep = (scores["layer"].astype(str) != ALL_LAYERS) & (_column(scores, "subset") == "")
    compared = _column(scores, "distance")
    keep &= compared.isin(["", distance]) | (scores["weights"] == REFERENCE_WEIGHTS)
    return scores[keep]


def with_references(scores: pd.DataFrame) -> pd.DataFrame:
    """Copy reference rows (weights "none") into every weights variant, so each variant ranks them too."""
    references = scores[scores["weights"] == REFERENCE_WEIGHTS]
    variants = [w for w in scores["weights"].unique() if w != REFERENCE_WEIGHTS] or [REFERENCE_WEIGHTS]
    own = scores[scores["weights"] != REFERENCE_WEIGHTS]
    return pd.concat([own] + [references.assign(weights=variant) for variant in variants], ignore_index=True)


def best_layers(scores: pd.DataFrame, distance: str = PRIMARY_DISTANCE) -> pd.DataFrame:
    """Per (weights, benchmark, metric, arch): the best extraction layer and its value (Table IV)."""
    rows = with_references(headline(scores, distance))
    rows["oriented"] = rows["value"].where(rows["higher_is_better"], -rows["value"])
    # On a tie the earlier layer wins (E before S, M, L), as the cheaper loss network.
    order = {label: i for i, label in enumerate(LAYER_LABELS)}
    rows = rows.dropna(subset=["oriented"]).sort_values(
        "layer", kind="stable", key=lambda layers: layers.map(lambda layer: order.get(layer, len(order)))
    )
    best = rows.loc[rows.groupby(["weights", "benchmark", "metric", "arch"], sort=False)["oriented"].idxmax()]
    return best.drop(columns="oriented").sort_values(["weights", "benchmark", "metric", "arch"]).reset_index(drop=True)


def rank(scores: pd.DataFrame, distance: str = PRIMARY_DISTANCE) -> pd.DataFrame:
    """The paper's ranking: per metric rank each architecture's best layer (ties averaged, 1 = best), average
    the ranks over each benchmark's metrics, then average the benchmarks (each weighted equally).

    One row per (weights, arch) with a column of mean rank per benchmark present, ``overall`` and
    ``position`` (1 = best overall; ties share the lower position). Each weights variant is ranked on its own.
    """
    best = best_layers(scores, distance)
    best["rank"] = best.groupby(["weights", "benchmark", "metric"])["value"].rank(method="average")
    # rank() ranks ascending; flip where higher is better so that 1 is always the best.
    count = best.groupby(["weights", "benchmark", "metric"])["value"].transform("count")
    best["rank"] = best["rank"].where(~best["higher_is_better"], count + 1 - best["rank"])
    per_benchmark = best.pivot_table(index=["weights", "arch"], columns="benchmark", values="rank", aggfunc="mean")
    benchmarks = benchmark_order(per_benchmark.columns)
    table = per_benchmark[benchmarks].reset_index()
    table["overall"] = table[benchmarks].mean(axis=1)
    table["n_benchmarks"] = table[benchmarks].notna().sum(axis=1)
    table["position"] = table.groupby("weights")["overall"].rank(method="min").astype(int)
    return table.sort_values(["weights", "position", "arch"]).reset_index(drop=True)


def ranked_benchmarks(rankings: pd.DataFrame) -> list[str]:
    """The benchmarks with a mean-rank column in ``rankings``, in the registry's order."""
    return benchmark_order(c for c in rankings.columns if c not in RANKING_COLUMNS)


def write_rankings(score_paths: Iterable[Path | str], output: Path | str,
                   distance: str = PRIMARY_DISTANCE) -> pd.DataFrame:
    """Read scores, rank (by ``distance`` where rows name one), and write the rankings CSV (``lossnet rank``)."""
    scores = read_scores(score_paths)
    compared = set(_column(scores, "distance")) - {""}
    if compared and distance not in compared:
        raise ValueError(f"the scores compare features with {sorted(compared)} but not with {distance!r}, the "
                         f"distance ranked: every similarity rank would be empty; rank by one of them")
    table = rank(scores, distance)
    write_csv(table, output, float_format="%.4g")
    return table
