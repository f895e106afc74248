"""Calibrated LPIPS ("lin") for any loss network: per-channel weights learned on BAPPS 2AFC judgements.

The procedure follows the LPIPS repository (Zhang et al. 2018): per layer a 1x1 convolution C -> 1 without bias,
dropout 0.5 in training, PyTorch's default initialisation, weights clamped at 0 after every optimiser step; a
ranking head maps ``[d0, d1, d0 - d1, d0 / (d1 + 0.1), d1 / (d0 + 0.1)]`` through 1x1 convolutions 5 -> 32 -> 32
-> 1 (LeakyReLU 0.2, sigmoid), trained with binary cross-entropy against the soft judgement (the fraction of
raters preferring p1).

A linear calibration only needs, per image pair and layer, the per-channel spatial mean of squared differences of
unit-normalised features (:func:`per_channel`, shape (N, C)): the calibrated distance is
``d = sum_layers sum_c w_c v_c``. So fitting (:func:`fit_calibration`, on the CPU) never reruns the backbone.
One difference from the reference, which applies dropout to the (N, C, H, W) squared-difference map before the
spatial mean: here it is applied to the cached (N, C) channel means (one mask per channel and pair).

A fitted :class:`Calibration` is saved as a small file ``{layers, weights, backbone, fitted_on}``
(:func:`save_calibration`; ``torch.load(weights_only=True)`` reads it) that refuses to load onto another backbone
(:func:`load_calibration`); ``lossnet.LPIPS(arch, weights=..., calibrated="file.pt")`` applies it.
"""

from __future__ import annotations

import math
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import torch
from torch import nn

from ._util import atomic_output, content_digest
from .distances.features import lpips_channels
from .weights import INITIALIZERS

PerChannel = Mapping[str, torch.Tensor]  # {layer: (N, C) per-channel values of one pair per row}
FORMAT = "lossnet-calibration/1"
RATIO_EPS = 0.1  # the ranking head's d0 / (d1 + 0.1), as in LPIPS's Dist2LogitLayer


@dataclass(frozen=True)
class Schedule:
    """Optimiser settings: Adam(lr, betas), ``epochs`` at ``lr``, then ``decay_epochs`` of linear decay."""

    lr: float
    batch_size: int
    epochs: int
    decay_epochs: int
    betas: tuple[float, float] = (0.5, 0.999)
    dropout: float = 0.5

    def learning_rates(self) -> list[float]:
        """The learning rate of each epoch, as the LPIPS training loop sets it: the decay (``lr / decay_epochs``
        per epoch) starts after epoch ``epochs + 1``, so ``epochs=5, decay_epochs=5`` runs 6 epochs at ``lr``
        and 4 decaying ones (0.8, 0.6, 0.4, 0.2 of ``lr``)."""
        total = self.epochs + self.decay_epochs
        return [self.lr * max(0.0, 1.0 - max(0, epoch - self.epochs - 1) / max(1, self.decay_epochs))
                for epoch in range(1, total + 1)]


# "lpips": the LPIPS repository's train.py (lr 1e-4, batch 50, nepoch 5 + nepoch_decay 5, which its loop runs as
# 6 epochs at 1e-4 then linear decay); "pihlgren": Pihlgren et al.'s settings (lr 1e-3, batch 256, 5 + 5, read
# with the same loop); "small": for a few hundred triplets (the offline demo), where the two above take a few dozen
# steps and leave the weights where they started.
SCHEDULES: dict[str, Schedule] = {
    "lpips": Schedule(lr=1e-4, batch_size=50, epochs=5, decay_epochs=5),
    "pihlgren": Schedule(lr=1e-3, batch_size=256, epochs=5, decay_epochs=5),
    "small": Schedule(lr=1e-2, batch_size=32, epochs=10, decay_epochs=10),
}


@dataclass
class Calibration:
    """Fitted per-channel weights (non-negative, one (C,) tensor per layer) and the backbone they belong to."""

    layers: list[str]
    weights: list[torch.Tensor]
    backbone: dict[str, str]
    fitted_on: str
    history: list[float] = field(default_factory=list)  # mean training loss per epoch (not saved)

    def distance(self, per_channel_values: PerChannel) -> torch.Tensor:
        """The calibrated distance of cached per-channel values: :func:`calibrated_distance`."""
        return calibrated_distance(per_channel_values, dict(zip(self.layers, self.weights)))


