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


_DIGESTS: dict[tuple[str, int, int], str] = {}


def content_digest(path: str | os.PathLike, note: bool = False) -> str:
    """The sha256 of a file's content, memoised per process and, with ``note``, in ``<file>.sha256`` beside it.

    A note is for the workflow's own prepared files (never written beside a user's file). It records the size and
    mtime it was computed for and is ignored once either changes, so a prepared file of gigabytes is hashed once
    per version, not once per job that reads it. Where the folder is read-only the digest is just recomputed.
    """
    import hashlib
    import json

    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    note_path = path.with_name(path.name + ".sha256")
    if key not in _DIGESTS and note:
        try:
            saved = json.loads(note_path.read_text())
            if (saved["size"], saved["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns):
                _DIGESTS[key] = saved["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no note, or a stale or damaged one
    if key not in _DIGESTS:
        with open(path, "rb") as file:
            _DIGESTS[key] = hashlib.file_digest(file, "sha256").hexdigest()
        if note:
            record = {"sha256": _DIGESTS[key], "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            with contextlib.suppress(OSError), atomic_output(note_path) as partial:
                partial.write_text(json.dumps(record))
    return _DIGESTS[key]


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
    file or a SLURM output file wants, where tqdm's carriage returns put a whole epoch on one line. Iterates like
    its iterable, or counts ``update(n)`` calls (bytes, images) inside ``with``."""

    def __init__(self, iterable: Iterable | None, desc: str | None, total: int | None, every: float, file: TextIO,
                 initial: int = 0, unit: str = "it") -> None:
        self.iterable, self.desc, self.every, self.file, self.unit = iterable, desc or "progress", every, file, unit
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.total, self.postfix, self.silent = total, "", False
        self.n = self.initial = initial
        self.began, self.next_mark, self.closed = time.perf_counter(), every, False

    def set_postfix(self, refresh: bool = True, **values: object) -> None:
        self.postfix = " ".join(f"{key}={value}" for key, value in values.items())

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.total and 100 * self.n / self.total >= self.next_mark:
            self._line()
            while self.next_mark <= 100 * self.n / self.total:
                self.next_mark += self.every

    def close(self) -> None:
        if not self.closed and not self.total:
            self._line()  # without a total: one line at the end
        self.closed = True

    def __enter__(self) -> "_PlainProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line(self) -> None:
        if self.silent:
            return
        seconds = time.perf_counter() - self.began
        share = f"{100 * self.n / self.total:3.0f}% {self.n}/{self.total}" if self.total else f"{self.n}"
        done = self.n - self.initial
        rate = f", {done / seconds:.3g} {self.unit}/s" if seconds > 0 and done else ""
        print(f"{self.desc}: {share} [{seconds:.0f}s{rate}] {self.postfix}".rstrip(), file=self.file, flush=True)

    def __iter__(self) -> Iterator:
        self.began = time.perf_counter()
        for item in self.iterable or ():
            yield item
            self.update(1)
        self.close()


def progress_bar(iterable: Iterable | None = None, desc: str | None = None, total: int | None = None,
                 disable: bool = False, every: float = 5, file: TextIO | None = None, initial: int = 0,
                 unit: str = "it"):
    """The one progress display of the package: tqdm on a terminal; plain lines every ``every`` percent when the
    output is a file or pipe (rule logs, SLURM). Either way it iterates like ``iterable`` (or counts ``update(n)``
    inside ``with``) and has ``set_postfix`` and ``close``."""
    file = file or sys.stderr
    if disable or not getattr(file, "isatty", lambda: False)():
        bar = _PlainProgress(iterable, desc, total, every, file, initial, unit)
        bar.silent = disable
        return bar
    from tqdm import tqdm

    scaled = {"unit_scale": True, "unit_divisor": 1024} if unit == "B" else {}
    return tqdm(iterable, desc=desc, total=total, file=file, leave=False, initial=initial, unit=unit, **scaled)
