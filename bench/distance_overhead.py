"""Overhead of the extra distances in the benchmark-1 cache pass: [lpips] alone vs [lpips, meanpool, gram].

    .venv/bin/python bench/distance_overhead.py --device cpu                       # alexnet, squeezenet1_1, resnet18
    .venv/bin/python bench/distance_overhead.py --device cuda                      # the 14 architectures
    .venv/bin/python bench/distance_overhead.py --device cuda --archs vgg16 resnet50 --breakdown --n 4000
    .venv/bin/python bench/distance_overhead.py --device cuda --per-layer           # ms per distance and layer

Times `lossnet.benchmarks.similarity.cache.compute_distances` as the `similarity_cache` rule calls it (scripts/similarity_cache.py:
all four layers E S M L, the config's batch size 128, fp32, ImageNet normalisation; here random weights) over
the same synthetic BAPPS file (`lossnet.benchmarks.similarity.demo.make_bapps` + `.data.prepare`, as
bench/similarity_throughput.py does; tiled to `--n` items per subset when that is more than 128), once with
distances [lpips] and once with [lpips, meanpool, gram] (`--breakdown` adds [lpips, meanpool] and
[lpips, gram]). The timed call includes the forward passes, the distances, their copies to the host and the
HDF5 cache writes, but not building the network: the network is built once per architecture (random init
of vgg's classifier alone takes seconds on a CPU) and handed to every call. Each architecture gets one untimed
warm-up call with all distances, then `--repeats` rounds that run every variant once (interleaved, so that
load from other work hits all variants alike); the table reports the median seconds, pairs/s (2AFC: 2 pairs
per triplet, JND: 1 per pair) and the overhead of each variant over [lpips] alone. The issue's goal: under 20%
over [lpips] alone on a GPU, for the 14 architectures. `--per-layer` instead times each distance alone on one
batch's features per layer, which shows where an overhead comes from.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import torch

import lossnet.benchmarks.similarity.cache as similarity
from lossnet.benchmarks.similarity import data as bapps, demo
from lossnet.zoo import LAYER_LABELS, PAPER_ARCHITECTURES

GOAL = 20.0  # percent over lpips alone, on a GPU
BASE_ITEMS = 128  # items per subset that make_bapps really generates; more are tiled copies
VARIANTS = {"lpips": ("lpips",), "all": ("lpips", "meanpool", "gram")}
BREAKDOWN = {"lpips+meanpool": ("lpips", "meanpool"), "lpips+gram": ("lpips", "gram")}


def synthetic_bapps(workdir: Path, n: int) -> tuple[Path, int]:
    """A prepared BAPPS file with ``n`` triplets per 2AFC subset and ``n`` pairs per JND subset; its pair count."""
    base = min(n, BASE_ITEMS)
    root = demo.make_bapps(workdir / "bapps", n_2afc=base, n_jnd=base, seed=0)
    prepared = bapps.prepare(root, workdir / "base.h5", progress=False)
    if n > base:  # tile every per-item dataset to n rows (speed does not depend on the pixels)
        tiled = workdir / "bapps.h5"
        with h5py.File(prepared) as source, h5py.File(tiled, "w") as out:
            out.attrs.update(source.attrs)
            for split in source:
                for subset in source[split]:
                    for name, data in source[f"{split}/{subset}"].items():
                        reps = -(-n // len(data))
                        out[f"{split}/{subset}/{name}"] = np.concatenate([data[:]] * reps)[:n]
        prepared = tiled
    with h5py.File(prepared) as h5:
        pairs = (sum(2 * len(h5[f"2afc/{s}/judge"]) for s in h5["2afc"])
                 + sum(len(h5[f"jnd/{s}/same"]) for s in h5["jnd"]))
    return prepared, pairs


@contextmanager
def prebuilt_network(arch: str, layers, device: torch.device):
    """Make ``compute_distances`` use one network built here, instead of building (initialising) its own."""
    network = similarity.LossNetwork(arch, layers, "random", normalize_input=True, seed=0).to(device)
    original = similarity.LossNetwork
    similarity.LossNetwork = lambda *args, **kwargs: network
    try:
        yield network
    finally:
        similarity.LossNetwork = original


def run_pass(arch, prepared, output, distances, args, device) -> float:
    start = time.perf_counter()
    similarity.compute_distances(
        arch, "random", prepared, output, layers=args.layers, distances=distances, batch_size=args.batch_size,
        device=str(device), precision=args.precision, channels_last=args.channels_last, compile=args.compile,
        normalize_input=True, seed=0, progress=False,
    )
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def per_layer(archs, args, device) -> None:
    """Milliseconds of each distance alone on one full 2AFC batch's features, per layer (no network, no HDF5).

    As compute_distances does: the features of ``batch_size`` triplets (ref, p0, p1 stacked, random images),
    then d(ref, p0) and d(ref, p1) per distance; median of ``repeats`` after one warm-up.
    """
    cuda = device.type == "cuda"
    names = list(VARIANTS["all"])
    print("| network | layer | features (C, H, W) | " + " | ".join(f"{d} ms" for d in names) + " | load 1m |")
    print("|---|---|---|" + "---:|" * len(names) + "---:|")
    for arch in archs:
        network = similarity.LossNetwork(arch, args.layers, "random", normalize_input=True, seed=0).to(device)
        with torch.inference_mode():
            images = torch.rand(3 * args.batch_size, 3, 64, 64, generator=torch.Generator().manual_seed(0))
            features = {k: v.float() for k, v in network(images.to(device)).items()}
            for layer, value in features.items():
                ref, p0, p1 = value.split(args.batch_size)
                cells = []
                for name in names:
                    times = []
                    for _ in range(args.repeats + 1):
                        start = time.perf_counter()
                        for other in (p0, p1):
                            similarity.distance(name, ref, other).cpu()  # the host copy syncs, as in the pass
                        times.append(time.perf_counter() - start)
                    cells.append(f"{1e3 * statistics.median(times[1:]):,.1f}")
                print(f"| {arch} | {layer} | {tuple(value.shape[1:])} | " + " | ".join(cells)
                      + f" | {os.getloadavg()[0]:.2f} |", flush=True)
        del network, features
        if cuda:
            torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--archs", nargs="+", help="default: the 14 on cuda, alexnet squeezenet1_1 resnet18 on "
                        "cpu; 'all' for the 14")
    parser.add_argument("--layers", nargs="+", default=list(LAYER_LABELS))
    parser.add_argument("--n", type=int, help="triplets per 2AFC subset and pairs per JND subset (6 + 2 subsets); "
                        "default 1000 on cuda, 32 on cpu")
    parser.add_argument("--batch-size", type=int, default=128, help="samples per batch (config similarity.batch_size)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--breakdown", action="store_true", help="also time [lpips, meanpool] and [lpips, gram]")
    parser.add_argument("--per-layer", action="store_true", help="instead: ms of each distance alone on one "
                        "batch's features, per layer (where the overhead comes from)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if args.archs in (None, ["all"]):
        archs = list(PAPER_ARCHITECTURES) if cuda or args.archs else ["alexnet", "squeezenet1_1", "resnet18"]
    else:
        archs = args.archs
    args.n = args.n or (1000 if cuda else 32)
    variants = {**VARIANTS, **(BREAKDOWN if args.breakdown else {})}
    torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    if args.per_layer:
        print(f"device: {name}; torch {torch.__version__}; fp32; batch {args.batch_size} triplets (two pairs each); "
              f"median of {args.repeats} after 1 warm-up; load average {os.getloadavg()[0]:.2f} at start\n")
        per_layer(archs, args, device)
        return

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepared, pairs = synthetic_bapps(workdir, args.n)
        with h5py.File(prepared) as h5:
            images = sum(len(h5[f"{split}/{s}/{folder}"]) for split, (folders, _) in bapps.SPLITS.items()
                         for s in h5[split] for folder in folders)
        knobs = ", ".join(k for k in ("channels_last", "compile") if getattr(args, k)) or "eager"
        print(f"device: {name}; torch {torch.__version__}; {args.precision}, {knobs}; layers {' '.join(args.layers)}; "
              f"{pairs:,} pairs ({images:,} images of 64x64), batch {args.batch_size}; median of {args.repeats} "
              f"after 1 warm-up; load average {os.getloadavg()[0]:.2f} at start\n")
        print("| network | distances | seconds | spread | pairs/s | overhead vs lpips | load 1m |")
        print("|---|---|---:|---:|---:|---:|---:|")
        summary = []
        for arch in archs:
            try:
                with prebuilt_network(arch, args.layers, device):
                    output = workdir / "cache.h5"
                    run_pass(arch, prepared, output, VARIANTS["all"], args, device)  # warm-up
                    times = {label: [] for label in variants}
                    for _ in range(args.repeats):
                        for label, distances in variants.items():
                            times[label].append(run_pass(arch, prepared, output, distances, args, device))
            except torch.OutOfMemoryError:
                print(f"| {arch} | | out of memory | | | | {os.getloadavg()[0]:.2f} |", flush=True)
                continue
            finally:
                if cuda:
                    torch.cuda.empty_cache()
            base = statistics.median(times["lpips"])
            for label, distances in variants.items():
                seconds = statistics.median(times[label])
                spread = (max(times[label]) - min(times[label])) / seconds
                overhead = "" if label == "lpips" else f"{100 * (seconds / base - 1):+.1f}%"
                print(f"| {arch} | {', '.join(distances)} | {seconds:.2f} | {spread:.0%} | {pairs / seconds:,.0f} | "
                      f"{overhead} | {os.getloadavg()[0]:.2f} |", flush=True)
            summary.append((arch, 100 * (statistics.median(times["all"]) / base - 1)))
    if summary:
        over = [f"{arch} ({pct:+.0f}%)" for arch, pct in summary if pct >= GOAL]
        where = "" if cuda else " (the goal is stated for a GPU; these are CPU numbers)"
        print(f"\nGoal: [lpips, meanpool, gram] under {GOAL:.0f}% over [lpips] alone{where}. "
              f"Median overhead over {len(summary)} architectures: {statistics.median(p for _, p in summary):+.1f}%; "
              + (f"at or over the goal: {', '.join(over)}." if over else "all under the goal."))
        print("spread = (max - min) / median of the repeats.")


if __name__ == "__main__":
    main()
