"""A self-contained HTML report of a run: rankings, best layers, correlations and every figure (base64 PNG)."""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

from .._util import atomic_output
from ..benchmarks import BENCHMARKS
from .labels import CAPTIONS, arch_label, benchmark_label
from .rank import architectures, is_interval_column, ranked_benchmarks, references
from .tables import benchmarks_in

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
figure{margin:1.5em 0}img{max-width:100%}figcaption{font-style:italic;margin-top:0.3em}
.note{color:#555;font-size:0.9em}.wide{overflow-x:auto;max-width:100%}
.banner{background:#fff3cd;border:2px solid #d39e00;padding:0.6em 1em;margin:1em 0;font-weight:600}
.banner p{margin:0.3em 0}dl.provenance{display:grid;grid-template-columns:max-content auto;gap:0.1em 1em;font-size:0.9em}
dl.provenance dt{font-weight:600}dl.provenance dd{margin:0;font-family:monospace}
"""

# What each table the workflow writes is, for the report (results/tables/<stem>.csv; figures/<stem>.csv).
TABLE_TITLES = {
    "distances": "Distances side by side: 2AFC per distance function (benchmark 1)",
    "sensitivity": "Distortion sensitivity: how far each layer's distance moves per distortion (benchmark 1)",
    "image_mean": "Perceptual image mean: the loss of each optimised mean under every distance",
}


def _display_names(frame: pd.DataFrame) -> pd.DataFrame:
    """The shared display names (analysis.labels) for architecture and benchmark columns and values."""
    frame = frame.copy()
    if "arch" in frame:
        frame["arch"] = frame["arch"].map(lambda a: arch_label(a) if isinstance(a, str) else a)
    if "benchmark" in frame:
        frame["benchmark"] = frame["benchmark"].map(lambda b: benchmark_label(b) if isinstance(b, str) else b)
    return frame.rename(columns={c: benchmark_label(c) for c in frame.columns if isinstance(c, str)})


def _head(banner: Iterable[str], provenance: Mapping[str, str] | None) -> list[str]:
    parts = []
    banner = list(banner)
    if banner:
        parts.append("<div class='banner' role='alert'>" + "".join(f"<p>⚠ {html.escape(line)}</p>" for line in banner)
                     + "</div>")
    if provenance:
        items = "".join(f"<dt>{html.escape(key)}</dt><dd>{html.escape(str(value))}</dd>"
                        for key, value in provenance.items())
        parts.append(f"<details open><summary>Provenance</summary><dl class='provenance'>{items}</dl></details>")
    return parts


def _extra_tables(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    parts = []
    for name, frame in tables.items():
        title = TABLE_TITLES.get(name, name.replace("_", " "))
        parts += [f"<h2>{html.escape(title)}</h2><p class='note'>All rows: {html.escape(name)}.csv.</p>",
                  _table(_display_names(frame), digits=4)]
    return parts



def _table(frame: pd.DataFrame, digits: int = 3) -> str:
    frame = frame.rename_axis(columns=None)
    html = frame.to_html(index=False, escape=False, na_rep="–", float_format=lambda v: f"{v:.{digits}g}", border=0)
    return f'<div class="wide">{html}</div>'  # a table wider than the page scrolls instead of spilling over


def _with_interval(value, low, high, digits: int = 3) -> str:
    if pd.isna(value):
        return "–"
    text = f"{value:.{digits}g}"
    return text if pd.isna(low) or pd.isna(high) else f"{text} [{low:.{digits}g}–{high:.{digits}g}]"


def not_separable(ranked: pd.DataFrame) -> dict[str, list[str]]:
    """Per architecture, the others whose 95% position interval overlaps its own (empty without intervals)."""
    if "position_low" not in ranked or ranked["position_low"].isna().all():
        return {arch: [] for arch in ranked["arch"]}
    rows = list(ranked[["arch", "position_low", "position_high"]].itertuples(index=False))
    return {a.arch: [b.arch for b in rows if b.arch != a.arch and a.position_low <= b.position_high
                     and b.position_low <= a.position_high] for a in rows}


def rankings_view(rankings: pd.DataFrame, weights: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The report's rankings of one weights variant: the architectures (mean ranks with their 95% intervals,
    position, and which positions are not separable) and, apart, the network-free references (would-be ranks)."""
    variant = rankings[rankings["weights"] == weights]
    benchmarks = ranked_benchmarks(variant)
    ranked = architectures(variant)
    groups = not_separable(ranked)

    def cells(frame: pd.DataFrame, columns: list[str]) -> dict[str, list[str]]:
        return {column: [_with_interval(row.get(column), row.get(f"{column}_low"), row.get(f"{column}_high"))
                         for _, row in frame.iterrows()] for column in columns}

    archs = pd.DataFrame({"architecture": ranked["arch"].map(arch_label).to_list(),
                          **cells(ranked, ["position", *benchmarks, "overall"])})
    archs["not separable from (95% position intervals overlap)"] = [
        ", ".join(map(arch_label, groups[arch])) or "separable from all" for arch in ranked["arch"]]
    refs = references(variant)
    refs_view = pd.DataFrame({"reference (network-free)": refs["arch"].map(arch_label).to_list(),
                              "what it is": refs["arch"].map(reference_description).to_list(),
                              **cells(refs, benchmarks)})
    return archs, refs_view


def reference_description(arch: str) -> str:
    """What a reference row is, from the benchmarks' registry entries (``Benchmark.references``)."""
    found = dict.fromkeys(entry.references[arch] for entry in BENCHMARKS.values() if arch in entry.references)
    return "; ".join(found) or "network-free reference"


def best_layer_grid(best: pd.DataFrame, weights: str) -> pd.DataFrame:
    """Table IV as a grid: architecture x (benchmark, metric) -> layer letter, the best architecture underlined."""
    rows = best[best["weights"] == weights].copy()
    rows["cell"] = [f"<u><b>{layer}</b></u>" if top else html.escape(str(layer))
                    for layer, top in zip(rows["layer"], rows["best_overall"])]
    rows["column"] = rows["benchmark"] + "<br>" + rows["metric"]
    order = [c for b in benchmarks_in(rows) for c in dict.fromkeys(rows.loc[rows["benchmark"] == b, "column"])]
    grid = rows.pivot(index="arch", columns="column", values="cell").reindex(columns=order)
    grid.index = grid.index.map(arch_label)
    return grid.reset_index().rename(columns={"arch": "architecture"})


def build_report(rankings: pd.DataFrame, best: pd.DataFrame, summary: pd.DataFrame, correlations: pd.DataFrame,
                 figures: Iterable[Path | str], output: Path | str, top: int = 15, *, banner: Iterable[str] = (),
                 provenance: Mapping[str, str] | None = None, tables: Mapping[str, pd.DataFrame] | None = None,
                 images: Iterable[Path | str] = ()) -> Path:
    """Write the report: a banner (synthetic data, random weights) and the provenance of the run; per weights
    variant its rankings, Table IV grid and layer summary; the strongest score/attribute correlations; benchmark
    agreement; the workflow's other ``tables`` ({name: frame}); each PNG figure (and ``images``) with its caption."""
    parts = [f"<h1>lossnet report</h1><p class='note'>Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC "
             "from results/tables/scores.csv. Ranks: 1 = best (protocol section 7).</p>", *_head(banner, provenance)]
    for weights in dict.fromkeys(rankings["weights"]):
        ranked, refs = rankings_view(rankings, weights)
        n_archs = len(ranked)
        intervals = any(is_interval_column(c) for c in rankings.columns)
        note = (f"{n_archs} architecture{'s' if n_archs != 1 else ''} ranked 1..{n_archs} among themselves. "
                + ("In brackets: 95% bootstrap intervals of each rank over joint resamples of the benchmark items "
                   "(triplets, pairs, test samples). Positions whose intervals overlap cannot be told apart at "
                   "this sample size: read them as tied." if intervals else
                   "No bootstrap replicates were given: no rank intervals."))
        parts += [f"<h2>Weights: {html.escape(str(weights))}</h2>", "<h3>Rankings (Table III)</h3>",
                  f"<p class='note'>{html.escape(note)}</p>", _table(ranked)]
        if len(refs):
            parts += ["<h3>Network-free references (not ranked)</h3><p class='note'>Each reference (no loss "
                      "network: a pixel distance or a pixel-loss baseline) with the mean rank it would take per "
                      "benchmark against the architectures alone; it moves none of them and has no position.</p>",
                      _table(refs)]
        parts += ["<h3>Best extraction layer (Table IV)</h3><p class='note'>Underlined: the best architecture "
                  "for that score.</p>", _table(best_layer_grid(best, weights)),
                  "<h3>How often each layer is best</h3>",
                  _table(summary[summary["weights"] == weights].drop(columns="weights"))]
    scored = correlations[(correlations["analysis"] == "score_vs_attribute") & (correlations["layer"] == "best")]
    strongest = scored.dropna(subset=["spearman"]).sort_values("spearman_p").head(top)
    agreement = correlations[correlations["analysis"] == "benchmark_agreement"]
    sizes = sorted(set(scored["n"].dropna().astype(int)))
    size_text = (f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]} to {sizes[-1]}") if sizes else "no"
    methods = sorted(set(strongest.get("p_method", pd.Series(dtype=str))) - {""})
    parts += [f"<h2>Correlations with attributes (best layer, {len(strongest)} smallest Spearman p of "
              f"{len(scored)})</h2><p class='note'>All rows, per layer too: results/tables/correlations.csv. "
              f"Each correlation is over {size_text} architectures, and {len(scored)} tests are made: small "
              "p-values are expected by chance. With fewer than 10 points the p-values are permutation "
              f"p-values (p_method: {', '.join(methods) or 'none here'}); ImageNet top-1 is torchvision's "
              "metadata (attributes' imagenet_top1_source), not the paper's Table I.</p>",
              _table(strongest.drop(columns=["analysis", "layer"]))]
    if not agreement.empty:
        parts += ["<h2>Agreement between benchmarks (Spearman of mean ranks)</h2>",
                  _table(agreement.drop(columns=["analysis", "metric", "layer"]).rename(columns={"variable": "vs"}))]
    parts += _extra_tables(tables or {})
    parts.append("<h2>Figures</h2><p class='note'>Each figure plots one metric per benchmark, its figure metric "
                 "(named on the axis); the tables above and results/tables/scores.csv have every metric.</p>")
    for path in [*map(Path, figures), *map(Path, images)]:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        caption = CAPTIONS.get(path.stem, path.stem)
        caption += f" (weights: {path.parent.name})" if path.parent.name != "figures" else ""
        parts.append(f"<figure><img alt='{html.escape(path.stem)}' src='data:image/png;base64,{data}'>"
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>lossnet report</title>"
            f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")
    output = Path(output)
    with atomic_output(output) as partial:
        partial.write_text(page, encoding="utf-8")
    return output
