"""Small helpers every layer uses: where to compute, and how to write a file so that it appears only when whole."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, TextIO

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
        with contextlib.suppress(OSError):  # a read-only file system refuses even this: keep the first error
            partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)


def check_output_path(path: str | os.PathLike, option: str = "--output") -> None:
    """Fail now, not after the computation, when a file cannot be written at ``path`` (every CLI command's outputs
    are checked by this before it runs)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{option} {path} is a directory: give the path of a file, e.g. {path / 'scores.csv'}")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"{option} {path} cannot be written: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path} cannot be written: no permission to write in {folder} (or it is on a "
                         "read-only file system)")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{option} {path} cannot be written: the file exists and is read-only")


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


class _PlainProgress:
    """Progress as whole lines (``desc: 35% 70/200 [12s, 5.8 it/s] loss=0.12``) every ``every`` percent: what a log
    file or a SLURM output file wants, where tqdm's carriage returns put a whole epoch on one line."""

    def __init__(self, iterable: Iterable, desc: str | None, total: int | None, every: float, file: TextIO) -> None:
        self.iterable, self.desc, self.every, self.file = iterable, desc or "progress", every, file
        if total is None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.total, self.postfix, self.silent = total, "", False

    def set_postfix(self, refresh: bool = True, **values: object) -> None:
        self.postfix = " ".join(f"{key}={value}" for key, value in values.items())

    def close(self) -> None:
        pass

    def _line(self, n: int, began: float) -> None:
        if self.silent:
            return
        seconds = time.perf_counter() - began
        share = f"{100 * n / self.total:3.0f}% {n}/{self.total}" if self.total else f"{n}"
        rate = f", {n / seconds:.3g} it/s" if seconds > 0 and n else ""
        print(f"{self.desc}: {share} [{seconds:.0f}s{rate}] {self.postfix}".rstrip(), file=self.file, flush=True)

    def __iter__(self) -> Iterator:
        began, n, next_mark = time.perf_counter(), 0, self.every
        for item in self.iterable:
            yield item
            n += 1
            if self.total and 100 * n / self.total >= next_mark:
                self._line(n, began)
                while next_mark <= 100 * n / self.total:
                    next_mark += self.every
        if not self.total:
            self._line(n, began)


def progress_bar(iterable: Iterable, desc: str | None = None, total: int | None = None, disable: bool = False,
                 every: float = 5, file: TextIO | None = None):
    """tqdm on a terminal; plain lines every ``every`` percent when the output is a file or pipe (rule logs,
    SLURM). Either way the result iterates like ``iterable`` and has ``set_postfix`` and ``close``."""
    file = file or sys.stderr
    if disable:
        bar = _PlainProgress(iterable, desc, total, every, file)
        bar.silent = True
        return bar
    if getattr(file, "isatty", lambda: False)():
        from tqdm import tqdm

        return tqdm(iterable, desc=desc, total=total, file=file, leave=False)
    return _PlainProgress(iterable, desc, total, every, file)
