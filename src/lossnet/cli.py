"""``lossnet``: what users do outside the workflow."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable

from . import __version__

DESCRIPTION = ("lossnet: choose and use deep perceptual loss networks outside the workflow. Tables go to stdout "
               "as CSV unless -o/--output names a file; `lossnet COMMAND --help` describes each command.")

# The commands that need the `workflow` extra (pandas, h5py, ...) import it when they run: `lossnet archs`,
# `lossnet compare` and `--help` work on the core install.
WORKFLOW_EXTRA_HINT = "pip install 'lossnet[workflow]'"
_WORKFLOW_MODULES = {"pandas", "h5py", "scipy", "skimage", "sklearn", "matplotlib", "seaborn", "yaml", "jsonschema",
                     "snakemake"}


def _archs(args: argparse.Namespace) -> None:
    from .zoo import ARCHITECTURES, LAYER_LABELS, get_architecture

    if args.all:
        _all_archs()
        return
    if args.arch:
        rows = [("module", "label", f"output CxHxW at {ARCH_PROBE_SIZE} px")]
        rows += [(path, label, shape) for path, label, shape in _forward_modules(get_architecture(args.arch).name)]
        _print_columns(rows)
        return
    _print_columns([("arch", *LAYER_LABELS)] + [(name, *(spec.layers[label] for label in LAYER_LABELS))
                                                for name, spec in ARCHITECTURES.items()])


ARCH_PROBE_SIZE = 64  # `lossnet archs ARCH` shows each module's output shape for a square input of this side


def _forward_modules(arch: str) -> list[tuple[str, str, str]]:
    """Every module path of ``arch`` in forward order (its first node in the traced graph), with its E/S/M/L label
    (blank for others) and its output shape for one ARCH_PROBE_SIZE-pixel input ("-" where the graph gives none)."""
    import torch
    import torchvision
    from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

    from .network import _module_nodes
    from .zoo import get_architecture

    spec = get_architecture(arch)
    with torch.device("meta"):
        model = torchvision.models.get_model(arch, weights=None, **spec.build_kwargs).eval()
    nodes = get_graph_node_names(model)[1]
    first = {}
    for index, node in enumerate(nodes):
        parts = node.split(".")
        for i in range(1, len(parts) + 1):
            first.setdefault(".".join(parts[:i]), index)
    paths = sorted(_module_nodes(arch), key=lambda path: (first.get(path, len(nodes)), path))
    labels = {path: label for label, path in spec.layers.items()}
    shapes: dict[str, str] = {}
    try:
        extractor = create_feature_extractor(model, return_nodes={path: path for path in paths})
        with torch.no_grad():
            outputs = extractor(torch.empty(1, 3, ARCH_PROBE_SIZE, ARCH_PROBE_SIZE, device="meta"))
        shapes = {path: "x".join(map(str, out.shape[1:])) for path, out in outputs.items() if hasattr(out, "shape")}
    except (RuntimeError, ValueError) as error:  # too small an input for this network: paths without shapes
        print(f"(no output shapes: {arch} does not take a {ARCH_PROBE_SIZE} px input: {_one_line(error)})",
              file=sys.stderr)
    return [(path, labels.get(path, ""), shapes.get(path, "-")) for path in paths]


def _print_columns(rows: list[tuple[str, ...]]) -> None:
    """Rows as left-aligned columns, two spaces apart (the first row is the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def output_argument(command: argparse.ArgumentParser, columns: str) -> None:
    """The ``-o/--output`` option every table-writing command has (default: CSV to stdout)."""
    command.add_argument("-o", "--output", help=f"CSV file to write (default: stdout); columns: {columns}")
    command.set_defaults(outputs=("output",))


def write_table(table, output: str | None, float_format: str | None = None) -> None:
    """The CLI's one output convention: a table as CSV to stdout, or atomically to ``output`` (``-o``)."""
    if output:
        from ._util import write_csv

        write_csv(table, output, float_format=float_format)
        print(f"wrote {output} ({len(table)} rows)", file=sys.stderr)
    else:
        table.to_csv(sys.stdout, index=False, float_format=float_format)


def _estimate(args: argparse.Namespace) -> None:
    from .estimate import run

    run(args)


def _estimate_default(name: str) -> object:
    from . import estimate

    return getattr(estimate, name)


def _all_archs() -> None:
    """Every torchvision classifier: family, stage taps, E/S/M/L rule, ImageNet top-1, GFLOPS, parameters."""
    from .stages import family_of, stage_paths
    from .weights import weights_metadata
    from .zoo import LAYER_LABELS, PAPER_ARCHITECTURES, get_architecture, torchvision_classifiers

    rows = [("arch", "family", "top1", "gflops", "params_m", "E", "S", "M", "L", "stages")]
    for name in torchvision_classifiers():
        meta, spec = weights_metadata(name, "imagenet"), get_architecture(name)
        mark = "" if meta["weights_entry"].endswith("IMAGENET1K_V1") else "*"
        rows.append((name + ("" if name not in PAPER_ARCHITECTURES else " (paper)"), family_of(name).name,
                     f"{meta['imagenet_top1']:.2f}{mark}", f"{meta['gflops']:.2f}", f"{meta['params'] / 1e6:.1f}",
                     *(spec.layers[label] for label in LAYER_LABELS), " ".join(stage_paths(name))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    print("top1, gflops, params: torchvision's metadata of IMAGENET1K_V1 (* its default entry: no V1); E/S/M/L: "
          "Table II for the paper's 14, else stage round(k (n-1) / 3) of the n stages")


def _compare(args: argparse.Namespace) -> None:
    import csv

    from ._util import atomic_output
    from .compare import compare

    rows = compare(args.a, args.b, arch=args.arch, layers=args.layers, weights=args.weights, distance=args.distance,
                   resize=args.resize, calibrated=args.calibrated, device=args.device, seed=args.seed)
    first = next(rows)  # the network is built and the first pair read before the output file is created

    def write(output) -> None:
        writer = csv.DictWriter(output, fieldnames=list(first))
        writer.writeheader()
        writer.writerow(first)
        for row in rows:
            writer.writerow(row)

    if not args.output:
        write(sys.stdout)
        return
    with atomic_output(args.output) as partial, open(partial, "w", newline="", encoding="utf-8") as output:
        write(output)  # a pair that fails leaves no file, not a header and the rows before it


def _attributes(args: argparse.Namespace) -> None:
    from .attributes import layer_attributes

    write_table(layer_attributes(args.arch, args.input_sizes), args.output)


def _rank(args: argparse.Namespace) -> None:
    from .analysis.rank import PRIMARY_DISTANCE, rank_files

    write_table(rank_files(args.scores, args.replicates, args.distance or PRIMARY_DISTANCE), args.output,
                float_format="%.4g")


def _recommend(args: argparse.Namespace) -> None:
    from .analysis.recommend import RECOMMEND_FORMATS, recommendation

    result = recommendation(args.task, args.source, args.scores, args.attributes_dir, args.top, args.distance)
    for line in result.notes:
        print(line, file=sys.stderr)
    if args.format != "table":  # machine-readable on stdout; the warnings also go to stderr
        for line in result.warnings:
            print(f"lossnet recommend: warning: {line}", file=sys.stderr)
    print(RECOMMEND_FORMATS[args.format](result), end="")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (``lossnet compare: error: argument --resize: ...``) and exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see `{self.prog} --help`)\n")


def argument_type(check: Callable[[str], object], name: str | None = None) -> Callable[[str], object]:
    """An argparse ``type`` from a function that raises ValueError with a message: argparse shows the message
    (it would show only "invalid value" for a plain ValueError)."""
    def convert(text: str) -> object:
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = name or check.__name__
    return convert


def _number(text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def _positive_int(text: str) -> int:
    """An integer of at least 1 (a scale, a count)."""
    value = int(_number(text, int))
    if value < 1:
        raise ValueError(f"must be a positive integer, got {text}")
    return value


def _probability(text: str) -> float:
    """A probability threshold in [0, 1) ("> threshold": at 1 nothing would pass)."""
    value = _number(text, float)
    if not 0 <= value < 1:
        raise ValueError(f"must be a probability in [0, 1), got {text}")
    return value


def _non_negative(text: str) -> float:
    """A finite number of 0 or more (a distance in pixels)."""
    value = _number(text, float)
    if value < 0:
        raise ValueError(f"must be 0 or more, got {text}")
    return value


positive_int = argument_type(_positive_int, "positive_int")
probability = argument_type(_probability, "probability")
non_negative = argument_type(_non_negative, "non_negative")


def _resize(text: str):
    from .compare import parse_size

    return parse_size(text)


def _rank_distance(text: str) -> str:
    from .analysis.rank import check_rank_distance

    return check_rank_distance(text)


def parser() -> argparse.ArgumentParser:
    from .benchmarks import BENCHMARKS

    main = _Parser(prog="lossnet", description=DESCRIPTION)
    main.add_argument("--version", action="version", version=f"lossnet {__version__}")
    main.add_argument("--debug", action="store_true", help="show the traceback of an error (default: a one-line message)")
    commands = main.add_subparsers(dest="command", required=True)

    archs = commands.add_parser("archs", help="list architectures and their E/S/M/L extraction layers (--all: every "
                                              "torchvision classifier)")
    archs.add_argument("arch", nargs="?", help="list every module path of this architecture instead, in forward "
                       f"order, with its E/S/M/L label and output shape at {ARCH_PROBE_SIZE} px")
    archs.add_argument("--all", action="store_true",
                       help="every torchvision classifier with its stages, ImageNet top-1, GFLOPS and parameters")
    archs.set_defaults(run=_archs)

    attributes = commands.add_parser("attributes", help="print an architecture's attributes per layer as CSV")
    attributes.add_argument("arch", help="a zoo architecture (`lossnet archs`)")
    attributes.add_argument("--input-sizes", type=positive_int, nargs="+", default=[64, 224], metavar="PX",
                            help="square input sides for the features_<PX> columns (feature-map sizes)")
    attributes.add_argument("-o", "--output", help="CSV file to write (default: stdout)")
    attributes.set_defaults(run=_attributes, outputs=("output",))

    compare = commands.add_parser(
        "compare", help="distance between two images, or two folders of images matched by file name (CSV)",
        description="One CSV row per pair (a, b, arch, layers, weights, distance, value), to stdout unless --output. "
                    "Images are read as RGB in [0, 1]; pairs of different sizes are an error unless --resize.")
    compare.add_argument("a", help="an image file, or a folder of images")
    compare.add_argument("b", help="an image file, or a folder with the same file names as A")
    compare.add_argument("--arch", default="alexnet", help="a zoo architecture (`lossnet archs`)")
    compare.add_argument("--layers", nargs="+", default=None,
                         help="labels E S M L, module paths or the preset lpips "
                              "(default: lpips for alexnet/vgg16/squeezenet1_1 with --distance lpips, else E S M L)")
    compare.add_argument("--weights", default="imagenet", help="imagenet, random or a state_dict path")
    compare.add_argument("--distance", default="lpips",
                         help="lpips (calibrated LPIPS v0.1 where the lpips package has weights), mse, meanpool, gram, "
                              "or the network-free l2, ssim, mmdpp")
    compare.add_argument("--calibrated", action=argparse.BooleanOptionalAction, default=None,
                         help="LPIPS per-channel weights from the lpips package (default: where they exist)")
    compare.add_argument("--resize", metavar="N|HxW", type=argument_type(_resize, "size"),
                         help="resize every image to this size first")
    compare.add_argument("--output", "-o", help="CSV file to write (default: stdout)")
    compare.add_argument("--device", default="auto", help="auto (the GPU when there is one), cpu, cuda, cuda:1, ...")
    compare.add_argument("--seed", type=int, default=0, help="seed of random weights and of MMD++")
    compare.set_defaults(run=_compare, outputs=("output",))

    for name, entry in BENCHMARKS.items():  # each benchmark may bring commands of its own
        if entry.commands:
            try:
                module = importlib.import_module(entry.commands)
            except ImportError as error:  # core install: say what to install when the command is used
                _needs_workflow_extra(commands, name, error)
                continue
            module.register(commands)

    rank = commands.add_parser("rank", help="rank architectures from scores CSV(s) as the paper does (Table III)",
                               description="The paper's ranking: per metric each architecture's best layer is "
                                           "ranked (1 = best, ties averaged), ranks are averaged per benchmark, then "
                                           "over benchmarks. CSV to stdout unless -o.")
    rank.add_argument("scores", nargs="+", metavar="SCORES", help="scores CSV(s) (the scores schema)")
    rank.add_argument("-o", "--output", help="CSV file to write (default: stdout)")
    rank.add_argument("--replicates", nargs="*", default=[], metavar="FILE",
                      help="bootstrap replicates files (X.replicates.csv beside each job's scores): rank intervals")
    rank.add_argument("--distance", type=argument_type(_rank_distance, "distance"),
                      help="the feature distance whose similarity scores are ranked (lpips, mse, meanpool, gram), as "
                           "config similarity.rank_distance (default: lpips, the paper's)")
    rank.set_defaults(run=_rank, outputs=("output",))

    recommend = commands.add_parser(
        "recommend", help="best loss networks (arch, layer, weights) for a task, with cost and intervals",
        description="Ranks every (arch, layer, weights) on the task's metrics. The scores come from this run's "
                    "results (--scores) or from the paper's appendix (--source published, the default when "
                    "--scores does not exist); a warning says when they come from random weights or synthetic data.")
    recommend.add_argument("--task", required=True, metavar="BENCHMARK",
                           help=f"a benchmark in the scores ({', '.join(BENCHMARKS)})")
    recommend.add_argument("--source", choices=["auto", "results", "published"], default="auto",
                           help="results: --scores; published: the paper's appendix scores (Pihlgren et al. 2023, "
                                "benchmarks 1, 2, 4); auto: results when --scores exists, else published")
    recommend.add_argument("--scores", default="results/tables/scores.csv", help="this run's scores table")
    recommend.add_argument("--attributes-dir", default="results/attributes",
                           help="folder of {arch}.csv attributes (the cost column mflops_to_layer)")
    recommend.add_argument("--top", type=positive_int, default=5, help="how many configurations to list")
    recommend.add_argument("--format", choices=["table", "csv", "json"], default="table",
                           help="table: for reading, with the source and any warning; csv or json: for programs")
    recommend.add_argument("--distance", default=None, type=argument_type(_rank_distance, "distance"),
                           help="the feature distance to recommend by, as similarity.rank_distance (default: the only "
                                "one in the scores, else lpips)")
    recommend.set_defaults(run=_recommend)

    estimate = commands.add_parser(
        "estimate", help="jobs, work, device-hours and disk of the workflow for the config in force",
        description="Per benchmark and experiment of the config (config.yaml plus --configfile overlays, merged as "
                    "Snakemake merges them): jobs, training steps or images, estimated device-hours and disk. Times "
                    "come from the step-time table (rows per device; networks without a row are extrapolated by "
                    "MFLOPS to the layer); stderr says which figures were measured and which extrapolated.")
    estimate.add_argument("--configfile", nargs="+", metavar="FILE",
                          help="config overlays merged over config.yaml in order, as Snakemake's --configfile")
    estimate.add_argument("--device", help="the step-time table's device (default: this machine's GPU name, else cpu)")
    estimate.add_argument("--step-times", default=str(_estimate_default("STEP_TIMES")),
                          help="the step-time CSV (device, kind, arch, seconds, unit, source, measured)")
    estimate.add_argument("--measure", action="store_true",
                          help="for a device without rows: time a few forward/backward steps of the CPU table's "
                               "networks here and scale the CPU rows by the speed-up")
    estimate.add_argument("--by-rule", action="store_true", help="one row per Snakemake rule instead of per section")
    estimate.add_argument("--no-validate", action="store_true", help="skip the schema check (and its defaults)")
    output_argument(estimate, "section, jobs, work, device_hours, timing, data_gb, cache_gb, checkpoint_gb")
    estimate.set_defaults(run=_estimate)

    for sub in [main, *commands.choices.values()]:  # defaults in every --help
        sub.formatter_class = _DefaultsFormatter
        if sub is not main:  # --debug after the command too; SUPPRESS: absent, it leaves the main parser's value
            sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show the traceback of an error (default: a one-line message)")
        for action in sub._actions:
            if not action.help and action.default not in (None, argparse.SUPPRESS) and action.option_strings:
                action.help = "(default: %(default)s)"
    return main


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Append ``(default: X)`` to every option's help, unless the help already speaks of the default or it is None."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _needs_workflow_extra(commands: argparse._SubParsersAction, benchmark: str, error: ImportError) -> None:
    def run(args: argparse.Namespace) -> None:
        raise RuntimeError(f"the {benchmark} commands need the workflow dependencies ({error}): {WORKFLOW_EXTRA_HINT}")

    stub = commands.add_parser(benchmark, help=f"(needs {WORKFLOW_EXTRA_HINT})", add_help=True)
    stub.add_argument("rest", nargs=argparse.REMAINDER)
    stub.set_defaults(run=run)


def _one_line(message: object) -> str:
    """A message on one line: its lines joined by "; " (a CLI error is one line)."""
    if isinstance(message, KeyError) and message.args:
        message = message.args[0]
    return "; ".join(line.strip() for line in str(message).splitlines() if line.strip())


# What a command raises for bad input or a bad environment; anything else is a bug, still reported on one line.
EXPECTED_ERRORS = (ValueError, KeyError, OSError, RuntimeError, MemoryError, ArithmeticError)


def main(argv: list[str] | None = None) -> int:
    """Run a command. Errors are one line, ``lossnet <command>: error: ...`` (exit 1; argument errors exit 2),
    warnings ``lossnet <command>: warning: ...``; ``--debug`` shows the traceback instead."""
    import warnings

    from ._util import check_output_path

    args = parser().parse_args(argv)
    prefix = f"lossnet {args.command}"

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"{prefix}: warning: {_one_line(message)}", file=sys.stderr)

    with warnings.catch_warnings():
        if not args.debug:
            warnings.showwarning = show
        try:
            for name in getattr(args, "outputs", ()):
                if getattr(args, name, None):
                    check_output_path(getattr(args, name))
            args.run(args)
            sys.stdout.flush()  # a closed pipe (`lossnet archs vgg16 | head`) is found here, not at exit
        except BrokenPipeError:
            # The reader stopped reading: nothing to say. Point stdout at devnull so the exit flush is silent.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except ImportError as error:
            if args.debug:
                raise
            hint = f"; this command needs {WORKFLOW_EXTRA_HINT}" if error.name in _WORKFLOW_MODULES else ""
            print(f"{prefix}: error: {_one_line(error)}{hint}", file=sys.stderr)
            return 1
        except Exception as error:
            if args.debug:
                raise
            kind = "" if isinstance(error, EXPECTED_ERRORS) else f"{type(error).__name__}: "
            hint = "" if kind == "" else " (an unexpected error: --debug shows where)"
            if isinstance(error, MemoryError):
                kind = "out of memory: "
            print(f"{prefix}: error: {kind}{_one_line(error) or type(error).__name__}{hint}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
