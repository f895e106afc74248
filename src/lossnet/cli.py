"""``lossnet``: what users do outside the workflow."""

from __future__ import annotations

import argparse
import importlib
import sys
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


def _rank(args: argparse.Namespace) -> None:
    from .analysis.rank import write_rankings

    print(write_rankings(args.scores, args.output, args.replicates).to_string(index=False))


def _recommend(args: argparse.Namespace) -> None:
    from .analysis.tables import read_attributes, recommend, recommend_references
    from .benchmarks.scores import read_scores

    folder = Path(args.attributes_dir)
    paths = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    attributes = read_attributes(paths) if paths else None
    if attributes is None:
        print(f"(no attribute CSVs in {folder}: the cost column mflops_to_layer is empty)", file=sys.stderr)
    scores = read_scores([args.scores])
    table = recommend(scores, args.task, attributes, args.top)
    costs = {"mflops_to_layer": "{:.0f}".format}
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}", formatters=costs))
    references = recommend_references(scores, args.task)
    if len(references):
        best = references.iloc[0]
        print(f"\nBest network-free reference: {best['arch']} (no loss network; would rank "
              f"{best['mean_rank']:.4g} on average among all loss-network configurations)")
        print("Network-free references (not ranked among the loss networks):")
        print(references.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def parser() -> argparse.ArgumentParser:
    from .benchmarks import BENCHMARKS

    main = argparse.ArgumentParser(prog="lossnet", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)

    archs = commands.add_parser("archs", help="list architectures and their E/S/M/L extraction layers")
    archs.add_argument("arch", nargs="?", help="list every module path of this architecture instead")
    archs.set_defaults(run=_archs)

    attributes = commands.add_parser("attributes", help="print an architecture's attributes per layer as CSV")
    attributes.add_argument("arch")
    attributes.add_argument("--input-sizes", type=int, nargs="+", default=[64, 224])
    attributes.set_defaults(run=_attributes)

    for entry in BENCHMARKS.values():  # each benchmark may bring commands of its own
        if entry.commands:
            importlib.import_module(entry.commands).register(commands)

    rank = commands.add_parser("rank", help="rank architectures from scores CSV(s) as the paper does")
    rank.add_argument("scores", nargs="+")
    rank.add_argument("-o", "--output", required=True)
    rank.add_argument("--replicates", nargs="*", default=[], metavar="FILE",
                      help="bootstrap replicates files (X.replicates.csv beside each job's scores): rank intervals")
    rank.set_defaults(run=_rank)

    recommend = commands.add_parser("recommend", help="best loss networks (arch, layer, weights) for a task, with cost")
    recommend.add_argument("--task", required=True, metavar="BENCHMARK",
                           help=f"a benchmark in the scores ({', '.join(BENCHMARKS)})")
    recommend.add_argument("--scores", default="results/tables/scores.csv")
    recommend.add_argument("--attributes-dir", default="results/attributes", help="folder of {arch}.csv attributes")
    recommend.add_argument("--top", type=int, default=5)
    recommend.set_defaults(run=_recommend)

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
