"""Tidy scores and the paper's rankings (Table III).

Scores schema: one row per score with the columns :data:`SCORE_COLUMNS`, plus optional extras. Rows with a
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

SCORE_COLUMNS = ["benchmark", "metric", "arch", "layer", "weights", "value", "higher_is_better"]
BENCHMARK_ORDER = ["similarity", "superres", "delineation", "autoencoding"]
REFERENCE_WEIGHTS = "none"
PRIMARY_DISTANCE = "lpips"


def read_scores(paths: Iterable[Path | str]) -> pd.DataFrame:
    """Concatenate score CSVs, checking each has the schema's columns."""
    frames = []
    for path in paths:
        frame = pd.read_csv(path, keep_default_na=False, na_values={"value": ["", "nan", "NaN"]})
        missing = [column for column in SCORE_COLUMNS if column not in frame.columns]
        if missing:
            raise ValueError(f"{path} is not a scores file: missing columns {missing} (need {SCORE_COLUMNS})")
        frames.append(frame)
    if not frames:
        raise ValueError("no score files given")
    scores = pd.concat(frames, ignore_index=True)
    scores["higher_is_better"] = scores["higher_is_better"].map(_as_bool)
    return scores


def _as_bool(value) -> bool:
    if isinstance(value, str):
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"higher_is_better must be true or false, got {value!r}")
        return value.lower() in ("true", "1")
    return bool(value)


def _column(scores: pd.DataFrame, name: str) -> pd.Series:
    return scores[name].fillna("").astype(str) if name in scores else pd.Series("", index=scores.index)


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    """The rows that take part in rankings: no subset breakdowns, no all-layer sums, the primary distance."""
    keep = (scores["layer"].astype(str) != "all") & (_column(scores, "subset") == "")
    distance = _column(scores, "distance")
    keep &= distance.isin(["", PRIMARY_DISTANCE]) | (scores["weights"] == REFERENCE_WEIGHTS)
    return scores[keep]


def with_references(scores: pd.DataFrame) -> pd.DataFrame:
    """Copy reference rows (weights "none") into every weights variant, so each variant ranks them too."""
    references = scores[scores["weights"] == REFERENCE_WEIGHTS]
    variants = [w for w in scores["weights"].unique() if w != REFERENCE_WEIGHTS] or [REFERENCE_WEIGHTS]
    own = scores[scores["weights"] != REFERENCE_WEIGHTS]
    return pd.concat([own] + [references.assign(weights=variant) for variant in variants], ignore_index=True)


def best_layers(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (weights, benchmark, metric, arch): the best extraction layer and its value (Table IV)."""
    rows = with_references(headline(scores))
    rows["oriented"] = rows["value"].where(rows["higher_is_better"], -rows["value"])
    # On a tie the earlier layer wins (E before S, M, L), as the cheaper loss network.
    order = {label: i for i, label in enumerate("ESML")}
    rows = rows.dropna(subset=["oriented"]).sort_values(
        "layer", kind="stable", key=lambda layers: layers.map(lambda layer: order.get(layer, len(order)))
    )
    best = rows.loc[rows.groupby(["weights", "benchmark", "metric", "arch"], sort=False)["oriented"].idxmax()]
    return best.drop(columns="oriented").sort_values(["weights", "benchmark", "metric", "arch"]).reset_index(drop=True)


def rank(scores: pd.DataFrame) -> pd.DataFrame:
    """The paper's ranking: per metric rank each architecture's best layer (ties averaged, 1 = best), average
    the ranks over each benchmark's metrics, then average the benchmarks (each weighted equally).

    One row per (weights, arch) with a column of mean rank per benchmark present, ``overall`` and
    ``position`` (1 = best overall; ties share the lower position). Each weights variant is ranked on its own.
    """
    best = best_layers(scores)
    best["rank"] = best.groupby(["weights", "benchmark", "metric"])["value"].rank(method="average")
    # rank() ranks ascending; flip where higher is better so that 1 is always the best.
    count = best.groupby(["weights", "benchmark", "metric"])["value"].transform("count")
    best["rank"] = best["rank"].where(~best["higher_is_better"], count + 1 - best["rank"])
    per_benchmark = best.pivot_table(index=["weights", "arch"], columns="benchmark", values="rank", aggfunc="mean")
    benchmarks = sorted(per_benchmark.columns, key=lambda b: (BENCHMARK_ORDER + [b]).index(b))
    table = per_benchmark[benchmarks].reset_index()
    table["overall"] = table[benchmarks].mean(axis=1)
    table["n_benchmarks"] = table[benchmarks].notna().sum(axis=1)
    table["position"] = table.groupby("weights")["overall"].rank(method="min").astype(int)
    return table.sort_values(["weights", "position", "arch"]).reset_index(drop=True)


def write_rankings(score_paths: Iterable[Path | str], output: Path | str) -> pd.DataFrame:
    """Read scores, rank, and write the rankings CSV (the ``lossnet rank`` command)."""
    table = rank(read_scores(score_paths))
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(output, index=False, float_format="%.4g")
    return table
