"""A self-contained HTML report of a run: a table of contents; per weights variant its rankings, Table IV per
benchmark, layer counts and correlations, each figure beside its table; the workflow's other tables; the
reproduction of the paper's published scores; an interactive explorer (plotly.js, embedded); links to every CSV
and PDF. Offline: figures are base64 PNGs, scripts are inline; tables sort on a click of their header."""

from __future__ import annotations

import base64
import html
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

from .._util import atomic_output
from ..benchmarks import BENCHMARKS
from ..zoo import LAYER_LABELS
from .explorer import explorer_html
from .labels import CAPTIONS, arch_label, benchmark_label, metric_label
from .published import PUBLISHED_LABEL, reproduction
from .rank import architectures, is_interval_column, ranked_benchmarks, references
from .tables import EXACT_BELOW, benchmarks_in, metric_order, smallest_p

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1500px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.4em 0 1em;font-size:0.85em}
th,td{border:1px solid #ccc;padding:0.2em 0.45em;text-align:right}
th{background:#f2f2f2;cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}td:first-child,th:first-child{text-align:left}
.nw{white-space:nowrap}.note{color:#555;font-size:0.9em}.wide{overflow-x:auto;max-width:100%}
figure{margin:0 0 1em}img{max-width:100%}figcaption{font-size:0.9em;margin-top:0.3em}
caption{caption-side:top;text-align:left;font-size:0.95em;padding:0.2em 0}
.pair{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
.pair>.tables{flex:0 1 auto;min-width:0;max-width:100%}.pair>.figures{flex:1 1 520px;min-width:0}
.iv{color:#555;font-size:0.9em}
.banner{background:#fff3cd;border:2px solid #d39e00;padding:0.6em 1em;margin:1em 0;font-weight:600}
.banner p{margin:0.3em 0}dl.provenance{display:grid;grid-template-columns:max-content auto;gap:0.1em 1em;font-size:0.9em}
dl.provenance dt{font-weight:600}dl.provenance dd{margin:0;font-family:monospace;overflow-wrap:anywhere}
nav.toc ol{margin:0.2em 0;padding-left:1.4em}nav.toc{font-size:0.95em;background:#f8f8f8;padding:0.5em 1em}
.explorer-controls label{margin-right:1.2em}.files li{font-family:monospace}
"""

# Sort a table by a click on a header: numbers as numbers (the value before an interval), layers E, S, M, L.
_SORT_JS = """
(function(){const LAYERS={E:0,S:1,M:2,L:3};
function key(cell){const text=cell.textContent.trim();if(text in LAYERS)return LAYERS[text];
const number=parseFloat(text);return isNaN(number)?text.toLowerCase():number}
function sortBy(table,index,th){const ascending=th.getAttribute('aria-sort')!=='ascending';
table.querySelectorAll('th').forEach(h=>h.removeAttribute('aria-sort'));
th.setAttribute('aria-sort',ascending?'ascending':'descending');const body=table.tBodies[0];
const rows=[...body.rows];rows.sort((a,b)=>{const x=key(a.cells[index]),y=key(b.cells[index]);
const c=typeof x===typeof y?(x<y?-1:x>y?1:0):(typeof x==='number'?-1:1);return ascending?c:-c});
rows.forEach(r=>body.appendChild(r))}
document.querySelectorAll('table.sortable td').forEach(td=>{const text=td.textContent.trim();
if(text in LAYERS)td.style.textAlign='center';else if(text!=='–'&&isNaN(parseFloat(text)))td.style.textAlign='left'});
document.querySelectorAll('table.sortable').forEach(table=>{const heads=table.tHead?table.tHead.rows[0].cells:[];
[...heads].forEach((th,i)=>{th.tabIndex=0;th.title='sort';th.addEventListener('click',()=>sortBy(table,i,th));
th.addEventListener('keydown',e=>{if(e.key==='Enter')sortBy(table,i,th)})})})})();
"""

# What each table the workflow writes is, for the report (results/tables/<stem>.csv; figures/<stem>.csv).
TABLE_TITLES = {
    "distances": "Distances side by side: 2AFC and JND per distance function (benchmark 1)",
    "sensitivity": "Distortion sensitivity: how far each layer's distance moves per distortion (benchmark 1)",
    "image_mean": "Perceptual image mean: each mean's own objective at the pixel mean and after optimisation",
}
# What a reader needs beside a table's title, in the caption of each part that has the column it explains.
TABLE_NOTES = {
    "distances": ("lpips_lin", "lpips_lin is calibrated LPIPS: channel weights fitted on BAPPS 2afc/train, 2AFC of "
                  "the layers together (row 'all', beside the unweighted lpips of that row). Fitted on a few hundred "
                  "generated triplets, as in the offline demo, it need not beat the unweighted sum."),
}


def _table_note(name: str, frame: pd.DataFrame) -> str:
    column, note = TABLE_NOTES.get(name, ("", ""))
    return note if column and column in map(str, frame.columns) else ""
# Where a figure goes in a weights section (beside which table); a benchmark's own figures by their kind.
FIGURE_PLACES = {"heatmap": "best", "fig2_layers": "layers", "fig5_imagenet": "correlations"}
KIND_PLACES = {"layer_boxes": "layers", "flops_scatter": "correlations"}
GRID_COLUMNS = 6  # Table IV: at most this many scores per table, so that every column fits a narrow page
SORT_KEYS = ("weights", "benchmark", "metric", "arch", "layer", "distance")  # extra tables: E, S, M, L order


def _figure_place(name: str) -> str | None:
    kinds = {figure.name: KIND_PLACES.get(figure.kind) for entry in BENCHMARKS.values() for figure in entry.figures}
    return FIGURE_PLACES.get(name) or kinds.get(name)


@dataclass
class _Page:
    """The report being written: numbered sections (for the table of contents), tables and figures."""

    output_dir: Path
    files: dict[str, Path] = field(default_factory=dict)  # file name -> path (the CSVs and PDFs linked)
    parts: list[str] = field(default_factory=list)
    toc: list[tuple[int, str, str]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    n_tables: int = 0
    n_figures: int = 0

    def section(self, level: int, title: str) -> None:
        """A numbered heading (level 1: h2, 2: h3) listed in the table of contents."""
        self.numbers = self.numbers[:level - 1] + [self.numbers[level - 1] + 1 if len(self.numbers) >= level else 1]
        number = ".".join(map(str, self.numbers))
        anchor = "s" + number.replace(".", "-")
        self.toc.append((level, anchor, f"{number} {title}"))
        self.parts.append(f"<h{level + 1} id='{anchor}'>{number} {html.escape(title)}</h{level + 1}>")

    def link(self, name: str) -> str:
        """A link to the file ``name`` (relative to the report), or '' when it is not among the files."""
        path = self.files.get(name)
        if path is None:
            return ""
        href = Path(os.path.relpath(path, self.output_dir)).as_posix()
        return f"<a href='{html.escape(href)}'>{html.escape(href)}</a>"

    def table(self, frame: pd.DataFrame, caption: str, source: str | None = None, digits: int = 3) -> str:
        """A numbered, sortable table with its caption and a link to the CSV ``source`` (a file name)."""
        self.n_tables += 1
        link = self.link(source) if source else ""
        text = f"<b>Table {self.n_tables}.</b> {html.escape(caption)}" + (f" CSV: {link}" if link else "")
        frame = frame.rename_axis(columns=None)
        body = frame.to_html(index=False, escape=False, na_rep="–", border=0, classes="sortable",
                             float_format=lambda v: _number(v, digits))
        body = body.replace("<thead>", f"<caption>{text}</caption><thead>", 1)
        return f"<div class='wide'>{body}</div>"

    def figure(self, path: Path, caption: str) -> str:
        """A numbered figure (the PNG embedded) with its caption and a link to its PDF where there is one."""
        self.n_figures += 1
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        pdf = self.link_path(path.with_suffix(".pdf"))
        return (f"<figure><img alt='{html.escape(path.stem)}' src='data:image/png;base64,{data}'>"
                f"<figcaption><b>Figure {self.n_figures}.</b> {html.escape(caption)}"
                + (f" PDF: {pdf}" if pdf else "") + "</figcaption></figure>")

    def link_path(self, path: Path) -> str:
        known = {p.resolve(): name for name, p in self.files.items()}
        name = known.get(path.resolve())
        return self.link(name) if name else ""

    def pair(self, tables: Sequence[str], figures: Sequence[str]) -> None:
        """Tables beside their figures (stacked when the page is narrow)."""
        if not figures:
            self.parts.extend(tables)
        elif not tables:
            self.parts.extend(figures)
        else:
            self.parts.append(f"<div class='pair'><div class='tables'>{''.join(tables)}</div>"
                              f"<div class='figures'>{''.join(figures)}</div></div>")

    def note(self, text: str) -> None:
        self.parts.append(f"<p class='note'>{html.escape(text)}</p>")


def _number(value: float, digits: int = 3) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "–"
    return f"{value:.{digits}g}"


def _display_names(frame: pd.DataFrame) -> pd.DataFrame:
    """The shared display names (analysis.labels) for architecture and benchmark columns and values."""
    frame = frame.copy()
    if "arch" in frame:
        frame["arch"] = frame["arch"].map(lambda a: arch_label(a) if isinstance(a, str) else a)
    if "benchmark" in frame:
        frame["benchmark"] = frame["benchmark"].map(lambda b: benchmark_label(b) if isinstance(b, str) else b)
    return frame.rename(columns={c: benchmark_label(c) for c in frame.columns if isinstance(c, str)})


def in_layer_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by the identifying columns present (:data:`SORT_KEYS`), layers E, S, M, L (others after), other
    keys in their order of first appearance; columns named E, S, M, L in that order too."""
    keys = [c for c in SORT_KEYS if c in frame.columns]
    layers = {label: i for i, label in enumerate(LAYER_LABELS)}

    def key(column: pd.Series) -> pd.Series:
        if column.name == "layer":
            return column.map(lambda v: (layers.get(v, len(layers)), str(v)))
        first = {value: i for i, value in enumerate(dict.fromkeys(column))}
        return column.map(first)

    frame = frame.sort_values(keys, key=key, kind="stable") if keys else frame
    columns = [c for c in frame.columns if c not in layers] + [c for c in LAYER_LABELS if c in frame.columns]
    return frame[columns].reset_index(drop=True)


def split_wide(frame: pd.DataFrame, keys: Sequence[str]) -> dict[str, pd.DataFrame]:
    """A table whose value columns are ``<group>_<name>`` for two or more groups, as one table per group (so that
    every column fits a narrow page); any other table as itself, under the name ''."""
    values = [c for c in frame.columns if c not in keys]
    groups = list(dict.fromkeys(str(c).split("_", 1)[0] for c in values))
    if len(groups) < 2 or not all("_" in str(c) for c in values):
        return {"": frame}
    return {group: frame[[*keys, *(c for c in values if str(c).startswith(f"{group}_"))]].rename(
        columns=lambda c: c.split("_", 1)[1] if c not in keys else c) for group in groups}


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


def _with_interval(value, low, high, digits: int = 3) -> str:
    """``value`` over ``[low–high]``: the interval on a line of its own that never wraps inside its brackets."""
    if pd.isna(value):
        return "–"
    text = f"{value:.{digits}g}"
    if pd.isna(low) or pd.isna(high):
        return text
    return f"{text}<br><span class='nw iv'>[{low:.{digits}g}–{high:.{digits}g}]</span>"


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
    archs = archs.rename(columns={b: benchmark_label(b) for b in benchmarks})
    archs["not separable from (95% position intervals overlap)"] = [
        ", ".join(map(arch_label, groups[arch])) or "separable from all" for arch in ranked["arch"]]
    refs = references(variant)
    refs_view = pd.DataFrame({"reference (network-free)": refs["arch"].map(arch_label).to_list(),
                              "what it is": refs["arch"].map(reference_description).to_list(),
                              **cells(refs, benchmarks)}).rename(columns={b: benchmark_label(b) for b in benchmarks})
    return archs, refs_view


def reference_description(arch: str) -> str:
    """What a reference row is, from the benchmarks' registry entries (``Benchmark.references``)."""
    found = dict.fromkeys(entry.references[arch] for entry in BENCHMARKS.values() if arch in entry.references)
    return "; ".join(found) or "network-free reference"


def best_layer_grid(best: pd.DataFrame, weights: str, benchmark: str | None = None) -> pd.DataFrame:
    """Table IV as a grid: architecture x metric -> layer letter, the best architecture underlined; one
    benchmark's columns (headed by the metrics' display names), or every benchmark's (``benchmark<br>metric``)."""
    rows = best[best["weights"] == weights].copy()
    if benchmark is not None:
        rows = rows[rows["benchmark"] == benchmark]
    rows["cell"] = [f"<u><b>{layer}</b></u>" if top else html.escape(str(layer))
                    for layer, top in zip(rows["layer"], rows["best_overall"])]
    order = [(b, m) for b in benchmarks_in(rows) for m in metric_order(b, rows.loc[rows["benchmark"] == b, "metric"])]
    names = {(b, m): html.escape(metric_label(b, m)) if benchmark else f"{b}<br>{m}" for b, m in order}
    rows["column"] = [names[b, m] for b, m in zip(rows["benchmark"], rows["metric"])]
    grid = rows.pivot(index="arch", columns="column", values="cell").reindex(columns=[names[k] for k in order])
    grid.index = grid.index.map(arch_label)
    return grid.reset_index().rename(columns={"arch": "architecture"})


def _of(frame: pd.DataFrame, weights: str) -> pd.DataFrame:
    """The rows of one weights variant (all rows of a table without a weights column)."""
    return frame[frame["weights"] == weights] if "weights" in frame else frame


def correlation_view(correlations: pd.DataFrame, weights: str, top: int = 15) -> tuple[pd.DataFrame, str]:
    """The report's score/attribute correlations of one weights variant (best layer): the ``top`` smallest
    Spearman p-values and every test tied with the last of them (no arbitrary pick among ties), and a sentence
    stating n, the smallest p attainable at that n and how many tests reach it."""
    correlations = _of(correlations, weights)
    scored = correlations[(correlations["analysis"] == "score_vs_attribute")
                          & (correlations["layer"] == "best")].dropna(subset=["spearman"])
    if scored.empty:
        return scored, "No correlations: too few architectures or constant values."
    ordered = scored.sort_values(["spearman_p", "benchmark", "metric", "variable"], kind="stable")
    cut = ordered["spearman_p"].iloc[min(top, len(ordered)) - 1]
    shown = ordered[ordered["spearman_p"] <= cut]
    sizes = sorted(set(scored["n"].astype(int)))
    floor = {n: smallest_p(n) for n in sizes}
    reach = sum(int((group["spearman_p"] <= floor[n] * (1 + 1e-9)).sum()) for n, group in scored.groupby("n"))
    size_text = ", ".join(f"n = {n} (smallest attainable p {floor[n]:.3g})" if n < EXACT_BELOW else
                          f"n = {n} (asymptotic p)" for n in sizes)
    text = (f"{len(scored)} tests over {size_text} architectures; {reach} reach the smallest attainable p. Shown: "
            f"the {len(shown)} with the smallest Spearman p (p ≤ {cut:.3g}, every tie included). Many tests at "
            "once: small p-values are expected by chance. Below 10 points the p-values are exact permutation "
            "p-values (8 or 9: 9999 seeded permutations). ImageNet top-1 is torchvision's metadata, not the "
            "paper's Table I.")
    view = shown.drop(columns=["analysis", "layer", "weights", "p_method"], errors="ignore")
    return view, text


def _reproduction_section(page: _Page, scores: pd.DataFrame | None, published: pd.DataFrame | None,
                          synthetic: Sequence[str]) -> None:
    if published is None or scores is None:
        return
    page.section(1, f"Reproduction: {PUBLISHED_LABEL} vs this run")
    present = benchmarks_in(scores)
    real = [b for b in present if b not in synthetic]
    if synthetic:
        page.note(f"Not compared: {', '.join(map(benchmark_label, [b for b in present if b in synthetic]))}, which "
                  "ran on synthetic demo data here; its scores say nothing about the paper's.")
    if not real:
        return
    table = reproduction(scores, published, exclude=synthetic)
    if table.empty:
        page.note("No scores of this run match the published ones (ImageNet weights, the paper's benchmarks, "
                  "metrics, architectures and layers), so there is nothing to compare.")
        return
    inside = table["inside_interval"].dropna()
    page.note(f"{len(table)} scores of this run have a published value. "
              + (f"{int(inside.sum())} of {len(inside)} published values lie inside this run's 95% interval."
                 if len(inside) else "This run has no intervals to check the published values against."))
    page.note("Each cell: this run - published, ✓ where the published value lies inside this run's 95% interval, "
              "✗ where it does not (hover a cell for both values).")
    for benchmark in benchmarks_in(table):
        rows = in_layer_order(table[table["benchmark"] == benchmark])
        grid = reproduction_grid(rows)
        chunks = [grid.columns[2 + i:2 + i + GRID_COLUMNS] for i in range(0, len(grid.columns) - 2, GRID_COLUMNS)]
        for i, columns in enumerate(chunks):
            part = f" (part {i + 1} of {len(chunks)})" if len(chunks) > 1 else ""
            inside = rows["inside_interval"].dropna()
            page.parts.append(page.table(grid[[*grid.columns[:2], *columns]], (
                f"{benchmark_label(benchmark)}{part}: this run - published; {int(inside.sum())} of {len(inside)} "
                "published values inside this run's interval." if len(inside) else
                f"{benchmark_label(benchmark)}{part}: this run - published (no intervals in this run).")))


def reproduction_grid(rows: pd.DataFrame) -> pd.DataFrame:
    """One benchmark's :func:`~lossnet.analysis.published.reproduction` rows as architecture x layer rows and one
    column per metric: the difference, ✓/✗ for the published value inside/outside this run's interval, both values
    in the cell's tooltip."""
    def cell(row) -> str:
        mark = {True: " ✓", False: " ✗"}.get(None if pd.isna(row.inside_interval) else bool(row.inside_interval), "")
        interval = "" if pd.isna(row.ci_low) else f" [{row.ci_low:.4g}, {row.ci_high:.4g}]"
        title = f"published {row.published:.4g}; this run {row.this_run:.4g}{interval}"
        return f"<span class='nw' title='{html.escape(title)}'>{row.difference:+.3g}{mark}</span>"

    rows = rows.assign(cell=[cell(row) for row in rows.itertuples()],
                       column=[metric_label(b, m) for b, m in zip(rows["benchmark"], rows["metric"])])
    order = list(dict.fromkeys(metric_label(b, m) for b in benchmarks_in(rows)
                               for m in metric_order(b, rows.loc[rows["benchmark"] == b, "metric"])))
    grid = rows.pivot(index=["arch", "layer"], columns="column", values="cell").reindex(columns=order)
    grid = grid.reset_index()
    grid = in_layer_order(grid.assign(arch=grid["arch"]))
    grid["arch"] = grid["arch"].map(arch_label)
    return grid.rename(columns={"arch": "architecture"})


def _weights_section(page: _Page, weights: str, rankings: pd.DataFrame, best: pd.DataFrame, summary: pd.DataFrame,
                     correlations: pd.DataFrame, figures: Mapping[str, list[Path]], top: int) -> None:
    figure = lambda path: page.figure(path, CAPTIONS.get(path.stem, path.stem.replace("_", " "))
                                      + f" Weights: {weights}.")
    placed = {place: [figure(p) for p in figures.get(weights, []) if _figure_place(p.stem) == place]
              for place in ("best", "layers", "correlations")}
    page.section(1, f"Weights: {weights}")
    page.note("Each figure plots one metric per benchmark, its figure metric (named on the axis); the tables and "
              "results/tables/scores.csv have every metric.")
    ranked, refs = rankings_view(rankings, weights)
    n_archs = len(ranked)
    intervals = any(is_interval_column(c) for c in rankings.columns)
    page.section(2, "Rankings (Table III)")
    page.note(f"{n_archs} architecture{'s' if n_archs != 1 else ''} ranked 1..{n_archs} among themselves (1 = best). "
              + ("In brackets: 95% bootstrap intervals of each rank over joint resamples of the benchmark items "
                 "(triplets, pairs, test samples). Positions whose intervals overlap cannot be told apart at this "
                 "sample size: read them as tied." if intervals else
                 "No bootstrap replicates were given: no rank intervals."))
    page.parts.append(page.table(ranked, f"Mean rank per benchmark and overall, weights {weights}.", "rankings.csv"))
    if len(refs):
        page.note("Each reference (no loss network: a pixel distance or a pixel-loss baseline) with the mean rank "
                  "it would take per benchmark against the architectures alone; it moves none of them.")
        page.parts.append(page.table(refs, "Network-free references (not ranked).", "rankings.csv"))
    page.section(2, "Best extraction layer (Table IV)")
    variant = best[best["weights"] == weights]
    grids = []
    for benchmark in benchmarks_in(variant):
        grid = best_layer_grid(best, weights, benchmark)
        chunks = [grid.columns[1 + i:1 + i + GRID_COLUMNS] for i in range(0, len(grid.columns) - 1, GRID_COLUMNS)]
        for i, columns in enumerate(chunks):
            part = f" (part {i + 1} of {len(chunks)})" if len(chunks) > 1 else ""
            grids.append(page.table(grid[[grid.columns[0], *columns]],
                                    f"{benchmark_label(benchmark)}{part}: the best layer of each architecture per "
                                    "score; underlined: the best architecture for that score.", "best_layers.csv"))
    page.pair(grids, placed["best"])
    page.section(2, "How often each layer is best")
    counts = in_layer_order(summary[summary["weights"] == weights].drop(columns="weights"))
    page.pair([page.table(_display_names(counts), "Wins per layer over the Table IV cells of each benchmark.",
                          "layer_summary.csv")], placed["layers"])
    page.section(2, "Correlations with attributes")
    view, text = correlation_view(correlations, weights, top)
    page.note(text)
    tables = [page.table(_display_names(view), "Score/attribute correlations of each architecture's best layer.",
                         "correlations.csv")] if len(view) else []
    page.pair(tables, placed["correlations"])
    agreement = _of(correlations, weights)
    agreement = agreement[agreement["analysis"] == "benchmark_agreement"]
    if not agreement.empty:
        page.section(2, "Agreement between benchmarks")
        view = agreement.drop(columns=["analysis", "metric", "layer", "weights"]).rename(columns={"variable": "vs"})
        view["vs"] = view["vs"].map(benchmark_label)
        page.parts.append(page.table(_display_names(view), "Spearman and Pearson correlation of the architectures' "
                                     "mean ranks on two benchmarks.", "correlations.csv"))


def build_report(rankings: pd.DataFrame, best: pd.DataFrame, summary: pd.DataFrame, correlations: pd.DataFrame,
                 figures: Iterable[Path | str], output: Path | str, top: int = 15, *, banner: Iterable[str] = (),
                 provenance: Mapping[str, str] | None = None, tables: Mapping[str, pd.DataFrame] | None = None,
                 images: Iterable[Path | str] = (), scores: pd.DataFrame | None = None,
                 attributes: pd.DataFrame | None = None, published: pd.DataFrame | None = None,
                 synthetic: Sequence[str] = (), files: Iterable[Path | str] = ()) -> Path:
    """Write the report: banner (synthetic data, random weights), provenance, table of contents; per weights
    variant its rankings, Table IV per benchmark, layer counts, correlations (``top`` smallest p and their ties)
    and agreement, each beside its figures; the workflow's other ``tables`` ({name: frame}) beside the ``images``
    of the same name; the comparison with the ``published`` scores (not for the ``synthetic`` benchmarks); the
    explorer of ``scores`` and ``attributes``; links to ``files`` (CSVs, PDFs)."""
    output = Path(output)
    page = _Page(output.parent.resolve(), {Path(f).name if Path(f).suffix == ".csv" else str(f): Path(f).resolve()
                                           for f in files})
    by_weights: dict[str, list[Path]] = {}
    for path in map(Path, figures):
        by_weights.setdefault(path.parent.name, []).append(path)
    for weights in dict.fromkeys(rankings["weights"]):
        _weights_section(page, weights, rankings, best, summary, correlations, by_weights, top)
    images = [Path(p) for p in images]
    for name, frame in (tables or {}).items():
        page.section(1, TABLE_TITLES.get(name, name.replace("_", " ")))
        keys = [c for c in frame.columns if c in (*SORT_KEYS, "label")]
        parts = [page.table(_display_names(in_layer_order(part)), (f"{group}: " if group else "")
                            + TABLE_TITLES.get(name, name.replace("_", " ")) + ". " + _table_note(name, part),
                            f"{name}.csv", digits=4)
                 for group, part in split_wide(frame, keys).items()]
        page.pair(parts, [page.figure(p, CAPTIONS.get(p.stem, p.stem)) for p in images if p.stem == name])
    others = [p for p in images if p.stem not in (tables or {})]
    if others:
        page.section(1, "Examples")
        page.parts.extend(page.figure(p, CAPTIONS.get(p.stem, p.stem.replace("_", " ") + ".")) for p in others)
    _reproduction_section(page, scores, published, synthetic)
    if scores is not None:
        page.section(1, "Explorer")
        page.parts.append(explorer_html(scores, attributes))
    if page.files:
        page.section(1, "Files")
        links = [page.link(name) for name in sorted(page.files, key=lambda n: str(page.files[n]))]
        page.parts.append("<ul class='files'>" + "".join(f"<li>{link}</li>" for link in links) + "</ul>")
    head = [f"<h1>lossnet report</h1><p class='note'>Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC "
            "from results/tables/scores.csv. Ranks: 1 = best (protocol section 7). Click a column header to sort."
            "</p>", *_head(banner, provenance), f"<nav class='toc'><b>Contents</b><ol>{_nested(page.toc)}</ol></nav>"]
    page_html = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>lossnet report</title>"
                 f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_CSS}</style></head>"
                 f"<body>{''.join(head + page.parts)}<script>{_SORT_JS}</script></body></html>")
    with atomic_output(output) as partial:
        partial.write_text(page_html, encoding="utf-8")
    return output


def _nested(toc: list[tuple[int, str, str]]) -> str:
    """The table of contents as nested lists (level 2 entries inside their level 1 entry)."""
    out, sub = [], False
    for level, anchor, title in toc:
        item = f"<a href='#{anchor}'>{html.escape(title)}</a>"
        if level == 1:
            if out:
                out.append("</ol></li>" if sub else "</li>")
            out.append(f"<li>{item}")
            sub = False
        else:
            if not sub:
                out.append("<ol>")
                sub = True
            out.append(f"<li>{item}</li>")
    if out:
        out.append("</ol></li>" if sub else "</li>")
    return "".join(out)
