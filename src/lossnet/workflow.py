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
    from ._util import exit_on_sigterm

    exit_on_sigterm()  # a stopped job removes its temporary files
    logging.getLogger("lossnet").info("rule %s, wildcards %s", snakemake.rule, dict(snakemake.wildcards))
    # Architectures defined in the config exist in this job's process too (built-ins are always there).
    from .zoo import register_from_config

    register_from_config(snakemake.config.get("architectures", []))


def _report_to_log_and_terminal(kind, error, trace) -> None:
    # The full traceback goes to the rule's log; the terminal (Snakemake's output) gets the one-line reason.
    traceback.print_exception(kind, error, trace, file=sys.stderr)
    print(f"{kind.__name__}: {error}", file=sys.__stderr__)


def validate_config(config: dict, schema: str) -> None:
    """Validate ``config`` against ``schema`` (filling in its defaults); on a mistake, name the key and the
    problem in one line instead of Snakemake's dump of the whole schema."""
    import jsonschema
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, schema)
    except WorkflowError as error:
        cause = error.__context__  # Snakemake keeps the jsonschema error only as the context
        if not isinstance(cause, jsonschema.ValidationError):
            raise
        where = "config" + "".join(f"[{part!r}]" if isinstance(part, int) else f".{part}" for part in cause.path)
        raise WorkflowError(f"{where}: {cause.message}") from None
