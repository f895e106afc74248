"""Studies beyond the four benchmarks, each a plug-in like a benchmark: a module here, one
``rules/experiments/<name>.smk`` (which lists its outputs in ``TARGETS[<name>]``), one config section, and one entry
in :data:`EXPERIMENTS`. The workflow includes every registered experiment's rules; config ``experiments`` says
which ones the default target builds (and the report shows).

Outside Snakemake, with the workflow's defaults: :func:`style_transfer`, :func:`cluster` and
:func:`train_generative` (the functions shadow the names of the first module, on purpose: import that module's
other names with ``from lossnet.experiments.style_transfer import ...``).
"""

from __future__ import annotations

# name -> what it is (in the paper's and the seeds' terms); the order is the report's.
EXPERIMENTS: dict[str, str] = {
    "image_mean": "perceptual image mean: one image optimised from the pixel mean of a set under each distance",
    "seed003": "seed 003 as it ran: its 2AFC table beside the numbers it reports, and its image mean of jitter sets",
    "kumar": "Kumar et al.: ImageNet accuracy against perceptual score over every torchvision classifier",
    "style_transfer": "style transfer (Gatys et al.) with each loss network and weights variant, as seed 003 runs it",
    "clustering": "k-means in the feature space of each loss network, scored by NMI, ARI and F1 (seed 003)",
    "generative": "autoencoder and GLO trained with each loss, and every model scored under every loss (seed 003)",
}

from .clustering import cluster  # noqa: E402
from .generative import train_generative  # noqa: E402
from .style_transfer import style_transfer  # noqa: E402

__all__ = ["EXPERIMENTS", "cluster", "style_transfer", "train_generative"]
