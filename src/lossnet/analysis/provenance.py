"""What a report must say about the run behind it: a warning banner (synthetic data, random weights) and where the
numbers come from (commit, versions, device, config digest, date). Light: no torch import unless asked."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping


def run_warnings(config: Mapping[str, Any]) -> list[str]:
    """Banner lines for a run whose numbers do not describe the real loss networks."""
    notes = []
    synthetic = synthetic_benchmarks(config)
    if synthetic:
        notes.append(f"Synthetic data: the {', '.join(synthetic)} benchmark(s) ran on offline demo data: synthetic "
                     "images and labels in the real formats (e.g. similarity judgements derived from known "
                     "distortions, not from people).")
    if "random" in config.get("weights", []):
        only = config.get("weights") == ["random"]
        notes.append(("Random weights" if only else "Random weights (one of the variants)") + ": the networks were "
                     "not trained on ImageNet; their scores exercise the pipeline and say nothing about the "
                     "pretrained loss networks of the paper.")
    return notes


def synthetic_benchmarks(config: Mapping[str, Any]) -> list[str]:
    """The benchmarks of ``config`` that run on offline demo data (their section's ``source: demo``)."""
    return [name for name in config.get("benchmarks", [])
            if isinstance(config.get(name), Mapping) and config[name].get("source") == "demo"]


def config_digest(config: Mapping[str, Any]) -> str:
    """A short SHA-256 of the config as JSON (keys sorted): two runs with one digest had the same settings."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _commit(root: Path) -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"{commit} (with uncommitted changes)" if commit and dirty else commit or "unknown (not a git checkout)"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def provenance(config: Mapping[str, Any], root: Path | str = ".", device: str | None = None) -> dict[str, str]:
    """Commit, lossnet/torch/torchvision versions, device, config digest and date of a run (``root``: the checkout)."""
    import lossnet

    if device is None:
        from .._util import resolve_device

        device = str(resolve_device(config.get("device", "auto")))
    return {
        "commit": _commit(Path(root)),
        "lossnet": lossnet.__version__,
        "torch": _version("torch"),
        "torchvision": _version("torchvision"),
        "device": device,
        "config digest": config_digest(config),
        "date": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
    }


RUN_WARNINGS = "run_warnings.txt"  # beside results/tables/scores.csv: the banner lines of the run behind it


def write_run_warnings(lines: list[str], scores_path: Path | str) -> Path:
    """Write a run's banner lines (:func:`run_warnings`, one per line; empty when none) beside its scores table,
    so that what reads the scores later (``lossnet recommend``) can warn too."""
    from .._util import atomic_output

    path = Path(scores_path).with_name(RUN_WARNINGS)
    with atomic_output(path) as partial:
        partial.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def read_run_warnings(scores_path: Path | str) -> list[str]:
    """The banner lines written beside ``scores_path`` by the workflow (none when there is no such file)."""
    path = Path(scores_path).with_name(RUN_WARNINGS)
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line] if path.is_file() else []
