"""Benchmark 4's score: MLP probes on the frozen encoder's embeddings (protocol section 6).

:func:`probe_scores` trains the seven probes on a seeded 80/20 split of train and scores the test accuracy of the
probe with the best validation accuracy (recorded in the ``probe`` column).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import h5py
import numpy as np
import pandas as pd
import torch
from torch import nn

from ..._util import resolve_device, write_csv
from ..scores import score_table

log = logging.getLogger(__name__)
BENCHMARK = "autoencoding"
PROBE_HIDDEN: tuple[tuple[int, ...], ...] = ((), (32,), (64,), (32, 32), (64, 32), (64, 64), (128, 128))


def probe_name(hidden: Sequence[int]) -> str:
    """``[]`` -> ``linear``, ``[64, 32]`` -> ``64-32``."""
    return "-".join(map(str, hidden)) or "linear"


def make_probe(inputs: int, hidden: Sequence[int], classes: int = 10) -> nn.Sequential:
    """An MLP with LeakyReLU between its layers."""
    sizes, layers = [inputs, *hidden], []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], classes))


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean()) if len(y) else float("nan")


def train_probes(embeddings: Path, *, hidden: Sequence[Sequence[int]] = PROBE_HIDDEN, epochs: int = 100,
                 batch_size: int = 256, lr: float = 1e-3, val_fraction: float = 0.2, standardize: bool = True,
                 seed: int = 0, device: str = "auto") -> pd.DataFrame:
    """Train every probe on a seeded split of train; one row per probe: ``probe, val_accuracy, test_accuracy``."""
    dev = resolve_device(device)
    with h5py.File(embeddings, "r") as h5:
        x, y = h5["train/embeddings"][:], h5["train/labels"][:].astype(np.int64)
        x_test, y_test = h5["test/embeddings"][:], h5["test/labels"][:].astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    val, fit_rows = order[:n_val], order[n_val:]
    mean, std = (x[fit_rows].mean(0), x[fit_rows].std(0) + 1e-8) if standardize else (0.0, 1.0)
    t = {name: (torch.tensor((a - mean) / std, dtype=torch.float32, device=dev), torch.tensor(b, device=dev))
         for name, a, b in (("fit", x[fit_rows], y[fit_rows]), ("val", x[val], y[val]), ("test", x_test, y_test))}
    classes = int(max(y.max(initial=0), y_test.max(initial=0))) + 1
    rows = []
    for sizes in hidden:
        torch.manual_seed(seed)
        probe = make_probe(x.shape[1], sizes, max(classes, 10)).to(dev)
        optimizer = torch.optim.Adam(probe.parameters(), lr=lr)
        (xf, yf), generator = t["fit"], torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            probe.train()
            for batch in torch.randperm(len(yf), generator=generator).to(dev).split(batch_size):
                loss = nn.functional.cross_entropy(probe(xf[batch]), yf[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        probe.eval()
        rows.append({"probe": probe_name(sizes), "val_accuracy": _accuracy(probe, *t["val"]),
                     "test_accuracy": _accuracy(probe, *t["test"])})
        log.info("probe %s: %s", probe_name(sizes), rows[-1])
    return pd.DataFrame(rows)


def probe_scores(embeddings: Path, output: Path | None = None, **settings: Any) -> pd.DataFrame:
    """The benchmark's score row for one embeddings file (scores schema plus ``probe``, ``val_accuracy``, ``seed``).

    The probe with the best validation accuracy wins (the first, i.e. the smaller, on a tie).
    """
    probes = train_probes(embeddings, **settings)
    best = probes.loc[probes["val_accuracy"].idxmax()]
    with h5py.File(embeddings, "r") as h5:
        attrs = {key: (value.decode() if isinstance(value, bytes) else value) for key, value in h5.attrs.items()}
    row = {"metric": attrs["dataset"], "arch": attrs["arch"], "layer": attrs["layer"], "weights": attrs["weights"],
           "value": float(best["test_accuracy"]), "probe": best["probe"], "val_accuracy": float(best["val_accuracy"]),
           "seed": settings.get("seed", 0)}
    scores = score_table([row], extras=["probe", "val_accuracy", "seed"], benchmark=BENCHMARK, higher_is_better=True)
    if output is not None:
        write_csv(scores, output)
    return scores
