"""The training engine shared by the benchmarks: resumable, deterministic, checkpointed every epoch.

A job killed anywhere (a SLURM preemption, a Ctrl-C) and run again continues from its last finished
epoch and ends with exactly the weights of an uninterrupted run (on the CPU), because every epoch
reseeds all randomness from ``(seed, epoch)`` instead of carrying RNG state across epochs.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

FORMAT_VERSION = 1


class NonFiniteLossError(FloatingPointError):
    """A NaN/inf training loss: raised before the optimizer step so no checkpoint holds poisoned weights."""


@dataclass
class FitResult:
    best_path: Path  # state_dict of the best validation epoch (the last epoch without ``validate``)
    last_path: Path  # full checkpoint of the last finished epoch (model, optimizer, history)
    history: list[dict]  # per finished epoch: {"epoch", "train_loss", "val", "seconds"}


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 100003 + epoch


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(item, device) for item in batch)
    if isinstance(batch, dict):
        return {key: _to_device(value, device) for key, value in batch.items()}
    return batch


def _save_atomic(obj: Any, path: Path) -> None:
    """Write to a temporary name then rename, so a kill mid-write never leaves a truncated checkpoint."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_model_state(path: Path, model: torch.nn.Module) -> torch.nn.Module:
    """Load the model weights of ``best.pt`` (a plain state_dict) or ``last.pt`` (a full checkpoint)."""
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "format_version" in state and "model" in state:
        state = state["model"]
    model.load_state_dict(state)
    return model


def fit(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
    train_data: Dataset,
    *,
    checkpoint_dir: Path,
    epochs: int,
    batch_size: int,
    lr: float = 1e-3,
    seed: int = 0,
    device: str = "auto",
    precision: str = "fp32",
    validate: Callable[[torch.nn.Module], float] | None = None,
    num_workers: int = 0,
    progress: bool = True,
    log: logging.Logger | None = None,
) -> FitResult:
    """Train ``model`` with Adam on ``loss_fn(model, batch)``, resuming from ``checkpoint_dir/last.pt``.

    Epochs are numbered from 1. ``validate(model)`` (higher is better) runs after every epoch in eval
    mode without gradients; ``best.pt`` keeps the first epoch with the highest value. Parameters with
    ``requires_grad=False`` (a frozen loss network inside the model) are left out of the optimizer.
    """
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
    if len(train_data) == 0:  # type: ignore[arg-type]
        raise ValueError("train_data is empty: nothing to train on")
    log = log or logging.getLogger("lossnet.training")
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else torch.device(device)
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    best_path, last_path = checkpoint_dir / "best.pt", checkpoint_dir / "last.pt"
    config = {"seed": seed, "batch_size": batch_size, "lr": lr}

    model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (all have requires_grad=False)")
    optimizer = torch.optim.Adam(params, lr=lr)
    history: list[dict] = []
    best_val: float | None = None
    start = 1
    if last_path.exists():
        state = torch.load(last_path, map_location="cpu", weights_only=True)
        if state.get("config") != config:
            raise ValueError(
                f"{last_path} was written with {state.get('config')}, this run asks for {config}: "
                "use another checkpoint_dir or delete it to start over"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, best_val, start = state["history"], state["best_val"], state["epoch"] + 1
        if start > epochs:
            log.info("%s already finished %d epochs: nothing to train", last_path, state["epoch"])
            return FitResult(best_path, last_path, history)
        log.info("resuming %s after epoch %d", last_path, state["epoch"])

    for epoch in range(start, epochs + 1):
        began = time.perf_counter()
        torch.manual_seed(_epoch_seed(seed, epoch))
        shuffle_rng = torch.Generator().manual_seed(_epoch_seed(seed, epoch))
        loader = DataLoader(train_data, batch_size, shuffle=True, drop_last=False, num_workers=num_workers,
                            pin_memory=dev.type == "cuda", generator=shuffle_rng)
        model.train()
        total = 0.0
        bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", file=sys.stderr, disable=not progress, leave=False)
        for step, batch in enumerate(bar, start=1):
            batch = _to_device(batch, dev)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = loss_fn(model, batch)
            value = float(loss.detach())
            if not math.isfinite(value):
                kept = f"{last_path} still holds epoch {epoch - 1}" if epoch > 1 else "no checkpoint was written"
                raise NonFiniteLossError(
                    f"non-finite training loss {value} at epoch {epoch} step {step} ({kept}): lower the "
                    f"learning rate (now {lr}) or check the data and the loss"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += value
            bar.set_postfix(loss=f"{value:.4g}", refresh=False)
        bar.close()

        val = None
        if validate is not None:
            model.eval()
            with torch.no_grad():
                val = float(validate(model))
        record = {"epoch": epoch, "train_loss": total / step, "val": val, "seconds": time.perf_counter() - began}
        history.append(record)
        # best.pt before last.pt: a kill in between reruns this epoch, which rewrites the same best.pt.
        if validate is None or best_val is None or math.isnan(best_val) or val > best_val:  # type: ignore[operator]
            best_val = val
            _save_atomic({k: v.detach().cpu() for k, v in model.state_dict().items()}, best_path)
        checkpoint = {"format_version": FORMAT_VERSION, "epoch": epoch, "config": config, "history": history,
                      "best_val": best_val, "model": model.state_dict(), "optimizer": optimizer.state_dict()}
        _save_atomic(checkpoint, last_path)
        log.info(
            "epoch %d/%d train_loss %.6g val %s seconds %.1f",
            epoch, epochs, record["train_loss"], "n/a" if val is None else f"{val:.6g}", record["seconds"],
        )
    return FitResult(best_path, last_path, history)