def backbone_identity(arch: str, weights: str | os.PathLike = "imagenet", seed: int = 0) -> dict[str, str]:
    """What a calibration was fitted on: the architecture and its weights (a name; ``random`` with its seed; a
    state_dict file by the sha256 of its content, so a copy elsewhere is the same backbone)."""
    name = str(weights)
    if isinstance(weights, os.PathLike) or os.sep in name or name.endswith((".pt", ".pth")) or Path(name).is_file():
        identity = f"sha256:{content_digest(weights)}"
    elif name == "random" or name in INITIALIZERS:  # seeded draws: the seed is part of the backbone
        identity = f"{name}(seed={seed})"
    else:
        identity = name
    return {"arch": arch, "weights": identity}


def per_channel(features_x: PerChannel, features_y: PerChannel) -> dict[str, torch.Tensor]:
    """``{layer: (N, C)}`` per-channel spatial means of squared differences of unit-normalised features of two
    feature dicts (a :class:`~lossnet.network.LossNetwork`'s outputs for the two images of each pair)."""
    if set(features_x) != set(features_y):
        raise ValueError(f"feature dicts have different layers: {sorted(features_x)} vs {sorted(features_y)}")
    return {layer: lpips_channels(features_x[layer], features_y[layer]) for layer in features_x}


