"""Studies beyond the four benchmarks, each a plug-in like a benchmark: a module here, one
``rules/experiments/<name>.smk`` (which lists its outputs in ``TARGETS[<name>]``), one config section, and one entry
in :data:`EXPERIMENTS`. The workflow includes every registered experiment's rules; config ``experiments`` says
which ones the default target builds (and the report shows). Importing this module is cheap.
"""

from __future__ import annotations

# name -> what it is (in the paper's and the seeds' terms); the order is the report's.
EXPERIMENTS: dict[str, str] = {
    "image_mean": "perceptual image mean: one image optimised from the pixel mean of a set under each distance",
    "seed003": "seed 003 as it ran: its 2AFC table beside the numbers it reports, and its image mean of jitter sets",
    "kumar": "Kumar et al.: ImageNet accuracy against perceptual score over every torchvision classifier",
}
