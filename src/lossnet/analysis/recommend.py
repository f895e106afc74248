"""``lossnet recommend``: the best loss networks for a task from this run's results or from the paper's published
scores, labelled with where they come from and warned about when they come from random weights or synthetic data;
written as a table for reading, or as CSV or JSON for programs (:data:`RECOMMEND_FORMATS`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from ..benchmarks.scores import read_scores
from .provenance import read_run_warnings
from .published import CITATION, PUBLISHED_LABEL, published_scores
from .rank import ranked_scores
from .tables import benchmarks_in, read_attributes, recommend, recommend_references

RANDOM_WEIGHTS_WARNING = ("Random weights: these scores are of untrained networks; they exercise the pipeline and say "
                          "nothing about the pretrained loss networks (--source published has the paper's).")


@dataclass
class Recommendation:
    """What ``lossnet recommend`` says: the ranked configurations, the network-free references, the source of the
    scores, warnings about them (random weights, synthetic data) and notes (missing attributes, the source chosen)."""

    task: str
    source: str
    table: pd.DataFrame
    references: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def choose_source(source: str, scores_path: Path | str) -> str:
    """``auto`` -> ``results`` when the scores table exists, else ``published``; others unchanged."""
    if source != "auto":
        return source
    return "results" if Path(scores_path).is_file() else "published"


def recommendation(task: str, source: str = "auto", scores_path: Path | str = "results/tables/scores.csv",
                   attributes_dir: Path | str = "results/attributes", top: int = 5,
                   distance: str | None = None) -> Recommendation:
    """The ``top`` configurations for ``task`` from ``source`` (results, published or auto: :func:`choose_source`)."""
    notes, warnings = [], []
    chosen = choose_source(source, scores_path)
    if chosen == "published":
        if source == "auto":
            notes.append(f"(no results at {scores_path}: recommending from the {PUBLISHED_LABEL} scores)")
        scores, label = published_scores(), f"{PUBLISHED_LABEL}: {CITATION}"
    else:
        scores, label = read_scores([scores_path]), str(scores_path)
        warnings += read_run_warnings(scores_path)
    present = benchmarks_in(scores)
    if task not in present:
        where = f"the {PUBLISHED_LABEL} scores" if chosen == "published" else f"the results ({scores_path})"
        raise ValueError(f"no {task} scores in {where} (benchmarks present: {', '.join(present) or 'none'})"
                         + ("; the paper's Table X (delineation) is not transcribed" if chosen == "published" else ""))
    folder = Path(attributes_dir)
    paths = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    attributes = read_attributes(paths) if paths else None
    if attributes is None:
        notes.append(f"(no attribute CSVs in {folder}: the cost column mflops_to_layer is empty)")
    scores = ranked_scores(scores, distance)
    table = recommend(scores, task, attributes, top)
    if (table["weights"] == "random").any() and not any(line.startswith("Random weights") for line in warnings):
        warnings.append(RANDOM_WEIGHTS_WARNING)
    return Recommendation(task, label, table, recommend_references(scores, task), warnings, notes)


def _cell(value: float, low: float, high: float) -> str:
    if pd.isna(value):
        return "-"
    text = f"{value:.4g}"
    return text if pd.isna(low) or pd.isna(high) else f"{text} [{low:.4g}, {high:.4g}]"


def _with_intervals(table: pd.DataFrame) -> pd.DataFrame:
    """Each metric column as ``value [low, high]`` text where its ``_low``/``_high`` columns exist."""
    out = table.copy()
    for column in [c for c in table.columns if f"{c}_low" in table.columns]:
        out[column] = [_cell(v, lo, hi) for v, lo, hi in zip(table[column], table[f"{column}_low"],
                                                               table[f"{column}_high"])]
        out = out.drop(columns=[f"{column}_low", f"{column}_high"])
    return out


def as_table(result: Recommendation) -> str:
    """For reading: the source, any warning, the configurations (intervals in brackets) and the references."""
    lines = [f"Source: {result.source}"] + [f"WARNING: {line}" for line in result.warnings]
    lines.append(_with_intervals(result.table).to_string(index=False, float_format=lambda v: f"{v:.4g}",
                                                         formatters={"mflops_to_layer": "{:.0f}".format}, na_rep="-"))
    if any(f"{c}_low" in result.table.columns for c in result.table.columns):
        lines.append("In brackets: 95% bootstrap intervals over the benchmark's items.")
    if len(result.references):
        best = result.references.iloc[0]
        lines += [f"\nBest network-free reference: {best['arch']} (no loss network; would rank "
                  f"{best['mean_rank']:.4g} on average among all loss-network configurations)",
                  "Network-free references (not ranked among the loss networks):",
                  result.references.to_string(index=False, float_format=lambda v: f"{v:.4g}")]
    return "\n".join(lines) + "\n"


def _combined(result: Recommendation) -> pd.DataFrame:
    nets = result.table.assign(network_free=False)
    frames = [nets] + ([result.references] if len(result.references) else [])
    return pd.concat(frames, ignore_index=True).assign(task=result.task, source=result.source)


def as_csv(result: Recommendation) -> str:
    """For programs: one row per configuration, then one per reference (``network_free`` true), with the source."""
    return _combined(result).to_csv(index=False, float_format="%.6g")


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))  # NaN -> null


def as_json(result: Recommendation) -> str:
    """For programs: ``{task, source, warnings, recommendations, references}``."""
    document = {"task": result.task, "source": result.source, "warnings": result.warnings,
                "recommendations": _records(result.table), "references": _records(result.references)}
    return json.dumps(document, indent=2) + "\n"


RECOMMEND_FORMATS: dict[str, Callable[[Recommendation], str]] = {"table": as_table, "csv": as_csv, "json": as_json}
