"""Tidy scores and the paper's rankings (Table III).

Scores schema: :mod:`lossnet.benchmarks.scores`. Rows with a
non-empty ``subset`` are breakdowns of a headline metric (2AFC per BAPPS subset) and are not ranked; rows with
``layer == "all"`` (summed distances over all layers) are reported but not ranked either, since the paper
ranks architectures by their best single extraction layer. Where a ``distance`` column says how features were
compared, only the primary distance (the paper's: lpips) is ranked; the others are compared in their own table.

Reference rows (``weights == "none"``: network-free distances and baselines such as pixel MSE) are never ranked
among the architectures (protocol section 7): the architectures of each weights variant are ranked alone, 1..n, and
each reference is listed per variant with ``reference`` true, no ``overall`` or ``position``, and per benchmark the
mean rank it *would* take against that variant's architectures alone (for each metric: 1 + the architectures
better than it + half those tied), which moves no architecture.

Rank intervals: given the bootstrap replicates of the scores (:mod:`lossnet.benchmarks.scores`), the whole ranking
is repeated on every joint resample (best layer chosen again in each), and ``<benchmark>_low``/``_high``,
``overall_low``/``_high`` and ``position_low``/``_high`` bound the 95% interval of each row's ranks. Scores without
replicates count as fixed in every resample.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from .._util import write_csv
from ..benchmarks import benchmark_order
from ..zoo import LAYER_LABELS
from ..benchmarks.scores import ALL_LAYERS, REFERENCE_WEIGHTS, read_replicates, read_scores, replicate_columns
from ..stats import LEVEL, rank_interval

PRIMARY_DISTANCE = "lpips"
# The feature distances (lossnet.distances.FEATURE_DISTANCES, named here without importing torch): the only ones a
# similarity ranking can rank by. The network-free distances (l2, ssim, mmdpp) score references, not loss networks.
RANKABLE_DISTANCES = ("lpips", "mse", "l1", "meanpool", "gram", "gram_normalized")
# The columns of a rankings table that are not a benchmark's mean rank.
RANKING_COLUMNS = ("weights", "arch", "overall", "n_benchmarks", "position", "reference")
INTERVAL_SUFFIXES = ("_low", "_high")  # <benchmark>_low, overall_high, position_low, ...


def _column(scores: pd.DataFrame, name: str) -> pd.Series:
    return scores[name].fillna("").astype(str) if name in scores else pd.Series("", index=scores.index)


def check_rank_distance(distance: str) -> str:
    """Return ``distance`` if similarity scores can be ranked by it (a feature distance), else a ValueError saying
    which can (the ``lossnet rank --distance`` option and the config's ``similarity.rank_distance``)."""
    if distance not in RANKABLE_DISTANCES:
        raise ValueError(f"cannot rank by the distance {distance!r}: only the feature distances "
                         f"{', '.join(RANKABLE_DISTANCES)} rank loss networks (the network-free l2, ssim and mmdpp "
                         "are references, listed beside the ranking)")
    return distance


def check_scores(scores: pd.DataFrame, distance: str | None = None) -> None:
    """Refuse two rows for one (weights, benchmark, metric, arch, layer) (one would silently win), and warn of NaN
    headline scores of architectures, which rank last on their metric (see :func:`rank`)."""
    rows = headline(scores, distance)
    repeated = rows[rows.duplicated(KEYS, keep=False)]
    if len(repeated):
        first = repeated.iloc[0]
        raise ValueError(f"{len(repeated)} rows score the same (weights, benchmark, metric, arch, layer), e.g. "
                         f"{first['benchmark']} {first['metric']} of {first['arch']} layer {first['layer']} "
                         f"({first['weights']}): a scores file is given twice, or two runs were merged; keep one")
    missing = rows[rows["value"].isna() & (rows["weights"] != REFERENCE_WEIGHTS)]
    if len(missing):
        first = missing.iloc[0]
        warnings.warn(f"{len(missing)} score(s) are NaN, e.g. {first['benchmark']} {first['metric']} of "
                      f"{first['arch']} layer {first['layer']} ({first['weights']}): they rank last on their metric "
                      "(an undefined score is no better than any); rerun the job if it failed", stacklevel=2)


def _worst_if_nan(oriented: np.ndarray | pd.Series):
    """Oriented scores (higher is better) with NaN as -inf: a NaN ranks last instead of vanishing, which would rank
    its architecture over fewer metrics."""
    return oriented.fillna(-np.inf) if isinstance(oriented, pd.Series) else np.where(np.isnan(oriented), -np.inf,
                                                                                     oriented)


def ranked_distance(scores: pd.DataFrame, distance: str | None = None) -> str:
    """The feature distance whose rows are ranked: ``distance`` when given (config ``similarity.rank_distance``,
    ``--distance``), else the only one the scores hold, else the paper's (lpips)."""
    if distance is not None:
        return distance
    networks = scores[_column(scores, "weights") != REFERENCE_WEIGHTS]  # references name their own distances
    distances = _column(networks, "distance")
    # the networks' rows of the benchmarks that compare features by a distance: one distance among them all (a row
    # without one there does not say which it was)
    compared = set(distances[networks["benchmark"].isin(set(networks.loc[distances != "", "benchmark"]))])
    return compared.pop() if len(compared) == 1 else PRIMARY_DISTANCE


def ranked_scores(scores: pd.DataFrame, distance: str | None = None) -> pd.DataFrame:
    """``scores`` without the rows of the feature distances that are not ranked: what Table IV, the correlations,
    the figures, the report and ``recommend`` read, so that every view shows what the rankings rank."""
    distance = ranked_distance(scores, distance)
    return scores[_column(scores, "distance").isin(["", distance]) | (scores["weights"] == REFERENCE_WEIGHTS)]


def headline(scores: pd.DataFrame, distance: str | None = None) -> pd.DataFrame:
    """The rows that take part in rankings: no subset breakdowns, no all-layer sums, the ranked ``distance``
    (:func:`ranked_distance`)."""
    distance = ranked_distance(scores, distance)
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


def best_layers(scores: pd.DataFrame, distance: str | None = None) -> pd.DataFrame:
    """Per (weights, benchmark, metric, arch): the best extraction layer and its value (Table IV)."""
    rows = with_references(headline(scores, distance))
    rows["oriented"] = rows["value"].where(rows["higher_is_better"], -rows["value"])
    # On a tie the earlier layer wins (E before S, M, L), as the cheaper loss network.
    order = {label: i for i, label in enumerate(LAYER_LABELS)}
    rows["oriented"] = _worst_if_nan(rows["oriented"])
    rows = rows.sort_values(
        "layer", kind="stable", key=lambda layers: layers.map(lambda layer: order.get(layer, len(order)))
    )
    best = rows.loc[rows.groupby(["weights", "benchmark", "metric", "arch"], sort=False)["oriented"].idxmax()]
    return best.drop(columns="oriented").sort_values(["weights", "benchmark", "metric", "arch"]).reset_index(drop=True)


def _oriented(values: pd.Series | np.ndarray, higher_is_better) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    higher = np.asarray(higher_is_better, dtype=bool)
    return np.where(higher.reshape(higher.shape + (1,) * (values.ndim - higher.ndim)), values, -values)


def would_be_rank(value: float | np.ndarray, others: np.ndarray) -> float | np.ndarray:
    """The rank ``value`` (oriented: higher is better) would take among ``others`` (oriented, along axis 0),
    without moving them: 1 + how many are better + half of those tied (the average rank of a tie)."""
    others = np.asarray(others, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return 1 + np.sum(others > value, axis=0) + 0.5 * np.sum(others == value, axis=0)


def _point_ranks(scores: pd.DataFrame, distance: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Architectures' best-layer rows with their rank per metric, and the references' would-be ranks."""
    rows = headline(scores, distance)
    is_ref = rows["weights"] == REFERENCE_WEIGHTS
    best = best_layers(rows[~is_ref], distance)
    # 1 = best: rank the negated oriented scores ascending (NaN as the worst, ties averaged).
    worse = -_worst_if_nan(pd.Series(_oriented(best["value"], best["higher_is_better"]), index=best.index))
    best["rank"] = worse.groupby([best["weights"], best["benchmark"], best["metric"]]).rank(method="average")
    references = rows[is_ref].dropna(subset=["value"])
    variants = list(dict.fromkeys(best["weights"])) or [REFERENCE_WEIGHTS]
    would = []
    for variant in variants:
        for ref in references.itertuples():
            archs = best[(best["weights"] == variant) & (best["benchmark"] == ref.benchmark)
                         & (best["metric"] == ref.metric)]
            others = _oriented(archs["value"], archs["higher_is_better"])
            would.append({"weights": variant, "benchmark": ref.benchmark, "metric": ref.metric, "arch": ref.arch,
                          "layer": ref.layer, "value": ref.value, "higher_is_better": ref.higher_is_better,
                          "rank": float(would_be_rank(_oriented(ref.value, ref.higher_is_better), others))})
    return best, pd.DataFrame(would, columns=["weights", "benchmark", "metric", "arch", "layer", "value",
                                              "higher_is_better", "rank"])


def _per_benchmark(ranked: pd.DataFrame) -> pd.DataFrame:
    if ranked.empty:
        return pd.DataFrame(columns=["weights", "arch"])
    return ranked.pivot_table(index=["weights", "arch"], columns="benchmark", values="rank",
                              aggfunc="mean").rename_axis(columns=None).reset_index()


def rank(scores: pd.DataFrame, replicates: pd.DataFrame | None = None, level: float = LEVEL,
         distance: str | None = None) -> pd.DataFrame:
    """The paper's ranking: per metric rank each architecture's best layer (ties averaged, 1 = best), average
    the ranks over each benchmark's metrics, then average the benchmarks (each weighted equally).

    One row per (weights, arch) with a column of mean rank per benchmark present, ``overall``, ``n_benchmarks``,
    ``position`` (1 = best overall; ties share the lower position) and ``reference``. Each weights variant is
    ranked on its own; references (weights "none") are listed under every variant with their would-be ranks, no
    ``overall`` and no ``position``. With ``replicates`` (a replicates table), the rank intervals too. Where rows
    name how features were compared, only ``distance`` (config ``similarity.rank_distance``) is ranked. A NaN score
    ranks last on its metric (with a warning); two rows for one (weights, benchmark, metric, arch, layer) are an
    error (:func:`check_scores`).
    """
    distance = ranked_distance(scores, distance)
    check_scores(scores, distance)
    best, would = _point_ranks(scores, distance)
    archs, refs = _per_benchmark(best), _per_benchmark(would)
    benchmarks = benchmark_order([c for c in [*archs.columns, *refs.columns] if c not in ("weights", "arch")])
    archs, refs = (frame.reindex(columns=["weights", "arch", *benchmarks]) for frame in (archs, refs))
    archs["overall"] = archs[benchmarks].mean(axis=1)
    archs["n_benchmarks"] = archs[benchmarks].notna().sum(axis=1)
    archs["position"] = archs.groupby("weights")["overall"].rank(method="min").astype("Int64")
    archs["reference"] = False
    refs["overall"] = np.nan
    refs["n_benchmarks"] = refs[benchmarks].notna().sum(axis=1)
    refs["position"] = pd.array([pd.NA] * len(refs), dtype="Int64")
    refs["reference"] = True
    table = pd.concat([frame for frame in (archs, refs) if len(frame)], ignore_index=True)
    table = table.astype({"position": "Int64", "n_benchmarks": int, "reference": bool})
    if replicates is not None and len(table):
        table = table.merge(rank_intervals(scores, replicates, best, would, level, distance), on=["weights", "arch"],
                            how="left")
    order = table["position"].astype("Float64").fillna(np.inf)
    table = table.assign(_order=order).sort_values(["weights", "reference", "_order", "arch"])
    return table.drop(columns="_order").reset_index(drop=True)


KEYS = ["weights", "benchmark", "metric", "arch", "layer"]


def _replicate_matrix(rows: pd.DataFrame, replicates: pd.DataFrame, distance: str | None = None) -> np.ndarray:
    """(len(rows), B) replicates of ``rows`` (headline score rows), the point value where a row has none."""
    columns = replicate_columns(replicates)
    table = headline(replicates, distance).astype({"layer": str})
    table = table.drop_duplicates(KEYS, keep="first").set_index(KEYS)[columns]
    keys = pd.MultiIndex.from_frame(rows[KEYS].astype({"layer": str}))
    matrix = table.reindex(keys).to_numpy(dtype=np.float64)
    missing = np.isnan(matrix).all(axis=1)
    matrix[missing] = np.asarray(rows["value"], dtype=np.float64)[missing, None]
    return matrix


def rank_intervals(scores: pd.DataFrame, replicates: pd.DataFrame, best: pd.DataFrame | None = None,
                   would: pd.DataFrame | None = None, level: float = LEVEL,
                   distance: str | None = None) -> pd.DataFrame:
    """Per (weights, arch): the ``level`` intervals of its benchmark mean ranks, ``overall`` and ``position``,
    repeating :func:`rank` on each joint resample of the scores (``replicates``: a replicates table)."""
    if best is None or would is None:
        best, would = _point_ranks(scores, distance)
    rows = headline(scores, distance)
    archs = rows[rows["weights"] != REFERENCE_WEIGHTS].reset_index(drop=True)
    archs = archs.astype({"layer": str})
    matrix = _worst_if_nan(_oriented(_replicate_matrix(archs, replicates, distance), archs["higher_is_better"]))
    resamples = matrix.shape[1]
    metric_ranks: dict[tuple, list[np.ndarray]] = {}  # (weights, arch, benchmark) -> rank replicates per metric
    best_of: dict[tuple, tuple[list[str], np.ndarray]] = {}  # (weights, benchmark, metric) -> archs, best values
    for (weights, benchmark, metric), group in archs.groupby(["weights", "benchmark", "metric"], sort=False):
        names = list(dict.fromkeys(group["arch"]))
        values = np.vstack([np.nanmax(matrix[group.index[group["arch"] == a]], axis=0) for a in names])
        best_of[weights, benchmark, metric] = (names, values)
        ranks = stats.rankdata(-values, axis=0, method="average")
        for name, rank_row in zip(names, ranks):
            metric_ranks.setdefault((weights, name, benchmark), []).append(rank_row)
    refs = rows[rows["weights"] == REFERENCE_WEIGHTS].dropna(subset=["value"]).reset_index(drop=True)
    if len(refs):
        ref_matrix = _oriented(_replicate_matrix(refs.astype({"layer": str}), replicates, distance), refs["higher_is_better"])
        variants = list(dict.fromkeys(archs["weights"])) or [REFERENCE_WEIGHTS]
        for variant in variants:
            for i, ref in enumerate(refs.itertuples()):
                _, values = best_of.get((variant, ref.benchmark, ref.metric), ([], np.empty((0, resamples))))
                metric_ranks.setdefault((variant, ref.arch, ref.benchmark), []).append(
                    would_be_rank(ref_matrix[i], values))
    benchmark_ranks = {key: np.mean(ranks, axis=0) for key, ranks in metric_ranks.items()}
    out = []
    reference_archs = set(refs["arch"])
    for weights in dict.fromkeys(k[0] for k in benchmark_ranks):
        names = list(dict.fromkeys(k[1] for k in benchmark_ranks if k[0] == weights))
        benchmarks = benchmark_order({k[2] for k in benchmark_ranks if k[0] == weights})
        per = {b: np.vstack([benchmark_ranks.get((weights, n, b), np.full(resamples, np.nan)) for n in names])
               for b in benchmarks}
        ranked = [i for i, n in enumerate(names) if n not in reference_archs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            overall = np.nanmean(np.stack([per[b] for b in benchmarks]), axis=0)
        position = np.full_like(overall, np.nan)
        if ranked:
            position[ranked] = stats.rankdata(overall[ranked], axis=0, method="min")
        for i, name in enumerate(names):
            row = {"weights": weights, "arch": name}
            for b in benchmarks:
                row[f"{b}_low"], row[f"{b}_high"] = rank_interval(per[b][i], level)
            if i in ranked:
                row["overall_low"], row["overall_high"] = rank_interval(overall[i], level)
                row["position_low"], row["position_high"] = rank_interval(position[i], level)
            out.append(row)
    return pd.DataFrame(out)


def is_interval_column(column: str) -> bool:
    return column.endswith(INTERVAL_SUFFIXES)


def ranked_benchmarks(rankings: pd.DataFrame) -> list[str]:
    """The benchmarks with a mean-rank column in ``rankings``, in the registry's order."""
    return benchmark_order(c for c in rankings.columns if c not in RANKING_COLUMNS and not is_interval_column(c))


def architectures(rankings: pd.DataFrame) -> pd.DataFrame:
    """The ranked rows of a rankings table (not the references; tables written before the flag: all rows)."""
    if "reference" not in rankings:
        return rankings
    return rankings[~rankings["reference"].map(_truthy)]


def references(rankings: pd.DataFrame) -> pd.DataFrame:
    """The reference rows of a rankings table (network-free, unranked)."""
    if "reference" not in rankings:
        return rankings.iloc[:0]
    return rankings[rankings["reference"].map(_truthy)]


def _truthy(value) -> bool:
    return str(value).lower() in ("true", "1") if isinstance(value, str) else bool(value)


def rank_files(score_paths: Iterable[Path | str], replicates: Iterable[Path | str] = (),
               distance: str | None = None) -> pd.DataFrame:
    """Read scores (and the replicates files given, for rank intervals) and rank by ``distance`` where rows name
    one (the ``lossnet rank`` command)."""
    distance = check_rank_distance(distance or PRIMARY_DISTANCE)  # never a distance nobody chose
    scores = read_scores(score_paths)
    compared = set(_column(scores, "distance")) - {""}
    if compared and distance not in compared:
        raise ValueError(f"the scores compare features with {sorted(compared)} but not with {distance!r}, the "
                         f"distance ranked: every similarity rank would be empty; rank by one of them "
                         f"(`lossnet rank --distance`, config similarity.rank_distance)")
    return rank(scores, read_replicates(replicates), distance=distance)


def write_rankings(score_paths: Iterable[Path | str], output: Path | str, replicates: Iterable[Path | str] = (),
                   distance: str | None = None) -> pd.DataFrame:
    """:func:`rank_files`, written to the rankings CSV ``output`` (the workflow's ``rankings`` rule)."""
    table = rank_files(score_paths, replicates, distance)
    write_csv(table, output, float_format="%.4g")
    return table
