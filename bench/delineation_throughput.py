"""Benchmark-3 delineation training throughput (224 crops/s) per loss network, and the cost of the paper's sweep.

    .venv/bin/python bench/delineation_throughput.py --device cpu                       # a few CPU-minutes
    .venv/bin/python bench/delineation_throughput.py --device cuda                      # 3 warm-up + 20 timed steps
    .venv/bin/python bench/delineation_throughput.py --device cuda --archs all --layers E S M L   # no extrapolation

What is timed is the real training engine: `lossnet.training.fit` (one epoch) trains the protocol's
`IterativeUNet` (widths 8, 16, 32, 32; K = 3) with `DelineationLoss(LossNetwork(arch, [layer], "random"))` (mu 0.01;
`pixel` is the BCE-only reference) on `RandomCrops` of 224 x 224 from in-memory synthetic tiles in the prepared
layout, batch 8 (the config's). A step is the DataLoader batch (crop, flip), the U-Net applied K times, the loss
network's forward on the truth and on the K predictions, the backward through the K predictions to the U-Net, and
the Adam step. The clock is stamped after every optimizer step (`StepClock` of autoencoder_throughput.py, after a CUDA
synchronize); the timed window runs from the end of the last of `--warmup` steps to the end of the last of `--steps`.
One untimed pixel training comes first, so that the first measured configuration does not pay the process's
one-off costs.

The second table estimates the device-hours of the paper's sweep: 14 architectures x 4 layers + the pixel
reference, `--epochs` epochs of `--crops-per-epoch` crops (the config's 100 x 1108). Validation (686 forward-only
windows per epoch over the 14 valid tiles) and the test evaluation (8,281 U-Net-only windows) are left out; they
add roughly a fifth. Configurations not measured are extrapolated: s/crop = pixel's s/crop + k x forward GFLOPs
of the loss network up to the layer for the K + 1 = 4 maps of a crop, k pooled over the measured configurations.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np
import torch
from autoencoder_throughput import StepClock, loss_network_gflops

from lossnet.benchmarks.delineation.model import IterativeUNet
from lossnet.benchmarks.delineation.train import CROP, DelineationLoss, RandomCrops, Tiles
from lossnet.network import LossNetwork
from lossnet.training import NonFiniteLossError, fit
from lossnet.zoo import LAYER_LABELS, PAPER_ARCHITECTURES

DEFAULT_ARCHS = ["alexnet", "vgg16", "resnet50"]
MAPS_PER_CROP = 4  # the truth and the K = 3 predictions go through the loss network


def synthetic_tiles(path: Path, tiles: int = 4, side: int = 512) -> Tiles:
    """A prepared-layout HDF5 (``/train/{sat,map,names}``) of noise images and sparse random maps, read into memory."""
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as h5:
        h5["train/sat"] = rng.integers(0, 256, (tiles, side, side, 3), dtype=np.uint8)
        h5["train/map"] = (rng.random((tiles, side, side)) < 0.05).astype(np.uint8)
        h5["train/names"] = np.array([f"tile{i}" for i in range(tiles)], dtype=h5py.string_dtype())
    return Tiles(path, "train", in_memory=True)


def measure(arch: str, layer: str, tiles: Tiles, args, device: torch.device, workdir: Path) -> dict:
    """Crops/s of ``fit`` over the timed steps, and the peak GPU memory."""
    torch.manual_seed(0)
    model = IterativeUNet()
    loss = DelineationLoss(None if arch == "pixel" else LossNetwork(arch, [layer], "random"))
    crops = RandomCrops(tiles, args.batch_size * (args.warmup + args.steps), CROP)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    with StepClock(device) as clock:
        fit(model, loss, crops, checkpoint_dir=workdir / f"{arch}-{layer}", epochs=1, batch_size=args.batch_size,
            seed=0, device=str(device), precision=args.precision, frozen=[m for m in [loss.network] if m is not None],
            progress=False, log=logging.getLogger("quiet"))
    assert len(clock.stamps) == args.warmup + args.steps, f"{len(clock.stamps)} optimizer steps"
    seconds = clock.stamps[-1] - clock.stamps[args.warmup - 1]
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {"cps": args.batch_size * args.steps / seconds, "seconds": seconds, "peak_gib": peak}


def estimate(measured: dict[tuple[str, str], float], args, unit: str) -> None:
    """Print the device-hours of the sweep: measured configurations as measured, the rest from the FLOPs model."""
    if ("pixel", "-") not in measured:
        print("\n(pixel not measured: no estimate)")
        return
    pixel = 1 / measured["pixel", "-"]
    pairs = [(1 / cps - pixel, MAPS_PER_CROP * loss_network_gflops(arch, layer, CROP))
             for (arch, layer), cps in measured.items() if arch != "pixel"]
    k = max(sum(e for e, _ in pairs) / sum(f for _, f in pairs), 0.0) if pairs else 0.0
    crops = args.epochs * args.crops_per_epoch
    print(f"\n**Estimated {unit} of the paper's benchmark-3 sweep ({args.epochs} epochs x {args.crops_per_epoch} "
          f"crops, training only, one weights variant)**\n")
    print(f"| loss network | measured | {unit} (E, S, M, L) | total |\n|---|---:|---|---:|")
    totals = {"measured": 0.0, "extrapolated": 0.0}
    for arch in ["pixel", *PAPER_ARCHITECTURES]:
        hours, done = [], 0
        for layer in ["-"] if arch == "pixel" else LAYER_LABELS:
            if (arch, layer) in measured:
                seconds, kind, done = 1 / measured[arch, layer], "measured", done + 1
            else:
                seconds = pixel + k * MAPS_PER_CROP * loss_network_gflops(arch, layer, CROP)
                kind = "extrapolated"
            hours.append(crops * seconds / 3600)
            totals[kind] += hours[-1]
        print(f"| {arch} | {done}/{len(hours)} | {', '.join(f'{h:,.1f}' for h in hours)} | {sum(hours):,.1f} |")
    print(f"\nMeasured configurations: {totals['measured']:,.1f} {unit}; extrapolated with k = {k * 1e3:.2f} ms per "
          f"loss-network GFLOP (pooled over {len(pairs)} measured): {totals['extrapolated']:,.1f} {unit}. Whole sweep: "
          f"{sum(totals.values()):,.1f} {unit} on one device, plus about a fifth for validation and evaluation.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--archs", nargs="+", default=DEFAULT_ARCHS, help="zoo architectures or 'all'; pixel is added")
    parser.add_argument("--layers", nargs="+", default=["S", "L"], choices=LAYER_LABELS)
    parser.add_argument("--batch-size", type=int, default=8, help="the config's 8")
    parser.add_argument("--steps", type=int, help="timed steps (default 20 on cuda, 2 on cpu)")
    parser.add_argument("--warmup", type=int, help="untimed steps first, at least 1 (default 3 on cuda, 1 on cpu)")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--crops-per-epoch", type=int, default=1108)
    parser.add_argument("--step-times", help="also write the measured rates as rows of this step-time CSV (lossnet estimate's bench/step_times.csv; replaces the device's rows of the same rule and network)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    args.steps, args.warmup = args.steps or (20 if cuda else 2), args.warmup or (3 if cuda else 1)
    archs = list(PAPER_ARCHITECTURES) if args.archs == ["all"] else [a for a in args.archs if a != "pixel"]
    torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; {args.precision}; batch {args.batch_size} of {CROP}x{CROP}, K 3; "
          f"{args.warmup} warm-up + {args.steps} timed steps; load average {os.getloadavg()[0]:.2f} at start\n")
    print("| loss network | layer | crops/s | ms/step |" + (" peak GiB |" if cuda else "") + " load 1m |")
    print("|---|---|---:|---:|" + ("---:|" if cuda else "") + "---:|")
    measured = {}
    with tempfile.TemporaryDirectory() as tmp:
        tiles = synthetic_tiles(Path(tmp) / "tiles.h5")
        # Untimed: the process's first training pays one-off costs (allocator growth, kernel selection) that the
        # warm-up steps of one configuration do not absorb; on the CPU it made pixel look slower than alexnet.
        measure("pixel", "-", tiles, args, device, Path(tmp) / "warm-up")
        for arch, layer in [("pixel", "-")] + [(a, layer) for a in archs for layer in args.layers]:
            try:
                result = measure(arch, layer, tiles, args, device, Path(tmp))
            except (torch.OutOfMemoryError, NonFiniteLossError) as error:
                print(f"| {arch} | {layer} | {type(error).__name__} | |" + (" |" if cuda else "")
                      + f" {os.getloadavg()[0]:.2f} |", flush=True)
                continue
            measured[arch, layer] = result["cps"]
            peak = f" {result['peak_gib']:.1f} |" if cuda else ""
            print(f"| {arch} | {layer} | {result['cps']:,.1f} | {1e3 * result['seconds'] / args.steps:,.0f} |{peak} "
                  f"{os.getloadavg()[0]:.2f} |", flush=True)
    estimate(measured, args, "GPU-hours" if cuda else "CPU-hours")
    if args.step_times:
        from step_rows import write_rows

        rates: dict[str, list[float]] = {}
        for (arch, _), cps in measured.items():  # seconds per megapixel of crops x K iterations (the model's unit)
            rates.setdefault(arch, []).append(1e6 / (cps * CROP ** 2 * 3))
        write_rows(args.step_times, name if cuda else "cpu", "delineation_train", rates, "Mpx",
                   f"bench/delineation_throughput.py, batch {args.batch_size}, {args.precision}")


if __name__ == "__main__":
    main()
