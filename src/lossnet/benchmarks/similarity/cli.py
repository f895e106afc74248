"""The ``lossnet similarity`` and ``lossnet demo-data`` commands (registered by :mod:`lossnet.cli`)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ...distances.features import FEATURE_DISTANCES as DISTANCES
from ...zoo import LAYER_LABELS
from .data import SUBSETS_2AFC, SUBSETS_JND


def register(commands: argparse._SubParsersAction) -> None:
    sim = commands.add_parser("similarity", help="score a loss network on a BAPPS-format folder (2AFC, JND)")
    from ...cli import output_argument, positive_int

    sim.add_argument("root", help="folder holding 2afc/val/<subset>/... and jnd/val/<subset>/...")
    sim.add_argument("--arch", required=True, help="a zoo architecture (`lossnet archs`)")
    sim.add_argument("--layers", nargs="+", default=list(LAYER_LABELS), help="labels E S M L or module paths")
    sim.add_argument("--weights", default="imagenet", help="imagenet, random or a state_dict path")
    sim.add_argument("--distances", nargs="+", default=["lpips"], choices=sorted(DISTANCES),
                     help="feature distances, all computed in the same forward pass")
    output_argument(sim, "the scores schema, with subset and distance")
    sim.add_argument("--subsets-2afc", nargs="*", default=list(SUBSETS_2AFC), metavar="SUBSET",
                     help="2AFC subsets to score (none: skip 2AFC)")
    sim.add_argument("--subsets-jnd", nargs="*", default=list(SUBSETS_JND), metavar="SUBSET",
                     help="JND subsets to score (none: skip JND)")
    sim.add_argument("--batch-size", type=positive_int, default=64, help="image pairs per forward pass")
    sim.add_argument("--device", default="auto", help="auto (the GPU when there is one), cpu, cuda, ...")
    sim.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="feature precision")
    sim.add_argument("--seed", type=int, default=0, help="seed of random weights")
    sim.set_defaults(run=_similarity, outputs=("output",))

    demo = commands.add_parser("demo-data", help="write a synthetic BAPPS-format folder (offline demo data)")
    demo.add_argument("output", help="folder to write (BAPPS layout: 2afc/val/..., jnd/val/...)")
    demo.add_argument("--n", type=positive_int, default=64, help="triplets per 2AFC subset and pairs per JND subset")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic images and judgements")
    demo.set_defaults(run=_demo_data)

    cache = commands.add_parser(
        "calibration-cache", help="per-channel LPIPS values of every 2AFC triplet of a BAPPS-format folder (HDF5), "
                                  "what `lossnet calibrate` fits on")
    cache.add_argument("root", help="folder holding 2afc/<part>/<subset>/...")
    cache.add_argument("--part", choices=["train", "val"], default="train", help="the BAPPS part to read")
    cache.add_argument("--arch", required=True, help="a zoo architecture (`lossnet archs`)")
    cache.add_argument("--layers", nargs="+", default=["lpips"],
                       help="labels E S M L, module paths or a preset (lpips: alexnet, vgg16, squeezenet1_1)")
    cache.add_argument("--weights", default="imagenet", help="imagenet, random or a state_dict path")
    cache.add_argument("--subsets", nargs="+", default=None, metavar="SUBSET",
                       help="2AFC subsets (default: every folder under 2afc/<part>)")
    cache.add_argument("-o", "--output", required=True, help="HDF5 file to write")
    cache.add_argument("--batch-size", type=positive_int, default=64, help="triplets per forward pass")
    cache.add_argument("--device", default="auto", help="auto (the GPU when there is one), cpu, cuda, ...")
    cache.add_argument("--seed", type=int, default=0, help="seed of random weights")
    cache.set_defaults(run=_calibration_cache, outputs=("output",))

    fit = commands.add_parser("calibrate", help="fit calibrated LPIPS (per-channel weights) on a calibration cache")
    fit.add_argument("cache", help="a `lossnet calibration-cache` file (BAPPS train)")
    fit.add_argument("-o", "--output", required=True, help="calibration file to write (.pt)")
    fit.add_argument("--schedule", choices=["lpips", "pihlgren", "small"], default="lpips",
                     help="lpips: Adam lr 1e-4, batch 50 (the LPIPS code); pihlgren: lr 1e-3, batch 256; small: "
                          "lr 1e-2, batch 32, 10+10 epochs (a few hundred triplets)")
    fit.add_argument("--epochs", type=positive_int, default=None, help="epochs at full lr (default: the schedule's)")
    fit.add_argument("--decay-epochs", type=int, default=None, help="epochs of linear decay (default: the schedule's)")
    fit.add_argument("--seed", type=int, default=0, help="seed of initialisation, dropout and shuffling")
    fit.add_argument("--val", default=None, help="a calibration cache of BAPPS val to score the fit on")
    fit.add_argument("--scores", default=None, help="CSV of the val 2AFC scores (default: stdout); needs --val")
    fit.set_defaults(run=_calibrate, outputs=("output", "scores"))


def _similarity(args: argparse.Namespace) -> None:
    import pandas as pd

    from ...weights import build_model
    from ...cli import write_table
    from . import cache as distance_cache, data as bapps, scoring

    build_model(args.arch, args.weights, seed=args.seed)  # weights first: a missing file fails before any decoding
    layers = args.layers
    if not args.subsets_2afc and not args.subsets_jnd:
        raise ValueError("--subsets-2afc and --subsets-jnd are both empty: name at least one subset to score")
    with tempfile.TemporaryDirectory() as tmp:
        prepared = bapps.prepare(Path(args.root), Path(tmp) / "bapps.h5", args.subsets_2afc, args.subsets_jnd)
        cache = distance_cache.compute_distances(
            args.arch, args.weights, prepared, Path(tmp) / "cache.h5", layers=layers, batch_size=args.batch_size,
            device=args.device, precision=args.precision, seed=args.seed, distances=args.distances,
        )
        tables = []
        for name in args.distances:
            tables += [scoring.score(cache, layer, name) for layer in layers]
            if len(layers) > 1:
                tables.append(scoring.score(cache, layers, name))
    write_table(pd.concat(tables, ignore_index=True), args.output)


def _calibration_cache(args: argparse.Namespace) -> None:
    from . import data as bapps
    from .calibrate import cache_per_channel

    root = Path(args.root)
    subsets = args.subsets or sorted(p.name for p in (root / "2afc" / args.part).glob("*") if p.is_dir())
    if not subsets:
        raise ValueError(f"no 2AFC subsets under {root / '2afc' / args.part}")
    layers = args.layers[0] if len(args.layers) == 1 and args.layers[0] == "lpips" else args.layers
    with tempfile.TemporaryDirectory() as tmp:
        prepared = bapps.prepare(root, Path(tmp) / "bapps.h5", subsets, (), part=args.part)
        cache_per_channel(args.arch, args.weights, prepared, args.output, layers=layers, seed=args.seed,
                          batch_size=args.batch_size, device=args.device)


def _calibrate(args: argparse.Namespace) -> None:
    import dataclasses

    from ...calibration import SCHEDULES
    from ...cli import write_table
    from .calibrate import calibrate, score_2afc

    if args.scores and not args.val:
        raise ValueError("--scores needs --val (the calibration cache of BAPPS val to score on)")
    schedule = SCHEDULES[args.schedule]
    if args.epochs is not None or args.decay_epochs is not None:
        schedule = dataclasses.replace(schedule, epochs=args.epochs or schedule.epochs,
                                       decay_epochs=schedule.decay_epochs if args.decay_epochs is None
                                       else args.decay_epochs)
    fitted = calibrate(args.cache, args.output, schedule=args.schedule if schedule == SCHEDULES[args.schedule]
                       else schedule, seed=args.seed)
    if args.val:
        write_table(score_2afc(fitted, args.val).assign(distance="lpips_lin"), args.scores)


def _demo_data(args: argparse.Namespace) -> None:
    from .demo import make_bapps

    print(make_bapps(Path(args.output), n_2afc=args.n, n_jnd=args.n, seed=args.seed))
