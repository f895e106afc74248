"""``lossnet``: what users do outside the workflow."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd


def _archs(args: argparse.Namespace) -> None:
    from .network import _module_nodes, _natural
    from .zoo import ARCHITECTURES, get_architecture

    if args.arch:
        print("\n".join(sorted(_module_nodes(get_architecture(args.arch).name), key=_natural)))
        return
    table = pd.DataFrame([{"arch": name, **spec.layers} for name, spec in ARCHITECTURES.items()])
    print(table.to_string(index=False))


def _attributes(args: argparse.Namespace) -> None:
    from .attributes import layer_attributes

    layer_attributes(args.arch, args.input_sizes).to_csv(sys.stdout, index=False)


def _similarity(args: argparse.Namespace) -> None:
    from . import bapps, similarity

    layers = args.layers
    with tempfile.TemporaryDirectory() as tmp:
        prepared = bapps.prepare(Path(args.root), Path(tmp) / "bapps.h5", args.subsets_2afc, args.subsets_jnd)
        cache = similarity.compute_distances(
            args.arch, args.weights, prepared, Path(tmp) / "cache.h5", layers=layers, batch_size=args.batch_size,
            device=args.device, precision=args.precision, seed=args.seed, distances=args.distances,
        )
        tables = []
        for name in args.distances:
            tables += [similarity.score(cache, layer, name) for layer in layers]
            if len(layers) > 1:
                tables.append(similarity.score(cache, layers, name))
    scores = pd.concat(tables, ignore_index=True)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    scores.to_csv(args.output, index=False)
    headline = scores[scores["subset"] == ""]
    print(headline[["metric", "distance", "arch", "layer", "weights", "value"]].to_string(index=False))


def _rank(args: argparse.Namespace) -> None:
    from .rank import write_rankings

    print(write_rankings(args.scores, args.output).to_string(index=False))


def _recommend(args: argparse.Namespace) -> None:
    from .analysis import read_attributes, recommend
    from .rank import read_scores

    folder = Path(args.attributes_dir)
    paths = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    attributes = read_attributes(paths) if paths else None
    if attributes is None:
        print(f"(no attribute CSVs in {folder}: the cost column mflops_to_layer is empty)", file=sys.stderr)
    table = recommend(read_scores([args.scores]), args.task, attributes, args.top)
    costs = {"mflops_to_layer": "{:.0f}".format}
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}", formatters=costs))


def _demo_data(args: argparse.Namespace) -> None:
    from .demo import make_bapps

    print(make_bapps(Path(args.output), n_2afc=args.n, n_jnd=args.n, seed=args.seed))


def parser() -> argparse.ArgumentParser:
    from .bapps import SUBSETS_2AFC, SUBSETS_JND
    from .distances import DISTANCES
    from .zoo import LAYER_LABELS

    main = argparse.ArgumentParser(prog="lossnet", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)

    archs = commands.add_parser("archs", help="list architectures and their E/S/M/L extraction layers")
    archs.add_argument("arch", nargs="?", help="list every module path of this architecture instead")
    archs.set_defaults(run=_archs)

    attributes = commands.add_parser("attributes", help="print an architecture's attributes per layer as CSV")
    attributes.add_argument("arch")
    attributes.add_argument("--input-sizes", type=int, nargs="+", default=[64, 224])
    attributes.set_defaults(run=_attributes)

    sim = commands.add_parser("similarity", help="score a loss network on a BAPPS-format folder (2AFC, JND)")
    sim.add_argument("root", help="folder holding 2afc/val/<subset>/... and jnd/val/<subset>/...")
    sim.add_argument("--arch", required=True)
    sim.add_argument("--layers", nargs="+", default=list(LAYER_LABELS), help="labels E S M L or module paths")
    sim.add_argument("--weights", default="imagenet", help="imagenet, random or a state_dict path")
    sim.add_argument("--distances", nargs="+", default=["lpips"], choices=sorted(DISTANCES),
                     help="feature distances, all computed in the same forward pass")
    sim.add_argument("--output", required=True, help="scores CSV to write")
    sim.add_argument("--subsets-2afc", nargs="*", default=list(SUBSETS_2AFC))
    sim.add_argument("--subsets-jnd", nargs="*", default=list(SUBSETS_JND))
    sim.add_argument("--batch-size", type=int, default=64)
    sim.add_argument("--device", default="auto")
    sim.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    sim.add_argument("--seed", type=int, default=0)
    sim.set_defaults(run=_similarity)

    rank = commands.add_parser("rank", help="rank architectures from scores CSV(s) as the paper does")
    rank.add_argument("scores", nargs="+")
    rank.add_argument("-o", "--output", required=True)
    rank.set_defaults(run=_rank)

    recommend = commands.add_parser("recommend", help="best loss networks (arch, layer, weights) for a task, with cost")
    recommend.add_argument("--task", required=True, choices=["similarity", "superres", "delineation", "autoencoding"])
    recommend.add_argument("--scores", default="results/tables/scores.csv")
    recommend.add_argument("--attributes-dir", default="results/attributes", help="folder of {arch}.csv attributes")
    recommend.add_argument("--top", type=int, default=5)
    recommend.set_defaults(run=_recommend)

    demo = commands.add_parser("demo-data", help="write a synthetic BAPPS-format folder (offline demo data)")
    demo.add_argument("output")
    demo.add_argument("--n", type=int, default=64, help="triplets per 2AFC subset and pairs per JND subset")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=_demo_data)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, KeyError, FileNotFoundError, RuntimeError) as error:
        print(f"lossnet {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