def calibrated_distance(per_channel_values: PerChannel, weights: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``d = sum_layers sum_c w_c v_c``, shape (N,): the calibrated ("lin") LPIPS of cached per-channel values."""
    missing = [layer for layer in weights if layer not in per_channel_values]
    if missing:
        raise ValueError(f"per-channel values lack the calibrated layers {missing}")
    total = 0
    for layer, weight in weights.items():
        values = per_channel_values[layer]
        if values.shape[-1] != weight.numel():
            raise ValueError(f"layer {layer!r} has {values.shape[-1]} channels, the calibration {weight.numel()}")
        total = total + (values * weight.to(values)).sum(dim=-1)
    return total


class RankingHead(nn.Module):
    """LPIPS's Dist2LogitLayer: the probability that p1 is preferred from the two distances of a triplet."""

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.model = nn.Sequential(
            nn.Conv2d(5, hidden, 1), nn.LeakyReLU(0.2, True), nn.Conv2d(hidden, hidden, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(hidden, 1, 1), nn.Sigmoid(),
        )

    def forward(self, d0: torch.Tensor, d1: torch.Tensor) -> torch.Tensor:
        d0, d1 = d0.view(-1, 1, 1, 1), d1.view(-1, 1, 1, 1)
        inputs = torch.cat((d0, d1, d0 - d1, d0 / (d1 + RATIO_EPS), d1 / (d0 + RATIO_EPS)), dim=1)
        return self.model(inputs).flatten()


def _check_inputs(per_channel_train: Mapping[str, PerChannel], judgements: torch.Tensor,
                  layers: Sequence[str]) -> int:
    if set(per_channel_train) != {"d0", "d1"}:
        raise ValueError(f"per_channel_train must be {{'d0': {{layer: (N, C)}}, 'd1': ...}}, got keys "
                         f"{sorted(per_channel_train)}")
    n = judgements.shape[0]
    if judgements.ndim != 1 or n == 0:
        raise ValueError(f"judgements must be a non-empty 1-D tensor, got shape {tuple(judgements.shape)}")
    for pair in ("d0", "d1"):
        for layer in layers:
            if layer not in per_channel_train[pair]:
                raise ValueError(f"per_channel_train[{pair!r}] has no layer {layer!r}")
            values = per_channel_train[pair][layer]
            if values.ndim != 2 or values.shape[0] != n:
                raise ValueError(f"per_channel_train[{pair!r}][{layer!r}] must be (N={n}, C), got "
                                 f"{tuple(values.shape)}")
    return n


def fit_calibration(
    per_channel_train: Mapping[str, PerChannel],
    judgements: torch.Tensor,
    layers: Sequence[str],
    schedule: str | Schedule = "lpips",
    seed: int = 0,
    *,
    backbone: Mapping[str, str] | None = None,
    fitted_on: str = "",
) -> Calibration:
    """Learn non-negative per-channel weights from cached 2AFC per-channel values, on the CPU.

    ``per_channel_train`` is ``{"d0": {layer: (N, C)}, "d1": {layer: (N, C)}}`` (pairs (ref, p0) and (ref, p1));
    ``judgements`` (N,) the fraction of raters preferring p1. ``schedule`` is a name of :data:`SCHEDULES` or a
    :class:`Schedule`. Seeded (initialisation, dropout and shuffling; the global RNG is left as it was).
    """
    if isinstance(schedule, str):
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {schedule!r}; known: {', '.join(SCHEDULES)}")
        schedule = SCHEDULES[schedule]
    layers = list(layers)
    if not layers:
        raise ValueError("fit_calibration needs at least one layer")
    n = _check_inputs(per_channel_train, judgements, layers)
    data = {pair: [per_channel_train[pair][layer].detach().float().cpu() for layer in layers] for pair in ("d0", "d1")}
    target = judgements.detach().float().cpu()
    if not bool(((target >= 0) & (target <= 1)).all()):
        raise ValueError("judgements must lie in [0, 1] (the fraction of raters preferring p1)")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        lins = nn.ModuleList(nn.Conv2d(values.shape[1], 1, 1, bias=False) for values in data["d0"])
        head = RankingHead()
        dropout = nn.Dropout(schedule.dropout)
        optimiser = torch.optim.Adam([*lins.parameters(), *head.parameters()], lr=schedule.lr, betas=schedule.betas)
        generator = torch.Generator().manual_seed(seed)
        loss_fn = nn.BCELoss()

        def distance(pair: str, rows: torch.Tensor) -> torch.Tensor:
            total = 0
            for lin, values in zip(lins, data[pair]):
                total = total + lin(dropout(values[rows])[:, :, None, None]).flatten()
            return total

        history = []
        for lr in schedule.learning_rates():
            for group in optimiser.param_groups:
                group["lr"] = lr
            order, losses = torch.randperm(n, generator=generator), []
            for start in range(0, n, schedule.batch_size):
                rows = order[start:start + schedule.batch_size]
                loss = loss_fn(head(distance("d0", rows), distance("d1", rows)), target[rows])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                with torch.no_grad():
                    for lin in lins:
                        lin.weight.clamp_(min=0)
                losses.append(float(loss.detach()) * len(rows))
            history.append(sum(losses) / n)
    weights = [lin.weight.detach().flatten().clone() for lin in lins]
    if not all(math.isfinite(value) for value in history):
        raise FloatingPointError("calibration diverged (non-finite loss): check the per-channel values")
    return Calibration(layers, weights, dict(backbone or {}), fitted_on, history)


def save_calibration(calibration: Calibration, path: str | os.PathLike) -> Path:
    """Write ``{format, layers, weights, backbone, fitted_on}`` to ``path`` (atomic; readable with
    ``torch.load(weights_only=True)``)."""
    record = {
        "format": FORMAT,
        "layers": list(calibration.layers),
        "weights": [weight.detach().float().cpu().clone() for weight in calibration.weights],
        "backbone": {str(key): str(value) for key, value in calibration.backbone.items()},
        "fitted_on": str(calibration.fitted_on),
    }
    with atomic_output(path) as partial:
        torch.save(record, partial)
    return Path(path)


def load_calibration(path: str | os.PathLike, backbone: Mapping[str, str] | None = None) -> Calibration:
    """Read a :func:`save_calibration` file; with ``backbone`` (a :func:`backbone_identity`), refuse one fitted on
    another backbone."""
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as error:
        raise ValueError(f"cannot read calibration file {path}: {error}") from error
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"{path} is not a lossnet calibration file (format {FORMAT!r})")
    missing = [key for key in ("layers", "weights", "backbone", "fitted_on") if key not in record]
    if missing:
        raise ValueError(f"calibration file {path} lacks {', '.join(missing)}: refit it")
    calibration = Calibration(list(record["layers"]), list(record["weights"]), dict(record["backbone"]),
                              record["fitted_on"])
    if len(calibration.layers) != len(calibration.weights):
        raise ValueError(f"{path}: {len(calibration.layers)} layers but {len(calibration.weights)} weight vectors")
    if backbone is not None and dict(backbone) != calibration.backbone:
        raise ValueError(f"{path} was fitted on {_describe(calibration.backbone)}, not {_describe(backbone)}: "
                         "a calibration belongs to the backbone it was fitted on; fit one for this backbone")
    return calibration


def _describe(backbone: Mapping[str, str]) -> str:
    return f"{backbone.get('arch', '?')} with weights {backbone.get('weights', '?')}"


def from_lpips_package(arch: str, backbone: Mapping[str, str] | None = None) -> Calibration:
    """LPIPS v0.1's released weights (from the installed ``lpips`` package) as a :class:`Calibration` on the
    ``lpips`` layer preset; ``backbone`` defaults to the ImageNet ``arch`` they were fitted on."""
    from .metric import LPIPS_NETS, load_lpips_weights
    from .network import resolve_layers

    layers = list(resolve_layers(arch, "lpips"))
    return Calibration(layers, load_lpips_weights(arch), dict(backbone or backbone_identity(arch, "imagenet")),
                       f"LPIPS v0.1 ({LPIPS_NETS[arch]}.pth of the lpips package)")
