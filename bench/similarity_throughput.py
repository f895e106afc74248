"""Throughput of the benchmark-1 cache pass against the `lpips` package (unweighted baseline), 64x64 images.

    .venv/bin/python bench/similarity_throughput.py --device cpu --triplets 256
    .venv/bin/python bench/similarity_throughput.py --device cuda --triplets 20000 --batch-size 512

Both sides compute the 2AFC distances d(ref, p0) and d(ref, p1) of the same triplets at all layers:
lossnet with one forward per image (ref, p0, p1 stacked), the lpips package with its own forward per pair
(as its `score_2afc_dataset` does). Reported: distance pairs per second, speed-up over lpips, and the fraction
of 2AFC decisions (which of p0/p1 is nearer) that agree with lossnet fp32. Weights are random (no download);
speed does not depend on weight values. Agreement is measured on synthetic BAPPS-format triplets.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import h5py
import numpy as np
import torch

import lossnet
from lossnet.benchmarks.similarity import data as bapps, demo

LPIPS_LAYERS = {  # the layers the lpips package uses for each network
    "vgg16": ["features.3", "features.8", "features.15", "features.22", "features.29"],
    "alexnet": ["features.1", "features.4", "features.7", "features.9", "features.11"],
}
LPIPS_NET = {"vgg16": "vgg", "alexnet": "alex"}


def synthetic_triplets(n: int) -> np.ndarray:
    """(n, 3, 64, 64, 3) uint8 triplets from the demo generator (real photo patches, real distortions)."""
    with tempfile.TemporaryDirectory() as tmp:
        per_subset = -(-n // 6)
        root = demo.make_bapps(Path(tmp) / "bapps", n_2afc=per_subset, n_jnd=4, seed=0)
        prepared = bapps.prepare(root, Path(tmp) / "b.h5", progress=False)
        with h5py.File(prepared) as h5:
            stacks = [np.stack([h5[f"2afc/{s}/{f}"][:] for f in ("ref", "p0", "p1")], 1) for s in h5["2afc"]]
    return np.concatenate(stacks)[:n]


def lossnet_pass(arch, triplets, device, batch_size, precision, channels_last, compile_):
    net = lossnet.LossNetwork(arch, LPIPS_LAYERS[arch], weights="random").to(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=memory_format)
    forward = torch.compile(net) if compile_ else net
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()

    def run(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(batch)
        images = torch.from_numpy(batch).to(device).reshape(n * 3, 64, 64, 3).permute(0, 3, 1, 2)
        images = (images.float() / 255).contiguous(memory_format=memory_format)
        with autocast:
            feats = forward(images)
        feats = {k: v.float().reshape(n, 3, *v.shape[1:]) for k, v in feats.items()}
        ref, p0, p1 = ({k: v[:, i] for k, v in feats.items()} for i in range(3))
        return lossnet.distance("lpips", ref, p0), lossnet.distance("lpips", ref, p1)

    return run


def lpips_pass(arch, device, lpips_model):
    def run(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        images = torch.from_numpy(batch).to(device).permute(1, 0, 4, 2, 3).float() / 127.5 - 1  # [-1, 1]
        ref, p0, p1 = images
        return lpips_model(ref, p0).flatten(), lpips_model(ref, p1).flatten()

    return run


def timed(run, triplets, batch_size, device) -> tuple[float, np.ndarray]:
    decisions = []
    with torch.inference_mode():
        run(triplets[:batch_size])  # warm-up (cudnn autotune, compile)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for i in range(0, len(triplets), batch_size):
            d0, d1 = run(triplets[i : i + batch_size])
            decisions.append((d1 < d0).cpu())
        if device.type == "cuda":
            torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    return 2 * len(triplets) / elapsed, torch.cat(decisions).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--triplets", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--archs", nargs="+", default=["alexnet", "vgg16"])
    args = parser.parse_args()
    import lpips

    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    triplets = synthetic_triplets(args.triplets)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; {len(triplets)} triplets of 64x64, batch {args.batch_size}\n")
    print("| network | implementation | pairs/s | vs lpips | 2AFC decisions = fp32 |")
    print("|---|---|---:|---:|---:|")
    variants = [("fp32", False, False), ("fp32", True, False), ("bf16", True, False)]
    if device.type == "cuda":
        variants += [("bf16", True, True)]
    for arch in args.archs:
        model = lpips.LPIPS(net=LPIPS_NET[arch], lpips=False, pnet_rand=True, verbose=False).to(device).eval()
        baseline, _ = timed(lpips_pass(arch, device, model), triplets, args.batch_size, device)
        print(f"| {arch} | lpips package (fp32) | {baseline:,.0f} | 1.00x | |")
        reference = None
        for precision, channels_last, compile_ in variants:
            run = lossnet_pass(arch, triplets, device, args.batch_size, precision, channels_last, compile_)
            speed, decisions = timed(run, triplets, args.batch_size, device)
            reference = decisions if reference is None else reference
            label = f"lossnet {precision}" + (", channels_last" if channels_last else "") + (", compiled" if compile_ else "")
            agree = f"{np.mean(decisions == reference):.2%}"
            print(f"| {arch} | {label} | {speed:,.0f} | {speed / baseline:.2f}x | {agree} |")


if __name__ == "__main__":
    main()
