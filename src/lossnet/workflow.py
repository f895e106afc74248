"""Glue for the Snakemake ``script:`` entry points: logging to the rule's log file and config-defined archs."""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any


def start(snakemake: Any) -> None:
    """Send logging, warnings and progress bars (stderr) to the rule's ``log:`` file."""
    if snakemake.log:
        sys.stderr = open(snakemake.log[0], "a", buffering=1)
        sys.excepthook = _report_to_log_and_terminal
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    logging.captureWarnings(True)
    logging.getLogger("lossnet").info("rule %s, wildcards %s", snakemake.rule, dict(snakemake.wildcards))


def _report_to_log_and_terminal(kind, error, trace) -> None:
    # The full traceback goes to the rule's log; the terminal (Snakemake's output) gets the one-line reason.
    traceback.print_exception(kind, error, trace, file=sys.stderr)
    print(f"{kind.__name__}: {error}", file=sys.__stderr__)


def ensure_architecture(name: str, layers: dict[str, str], build_kwargs: dict | None = None) -> None:
    """Register a config-defined architecture in this job's process (built-ins are already there)."""
    from .zoo import ARCHITECTURES, register_architecture

    if name not in ARCHITECTURES or dict(ARCHITECTURES[name].layers) != dict(layers):
        register_architecture(name, layers, build_kwargs)
