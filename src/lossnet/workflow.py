"""Glue for the Snakemake ``script:`` entry points: logging to the rule's log file and config-defined archs."""

from __future__ import annotations

import fcntl
import logging
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .training import Runtime, TrainingJob


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


def runtime_of(snakemake: Any, section: str) -> "Runtime":
    """The runtime knobs of a job (config ``<section>.runtime``, the ``device`` and the job's threads).

    They come from the config, never from ``params``: Snakemake reruns a job whose params change, and how a job
    runs (workers, threads, batch sizes of evaluation, memory) must never rerun it.
    """
    from .training import Runtime

    config = snakemake.config
    knobs = {key: value for key, value in config[section].get("runtime", {}).items() if key != "threads"}
    return Runtime.from_config(knobs, device=config.get("device", "auto"), threads=snakemake.threads)


def training_job(snakemake: Any, section: str) -> "TrainingJob":
    """The :class:`~lossnet.training.TrainingJob` of a training rule of benchmark or experiment ``section``.

    The rule gives input ``data`` (the prepared file it trains on), params ``network`` (a
    :class:`~lossnet.spec.LossSpec` as plain data), ``settings`` (its config's result-defining section, whole)
    and ``seed``; the runtime knobs and the checkpoint root come from the config (:func:`runtime_of`).
    """
    from .spec import LossSpec
    from .training import TrainingJob

    params = snakemake.params
    return TrainingJob(section, LossSpec.from_params(params.network), {"train": snakemake.input.data},
                       dict(params.settings), params.seed, snakemake.config.get("checkpoint_dir", "results/checkpoints"),
                       runtime_of(snakemake, section))


def _report_to_log_and_terminal(kind, error, trace) -> None:
    # The full traceback goes to the rule's log; the terminal (Snakemake's output) gets the one-line reason.
    traceback.print_exception(kind, error, trace, file=sys.stderr)
    print(f"{kind.__name__}: {error}", file=sys.__stderr__)


def anchor_paths(config: dict, schema: str | Path, base: str | Path | None = None) -> None:
    """Make the config's paths of files from outside absolute, against ``base`` (the folder Snakemake started in).

    The run itself works in ``config["workdir"]`` (the demo: its own folder): a state_dict, an extracted BAPPS
    folder or an image folder named relative to where the user typed the command must still be found there. The
    schema says which keys are such paths (``x-path: true``; ``x-path: file``: only a value with a file suffix,
    the rest being names such as scikit-image's images), and which values are keywords, not paths
    (``x-keywords``), so that no section is named here.
    """
    import yaml

    _anchor(config, yaml.safe_load(Path(schema).read_text()), Path(base or Path.cwd()))


def _anchor(value: Any, schema: dict, base: Path) -> None:
    if not isinstance(value, dict):
        return
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        sub = schema.get("properties", {}).get(key, extra if isinstance(extra, dict) else None)
        if not sub:
            continue
        kind = sub.get("x-path")
        if kind and isinstance(item, str) and item not in sub.get("x-keywords", ()) and not Path(item).is_absolute():
            if kind is True or Path(item).suffix:
                value[key] = str(base / item)
        else:
            _anchor(item, sub, base)


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


_RUN_MARK: TextIO | None = None  # this Snakemake's shared lock on .snakemake/lossnet-run.lock, held until it exits


def clear_stale_locks(workdir: str | Path = ".") -> list[Path]:
    """Remove the lock files a killed Snakemake left in ``workdir/.snakemake/locks``, and only those.

    Snakemake locks a directory with plain files that a SIGKILL or a power loss leaves behind, so that the same
    command then stops with "Directory cannot be locked" until ``--unlock``. Every Snakemake of this workflow holds
    a shared ``flock`` on ``.snakemake/lossnet-run.lock`` from the moment it reads the Snakefile until it exits
    (the kernel releases it however the process ends). Whoever gets the lock exclusively is the only Snakemake
    alive here, so the lock files it finds are stale and are removed; otherwise they belong to a running Snakemake
    and stay. Call it once, in the main Snakemake process (not in job subprocesses). Returns the removed files.
    """
    global _RUN_MARK
    if _RUN_MARK is not None:
        return []
    meta = Path(workdir) / ".snakemake"
    meta.mkdir(parents=True, exist_ok=True)
    mark = open(meta / "lossnet-run.lock", "a")
    removed: list[Path] = []
    try:
        fcntl.flock(mark, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass  # another Snakemake of this workflow is running here: its locks are real
    else:
        for lock in sorted((meta / "locks").glob("*.lock")):
            lock.unlink(missing_ok=True)
            removed.append(lock)
        if removed:
            print(f"lossnet: removed {len(removed)} lock file(s) in {meta / 'locks'} left by a Snakemake that was "
                  "killed (no other Snakemake is running here)", file=sys.stderr)
    fcntl.flock(mark, fcntl.LOCK_SH)  # blocks only while another run briefly holds it exclusively
    _RUN_MARK = mark
    return removed
