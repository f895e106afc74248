"""Display names shared by the figures, the report and the CLI, and which figures a run draws.

Light on purpose (no plotting imports): the workflow asks :func:`figure_names` while Snakemake parses the rules.
"""

from __future__ import annotations

from typing import Iterable

from ..benchmarks import BENCHMARKS, benchmark_label, metric_label

__all__ = ["ARCH_LABELS", "CAPTIONS", "arch_label", "benchmark_label", "figure_names", "metric_label"]

ARCH_LABELS = {
    "alexnet": "AlexNet", "vgg11": "VGG-11", "vgg16": "VGG-16", "vgg16_bn": "VGG-16_bn", "vgg19": "VGG-19",
    "resnet18": "ResNet-18", "resnet50": "ResNet-50", "resnext50_32x4d": "ResNeXt-50 32x4d",
    "googlenet": "GoogLeNet", "inception_v3": "Inception v3", "efficientnet_b0": "EfficientNet-B0",
    "efficientnet_b7": "EfficientNet-B7", "densenet121": "DenseNet-121", "squeezenet1_1": "SqueezeNet 1.1",
}
# The figures every run draws (one panel per benchmark); benchmarks add their own in the registry.
_COMMON_CAPTIONS = {
    "fig2_layers": "Score of each architecture per extraction layer, early (E) to late (L), one score per benchmark.",
    "fig5_imagenet": "Score of each architecture's best layer against its ImageNet top-1 accuracy; "
                     "the line is the upper (Pareto) frontier.",
    "heatmap": "Scores per architecture (rows) and extraction layer (columns); the box marks each row's best layer.",
    "image_mean": "Perceptual image mean (seed 003): one image optimised from the pixel mean of a set of related "
                  "images under each loss network and pixel distance.",
}
CAPTIONS = {**_COMMON_CAPTIONS,
            **{figure.name: figure.caption for entry in BENCHMARKS.values() for figure in entry.figures},
            **{name: caption for entry in BENCHMARKS.values() for name, caption in entry.captions.items()}}


def arch_label(arch: str) -> str:
    """Display name of an architecture (the paper's spelling for its 14)."""
    return ARCH_LABELS.get(arch, arch)


def figure_names(benchmarks: Iterable[str]) -> list[str]:
    """The figures a run over ``benchmarks`` (config ``benchmarks``) produces, in order."""
    chosen = set(benchmarks)
    own = [figure.name for name, entry in BENCHMARKS.items() if name in chosen for figure in entry.figures]
    return ["fig2_layers", *sorted(own), "fig5_imagenet", "heatmap"]
