"""Benchmark 4's score: MLP probes on the frozen encoder's embeddings (protocol section 6).

:func:`probe_scores` trains the seven probes on a seeded 80/20 split of train (MSE against one-hot targets, each
probe's best-validation epoch kept, as the original; cross-entropy and the last epoch are knobs) and scores the test
accuracy of the probe with the best validation accuracy (recorded in the ``probe`` column), with every probe's
validation and test accuracy as breakdown rows and a bootstrap interval over the test samples.
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

from ..._util import resolve_device
from ...stats import RESAMPLES, bootstrap_mean, interval
from ..scores import INTERVAL_COLUMNS, score_table, write_scores

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


def _predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x).argmax(1)


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((_predict(model, x) == y).double().mean()) if len(y) else float("nan")


PROBE_LOSSES = ("mse", "cross_entropy")
PROBE_KEEP = ("best", "last")


def _loss(name: str, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if name == "mse":  # the original: MSE of the raw outputs against one-hot targets
        return nn.functional.mse_loss(outputs, nn.functional.one_hot(labels, outputs.shape[1]).float())
    return nn.functional.cross_entropy(outputs, labels)


def train_probes(embeddings: Path, *, hidden: Sequence[Sequence[int]] = PROBE_HIDDEN, epochs: int = 100,
                 batch_size: int = 256, lr: float = 1e-3, val_fraction: float = 0.2, standardize: bool = True,
                 loss: str = "mse", keep: str = "best", seed: int = 0, device: str = "auto",
                 return_correct: bool = False):
    """Train every probe on a seeded split of train; one row per probe: ``probe, epoch, val_accuracy,
    test_accuracy``.

    ``loss``: ``mse`` against one-hot targets (the original) or ``cross_entropy``. ``keep``: ``best``, the epoch
    with the best validation accuracy (the first on a tie, as Lightning's ModelCheckpoint), or ``last``. With
    ``return_correct`` also return, per probe, the 0/1 correctness of each test sample (the bootstrap's items).
    """
    if loss not in PROBE_LOSSES or keep not in PROBE_KEEP:
        raise ValueError(f"probe loss must be one of {PROBE_LOSSES} and keep one of {PROBE_KEEP}, "
                         f"got {loss!r}, {keep!r}")
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
    rows, correct = [], {}
    for sizes in hidden:
        torch.manual_seed(seed)
        probe = make_probe(x.shape[1], sizes, max(classes, 10)).to(dev)
        optimizer = torch.optim.Adam(probe.parameters(), lr=lr)
        (xf, yf), generator = t["fit"], torch.Generator().manual_seed(seed)
        best_val, best_epoch, best_state = -1.0, 0, None
        for epoch in range(1, epochs + 1):
            probe.train()
            for batch in torch.randperm(len(yf), generator=generator).to(dev).split(batch_size):
                value = _loss(loss, probe(xf[batch]), yf[batch])
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                optimizer.step()
            if keep == "best":
                probe.eval()
                accuracy = _accuracy(probe, *t["val"])
                if accuracy > best_val or best_state is None:
                    best_val, best_epoch = accuracy, epoch
                    best_state = {k: v.detach().clone() for k, v in probe.state_dict().items()}
        if keep == "best":
            probe.load_state_dict(best_state)
        probe.eval()
        name = probe_name(sizes)
        hits = (_predict(probe, t["test"][0]) == t["test"][1]).cpu().numpy().astype(np.float64)
        correct[name] = hits
        rows.append({"probe": name, "epoch": best_epoch if keep == "best" else epochs,
                     "val_accuracy": _accuracy(probe, *t["val"]),
                     "test_accuracy": float(hits.mean()) if len(hits) else float("nan")})
        log.info("probe %s: %s", name, rows[-1])
    table = pd.DataFrame(rows)
    return (table, correct) if return_correct else table


EXTRAS = ["subset", "probe", "epoch", "val_accuracy", "n", "seed", *INTERVAL_COLUMNS]


def probe_scores(embeddings: Path, output: Path | None = None, *, resamples: int = RESAMPLES,
                 **settings: Any) -> pd.DataFrame:
    """The benchmark's scores for one embeddings file (scores schema plus ``subset``, ``probe``, ``epoch``,
    ``val_accuracy``, ``n``, ``seed``, ``ci_low``, ``ci_high``).

    The headline row (empty ``subset``): the test accuracy of the probe with the best validation accuracy (the
    first, i.e. the smaller, on a tie), with a 95% bootstrap interval over its test samples. Then one breakdown row
    per probe (``subset`` = ``probe <name>``): its validation and test accuracy. With ``output``, the headline's
    bootstrap replicates go beside it (:func:`lossnet.benchmarks.scores.replicates_path`).
    """
    probes, correct = train_probes(embeddings, return_correct=True, **settings)
    best = probes.loc[probes["val_accuracy"].idxmax()]
    with h5py.File(embeddings, "r") as h5:
        attrs = {key: (value.decode() if isinstance(value, bytes) else value) for key, value in h5.attrs.items()}
    seed = settings.get("seed", 0)
    outcomes = correct[best["probe"]]
    replicates = bootstrap_mean(outcomes, f"{BENCHMARK}/{attrs['dataset']}", resamples, seed)
    low, high = interval(replicates)
    common = {"metric": attrs["dataset"], "arch": attrs["arch"], "layer": attrs["layer"], "weights": attrs["weights"],
              "n": len(outcomes), "seed": seed}
    rows = [{**common, "subset": "", "value": float(best["test_accuracy"]), "probe": best["probe"],
             "epoch": int(best["epoch"]), "val_accuracy": float(best["val_accuracy"]), "ci_low": low, "ci_high": high}]
    for probe in probes.itertuples():
        probe_low, probe_high = interval(bootstrap_mean(correct[probe.probe], f"{BENCHMARK}/{attrs['dataset']}",
                                                        resamples, seed))
        rows.append({**common, "subset": f"probe {probe.probe}", "value": probe.test_accuracy, "probe": probe.probe,
                     "epoch": int(probe.epoch), "val_accuracy": probe.val_accuracy, "ci_low": probe_low,
                     "ci_high": probe_high})
    scores = score_table(rows, extras=EXTRAS, benchmark=BENCHMARK)
    if output is not None:
        write_scores(scores, output, [replicates], scores["subset"] == "")
    return scores
