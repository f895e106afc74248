"""Small helpers every layer uses: where to compute, and how to write a file so that it appears only when whole."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` picks the GPU when there is one; anything else is passed to :class:`torch.device`."""
    import torch  # here: the analysis modules use this module without paying for torch

    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str = ".partial") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success, delete it on any error.

    Readers and Snakemake then never see a half-written file under the final name, whatever kills the writer.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + suffix)
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)


def write_csv(table, path: str | os.PathLike, **to_csv_kwargs) -> Path:
    """Write a pandas table as CSV through :func:`atomic_output` (no index unless asked)."""
    to_csv_kwargs.setdefault("index", False)
    with atomic_output(path) as partial:
        table.to_csv(partial, **to_csv_kwargs)
    return Path(path)


def exit_on_sigterm() -> None:
    """Turn SIGTERM (Snakemake stopping its jobs on Ctrl-C, SLURM's scancel or time limit) into ``SystemExit``, so
    that :func:`atomic_output` and other cleanup run instead of the process vanishing with a temporary file left."""

    def _exit(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
