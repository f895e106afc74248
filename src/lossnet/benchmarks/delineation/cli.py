"""The ``lossnet delineation-metrics`` command (registered by :mod:`lossnet.cli`)."""

from __future__ import annotations

import argparse

from .metrics import DEFAULT_SLACK, DEFAULT_THRESHOLD


def register(commands: argparse._SubParsersAction) -> None:
    from ...cli import non_negative, output_argument, probability

    metrics = commands.add_parser(
        "delineation-metrics", help="score road predictions (PNG probabilities) against MRD-style .tif maps",
        description="Correctness, completeness and quality (protocol section 5) of every prediction in PRED_DIR "
                    "(8-bit greyscale PNGs, probability = value / 255) against the truth map of the same stem in "
                    "TRUTH_DIR (.tif, road = non-zero), one CSV row per image, NaN where undefined.")
    metrics.add_argument("pred_dir", help="folder of your predictions: 8-bit greyscale PNGs (probability = value / 255)")
    metrics.add_argument("truth_dir", help="folder of truth maps (.tif, road = non-zero), same file stems as PRED_DIR")
    metrics.add_argument("--threshold", type=probability, default=DEFAULT_THRESHOLD, help="road where probability > this")
    metrics.add_argument("--slack", type=non_negative, default=DEFAULT_SLACK, help="tolerance in pixels")
    output_argument(metrics, "image, correctness, completeness, quality")
    metrics.set_defaults(run=_metrics, outputs=("output",))


def _metrics(args: argparse.Namespace) -> None:
    from ...cli import write_table
    from .metrics import score_predictions

    write_table(score_predictions(args.pred_dir, args.truth_dir, args.threshold, args.slack), args.output)
