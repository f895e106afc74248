"""The benchmarks: one package each, and :data:`BENCHMARKS`, the one place that names them.

Rankings, tables, figures, the report and the CLI read this registry; none of them names a benchmark. Adding a
benchmark means one package here, one entry below, one ``rules/benchmarks/<name>.smk`` with its scripts, and one
config/schema section (docs/architecture.md). Importing this module is cheap: no benchmark package is imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Metric:
    """One headline score of a benchmark: its name in the scores, display label (with unit) and direction."""

    name: str
    label: str
    higher_is_better: bool = True


@dataclass(frozen=True)
class BenchmarkFigure:
    """A figure drawn only for one benchmark: ``kind`` is a figure function of :mod:`lossnet.analysis.figures`."""

    name: str
    kind: str
    caption: str


@dataclass(frozen=True)
class Benchmark:
    """What the analysis needs to know of a benchmark: labels, metrics, figures and its reference rows."""

    name: str
    label: str
    metrics: tuple[Metric, ...]
    figure_metric: str  # the one score the per-benchmark figures show (Table IV's choice where the paper made one)
    references: dict[str, str] = field(default_factory=dict)  # reference arch -> what it is (weights "none")
    figures: tuple[BenchmarkFigure, ...] = ()
    commands: str = ""  # a module with ``register(subparsers)`` adding the benchmark's ``lossnet`` commands
    captions: dict[str, str] = field(default_factory=dict)  # results/figures/<name>.png its rules draw -> caption

    def metric(self, name: str) -> Metric | None:
        return next((metric for metric in self.metrics if metric.name == name), None)


# Benchmark 2's test sets (name -> display label) and scales: its metrics, rules and readers all take them from here.
SUPERRES_TEST_SETS = {"set5": "Set5", "set14": "Set14", "bsd100": "BSD100"}
SUPERRES_SCALES = (4, 8)


def _register(*benchmarks: Benchmark) -> dict[str, Benchmark]:
    return {benchmark.name: benchmark for benchmark in benchmarks}


# In the paper's order (B1..B4): rankings list the benchmarks in this order.
BENCHMARKS: dict[str, Benchmark] = _register(
    Benchmark(
        name="similarity",
        label="B1 perceptual similarity",
        metrics=(Metric("2afc", "2AFC score (0–1)"), Metric("jnd", "JND mAP (0–1)")),
        figure_metric="2afc",
        references={"l2": "pixel L2 distance", "ssim": "1 - SSIM", "mmdpp": "MMD++ patch distance"},
        figures=(BenchmarkFigure(
            "fig4_flops", "flops_scatter",
            "Benchmark 1: score against log10 MFLOPS up to the extraction layer, every architecture and layer."),),
        commands="lossnet.benchmarks.similarity.cli",
    ),
    Benchmark(
        name="superres",
        label="B2 super-resolution",
        metrics=tuple(
            Metric(f"{kind}_{dataset}_x{scale}", f"{kind.upper()} {label} x{scale}{unit}")
            for kind, unit in (("psnr", " (dB)"), ("ssim", ""))
            for dataset, label in SUPERRES_TEST_SETS.items()
            for scale in SUPERRES_SCALES
        ),
        figure_metric="psnr_bsd100_x4",
        references={"bicubic": "bicubic upsampling (no training)", "pixel": "SR network trained with pixel MSE"},
        commands="lossnet.benchmarks.superres.cli",
        captions={"superres_examples": "Benchmark 2 examples: a centred crop of one test image, left to right the "
                                       "low-resolution input (nearest-neighbour upscaled), bicubic upsampling, the "
                                       "networks trained with the pixel MSE and with the loss networks, and the "
                                       "high-resolution original."},
    ),
    Benchmark(
        name="delineation",
        label="B3 road delineation",
        metrics=(Metric("correctness", "correctness (0–1)"), Metric("completeness", "completeness (0–1)"),
                 Metric("quality", "quality (0–1)")),
        figure_metric="quality",  # the paper's Figure 5
        references={"pixel": "U-Net trained with BCE only"},
        commands="lossnet.benchmarks.delineation.cli",
    ),
    Benchmark(
        name="autoencoding",
        label="B4 autoencoder embeddings",
        metrics=(Metric("svhn", "SVHN test accuracy (0–1)"), Metric("stl10", "STL-10 test accuracy (0–1)")),
        figure_metric="stl10",
        references={"pixel": "autoencoder trained with pixel MSE"},
        figures=(BenchmarkFigure(
            "fig3_autoencoding", "layer_boxes",
            "Benchmark 4: downstream test accuracy of the autoencoder embeddings, grouped by layer."),),
    ),
)


def benchmark_order(names) -> list[str]:
    """``names`` in the registry's order, unregistered ones after, alphabetically."""
    names = set(names)
    return [name for name in BENCHMARKS if name in names] + sorted(names - set(BENCHMARKS))


def metric_label(benchmark: str, metric: str) -> str:
    """The display label of ``metric`` (the metric's own name when the registry does not know it)."""
    entry = BENCHMARKS.get(benchmark)
    known = entry.metric(metric) if entry else None
    return known.label if known else metric


def benchmark_label(benchmark: str) -> str:
    entry = BENCHMARKS.get(benchmark)
    return entry.label if entry else benchmark
