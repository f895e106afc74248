"""The training loop of the engine: resumable, deterministic, checkpointed every epoch.

A job killed anywhere (a SLURM preemption, a Ctrl-C) and run again continues from its last finished
epoch and ends with exactly the weights of an uninterrupted run (on the CPU), because every epoch
reseeds all randomness from ``(seed, epoch)`` instead of carrying RNG state across epochs.
"""

from __future__ import annotations

import errno
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from .._util import atomic_output, progress_bar, resolve_device

FORMAT_VERSION = 1
ADAM_BETAS = (0.9, 0.999)  # torch's defaults: a run that asks for nothing else keeps its old checkpoint config


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
    """Write to a temporary name then rename, so a kill mid-write never leaves a truncated checkpoint.

    A full disk surfaces from inside torch's zip writer as "unexpected pos ..."; it is reported as what it is.
    """
    try:
        with atomic_output(path, suffix=".tmp") as partial:
            torch.save(obj, partial)
    except (OSError, RuntimeError) as error:
        full = isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
        if not (full or "unexpected pos" in str(error) or "file write failed" in str(error)):
            raise
        raise OSError(errno.ENOSPC, f"could not write the checkpoint {path}: the disk is full or the write failed "
                      f"({error}); the previous checkpoint, if any, is intact. Free space (or move the checkpoint "
                      "folder) and rerun: training resumes from the last finished epoch") from error


def load_model_state(path: Path, model: torch.nn.Module) -> torch.nn.Module:
    """Load the model weights of ``best.pt`` (a plain state_dict) or ``last.pt`` (a full checkpoint)."""
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "format_version" in state and "model" in state:
        state = state["model"]
    model.load_state_dict(state)
    return model


@dataclass
class _State:
    """What a run carries from epoch to epoch, and what ``last.pt`` stores of it."""

    history: list[dict]
    best_val: float | None = None
    next_epoch: int = 1


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
    frozen: Sequence[torch.nn.Module] = (),
    num_workers: int = 0,
    progress: bool = True,
    log: logging.Logger | None = None,
    betas: Sequence[float] = ADAM_BETAS,
    lr_schedule: tuple[int, float] | None = None,
    group_lrs: Mapping[str, float] | None = None,
) -> FitResult:
    """Train ``model`` with Adam on ``loss_fn(model, batch)``, resuming from ``checkpoint_dir/last.pt``.

    Epochs are numbered from 1. ``validate(model)`` (higher is better) runs after every epoch in eval
    mode without gradients; ``best.pt`` keeps the first epoch with the highest value. Parameters with
    ``requires_grad=False`` (a frozen loss network inside the model) are left out of the optimizer. A checkpoint
    of more epochs than asked for is refused: its weights are not those of ``epochs`` epochs. ``frozen`` modules
    (a loss network outside the model) move to the device with the model and are never trained or saved.

    Optimiser options (each left out of the checkpoint's config while at its default, so older runs still resume):
    ``betas`` are Adam's; ``lr_schedule=(every, factor)`` multiplies every learning rate by ``factor`` after each
    ``every`` epochs (epoch e runs at ``lr * factor ** ((e - 1) // every)``, a function of the epoch alone, so a
    resumed run follows it exactly); ``group_lrs`` maps a parameter-name prefix (``"codes."``) to its own learning
    rate (the other parameters take ``lr``).
    """
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
    if len(train_data) == 0:  # type: ignore[arg-type]
        raise ValueError("train_data is empty: nothing to train on")
    log = log or logging.getLogger("lossnet.training")
    dev = resolve_device(device)
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    paths = FitResult(checkpoint_dir / "best.pt", checkpoint_dir / "last.pt", [])
    config = {"seed": seed, "batch_size": batch_size, "lr": lr, **_optimizer_config(betas, lr_schedule, group_lrs)}

    model.to(dev)
    for module in frozen:
        module.to(dev)
    optimizer = torch.optim.Adam(_param_groups(model, lr, group_lrs), lr=lr, betas=tuple(betas))
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    state = _resume(paths.last_path, model, optimizer, config, epochs, log)
    for epoch in range(state.next_epoch, epochs + 1):
        began = time.perf_counter()
        if lr_schedule is not None:
            _schedule(optimizer, base_lrs, epoch, lr_schedule)
        train_loss = _train_epoch(model, loss_fn, optimizer, train_data, epoch, epochs, batch_size, seed, dev,
                                  precision, num_workers, progress, paths.last_path, lr)
        val = _validate(model, validate)
        record = {"epoch": epoch, "train_loss": train_loss, "val": val, "seconds": time.perf_counter() - began}
        state.history.append(record)
        _checkpoint(model, optimizer, state, record, config, paths, keep_best=validate is None)
        log.info(
            "epoch %d/%d train_loss %.6g val %s seconds %.1f",
            epoch, epochs, train_loss, "n/a" if val is None else f"{val:.6g}", record["seconds"],
        )
    return FitResult(paths.best_path, paths.last_path, state.history)


def _optimizer_config(betas: Sequence[float], lr_schedule: tuple[int, float] | None,
                      group_lrs: Mapping[str, float] | None) -> dict[str, Any]:
    """The optimiser options that differ from the defaults, as plain data for the checkpoint's config."""
    config: dict[str, Any] = {}
    if tuple(betas) != ADAM_BETAS:
        config["betas"] = [float(b) for b in betas]
    if lr_schedule is not None:
        every, factor = lr_schedule
        if int(every) < 1 or not factor > 0:
            raise ValueError(f"lr_schedule must be (every >= 1 epochs, factor > 0), got {lr_schedule}")
        config["lr_schedule"] = [int(every), float(factor)]
    if group_lrs:
        config["group_lrs"] = {prefix: float(value) for prefix, value in sorted(group_lrs.items())}
    return config


def _param_groups(model: torch.nn.Module, lr: float, group_lrs: Mapping[str, float] | None) -> list[dict]:
    """Adam's parameter groups: the trainable parameters at ``lr``, those under a prefix of ``group_lrs`` at
    theirs (one group per prefix, in the prefixes' order; the first matching prefix wins)."""
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("the model has no trainable parameters (all have requires_grad=False)")
    prefixes = list(group_lrs or {})
    grouped: dict[str | None, list[torch.nn.Parameter]] = {None: [], **{prefix: [] for prefix in prefixes}}
    for name, parameter in named:
        grouped[next((prefix for prefix in prefixes if name.startswith(prefix)), None)].append(parameter)
    empty = [prefix for prefix in prefixes if not grouped[prefix]]
    if empty:
        raise ValueError(f"group_lrs: no trainable parameter of {type(model).__name__} starts with {empty}; "
                         f"parameter names are e.g. {[name for name, _ in named[:3]]}")
    groups = [{"params": grouped[None], "lr": lr}] if grouped[None] else []
    return groups + [{"params": grouped[prefix], "lr": float(group_lrs[prefix])} for prefix in prefixes]


def _schedule(optimizer: torch.optim.Optimizer, base_lrs: Sequence[float], epoch: int,
              lr_schedule: tuple[int, float]) -> None:
    """Set every group's learning rate for ``epoch``: its base rate times ``factor ** ((epoch - 1) // every)``."""
    every, factor = lr_schedule
    scale = float(factor) ** ((epoch - 1) // int(every))
    for group, base in zip(optimizer.param_groups, base_lrs):
        group["lr"] = base * scale


def _resume(last_path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, config: dict, epochs: int,
            log: logging.Logger) -> _State:
    """The state after the last finished epoch of ``last_path`` (model and optimizer loaded), or a fresh one."""
    if not last_path.exists():
        return _State(history=[])
    saved = torch.load(last_path, map_location="cpu", weights_only=True)
    if saved.get("config") != config:
        raise ValueError(
            f"{last_path} was written with {saved.get('config')}, this run asks for {config}: "
            "use another checkpoint_dir or delete it to start over"
        )
    if saved["epoch"] > epochs:
        raise ValueError(
            f"{last_path} holds {saved['epoch']} finished epochs, more than the {epochs} asked for, and the weights "
            f"after {epochs} epochs were not kept: delete {last_path.parent} to train {epochs} epochs afresh"
        )
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    if saved["epoch"] == epochs:
        log.info("%s already finished %d epochs: nothing to train", last_path, saved["epoch"])
    else:
        log.info("resuming %s after epoch %d", last_path, saved["epoch"])
    return _State(saved["history"], saved["best_val"], saved["epoch"] + 1)


def _train_epoch(model, loss_fn, optimizer, train_data, epoch, epochs, batch_size, seed, dev, precision,
                 num_workers, progress, last_path, lr) -> float:
    """One pass over ``train_data`` reseeded from ``(seed, epoch)``; the mean training loss."""
    torch.manual_seed(_epoch_seed(seed, epoch))
    shuffle_rng = torch.Generator().manual_seed(_epoch_seed(seed, epoch))
    loader = DataLoader(train_data, batch_size, shuffle=True, drop_last=False, num_workers=num_workers,
                        pin_memory=dev.type == "cuda", generator=shuffle_rng)
    model.train()
    total = 0.0
    bar = progress_bar(loader, desc=f"epoch {epoch}/{epochs}", disable=not progress)  # plain lines in log files
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
    return total / step


def _validate(model: torch.nn.Module, validate: Callable[[torch.nn.Module], float] | None) -> float | None:
    if validate is None:
        return None
    model.eval()
    with torch.no_grad():
        return float(validate(model))


def _checkpoint(model, optimizer, state: _State, record: dict, config: dict, paths: FitResult,
                keep_best: bool) -> None:
    """``best.pt`` when this epoch is the best so far (or always, without validation), then ``last.pt``."""
    val = record["val"]
    # best.pt before last.pt: a kill in between reruns this epoch, which rewrites the same best.pt.
    if keep_best or state.best_val is None or math.isnan(state.best_val) or val > state.best_val:
        state.best_val = val
        _save_atomic({k: v.detach().cpu() for k, v in model.state_dict().items()}, paths.best_path)
    checkpoint = {"format_version": FORMAT_VERSION, "epoch": record["epoch"], "config": config,
                  "history": state.history, "best_val": state.best_val, "model": model.state_dict(),
                  "optimizer": optimizer.state_dict()}
    _save_atomic(checkpoint, paths.last_path)
