"""What a run of the workflow costs before it runs: jobs, work, device-hours and disk, per benchmark and experiment.

``lossnet estimate [--configfile demo.yaml ...]`` reads ``config.yaml`` with the overlays merged key by key as
Snakemake merges ``--configfile``, validates it with the workflow's schema, and asks one small cost model per
benchmark and experiment (:data:`COST_MODELS`, a registry: no if-chain names a section) for its job groups: a
Snakemake rule, how many jobs, the work of one job in the unit the step-time table uses (megapixels through the
network, images, probe samples, steps, or the job itself), and the loss network its time scales with.

Times come from ``bench/step_times.csv`` (columns ``device, kind, arch, seconds, unit, source, measured``), one
row per device and rule: ``seconds`` per ``unit`` for the loss network ``arch`` (a ``+``-joined mix: the mean
over those networks; ``-``: no network). A job costs the device's ``startup`` row (Python start-up, imports,
reading its inputs) plus its work times the rule's rate. A network without its own row is **extrapolated** with a
FLOP model: the rate of the row's network(s) times the ratio of MFLOPS up to the extraction layer
(:mod:`lossnet.attributes`, kept in ``bench/layer_mflops.csv``). Every row of the output says whether its time is
measured, measured for a mix of networks and split by FLOPs, or extrapolated. Disk figures are approximate sizes
of the downloads, prepared files, caches and kept checkpoints.
"""

from __future__ import annotations

import copy
import csv
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from .benchmarks.costs import (BENCHMARK_COSTS, MB, JobGroup, SectionCost, _archs, _bapps_counts, _bapps_mpx,
                               bapps_is_generated, bapps_subset_counts, calibration_triplets, stl10_unlabeled)

ROOT = Path(__file__).resolve().parents[2]  # the repository (config.yaml, bench/, schemas/)
STEP_TIMES = ROOT / "bench" / "step_times.csv"
LAYER_MFLOPS = ROOT / "bench" / "layer_mflops.csv"
STEP_TIME_COLUMNS = ("device", "kind", "arch", "seconds", "unit", "source", "measured")

# A rule without a row for the device takes this device's row (an upper bound for a GPU), marked "cpu-row".
FALLBACK_DEVICE = "cpu"


# --------------------------------------------------------------------------------------------------- config


def merge(base: dict, overlay: dict) -> dict:
    """``overlay`` merged into a copy of ``base`` key by key, recursively, as Snakemake merges ``--configfile``."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(overlays: Iterable[str | Path] = (), base: str | Path | None = None,
                validate: bool = True) -> dict:
    """The config in force: ``config.yaml`` (or ``base``) with ``overlays`` merged on top, validated with the
    workflow's schema (which fills in defaults) when ``validate``."""
    import yaml

    config: dict = {}
    for path in [Path(base or ROOT / "config.yaml"), *map(Path, overlays)]:
        if not path.is_file():
            raise ValueError(f"config file {path} does not exist")
        config = merge(config, yaml.safe_load(path.read_text()) or {})
    if validate:
        from .workflow import validate_config

        try:
            validate_config(config, str(ROOT / "schemas" / "config.schema.yaml"))
        except Exception as error:  # WorkflowError: one line naming the key
            raise ValueError(str(error).strip().splitlines()[0]) from None
    return config


def _kumar_archs(config: dict) -> list[str]:
    kumar = config["kumar"]
    names = kumar["architectures"]
    if names == "all":
        import torchvision

        names = sorted(torchvision.models.list_models(module=torchvision.models))
    return [name for name in names if name not in kumar.get("exclude", [])]


def kumar_cost(config: dict) -> SectionCost:
    kumar = config["kumar"]
    archs, variants, sizes = _kumar_archs(config), kumar["weights"], kumar["input_sizes"]
    cost = SectionCost(work=f"{len(archs) * len(variants) * len(sizes)} classifier passes")
    cost.groups += [JobGroup("kumar_cache", len(variants), _bapps_mpx(config, size), "Mpx", arch, "total")
                    for arch in archs for size in sizes]
    train = calibration_triplets(config)
    if train:  # calibrated LPIPS per network: passes over 2afc/train and 2afc/val, then a fit on the CPU
        triplets = _bapps_counts(config)[0]
        cost.groups += [JobGroup("kumar_calibrate", len(variants), 3 * (train + triplets) * size * size / 1e6, "Mpx",
                                 arch, "total") for arch in archs for size in sizes]
    cost.groups += [JobGroup("kumar_tables", 1, 1, "job"), JobGroup("kumar_figures", 1, 1, "job")]
    cost.cache_gb = len(archs) * len(variants) * len(sizes) * 0.005
    cost.data_gb = 0.0 if bapps_is_generated(config) else 0.1 * len(archs)  # ImageNet weights
    return cost


def image_mean_cost(config: dict) -> SectionCost:
    im = config["image_mean"]
    runs = len(im["networks"]) + len(im.get("pixel", []))
    steps = im["steps"] * runs
    return SectionCost([JobGroup("image_mean", 1, steps * im["n_images"] * im["size"] ** 2 / 1e6, "Mpx")],
                       work=f"{steps:,} steps")


def seed003_cost(config: dict) -> SectionCost:
    seed = config["seed003"]
    triplets, pairs = _bapps_counts(config)
    if seed.get("max_per_subset"):
        subsets_2afc, subsets_jnd = bapps_subset_counts(config)
        triplets = min(triplets, seed["max_per_subset"] * subsets_2afc)
        pairs = min(pairs, seed["max_per_subset"] * subsets_jnd)
    passes = (len(seed["vgg_weights"]) + len(seed["alexnet_weights"])) * seed["n_seeds"]
    mpx = passes * (3 * triplets + 2 * pairs) * 64 * 64 / 1e6
    im = seed["image_mean"]
    im_mpx = im["n_sets"] * im["steps"] * im["side"] ** 2 * 6 / 1e6  # about six jittered crops a set
    return SectionCost([JobGroup("seed003_2afc", 1, mpx, "Mpx"), JobGroup("seed003_image_mean", 1, im_mpx, "Mpx")],
                       work=f"{passes} passes x {triplets + pairs:,} samples")


def style_transfer_cost(config: dict) -> SectionCost:
    st = config["style_transfer"]
    runs = len(st["networks"]) * len(st["weights"])
    return SectionCost([JobGroup("style_transfer", 1, runs * st["steps"] * st["size"] ** 2 / 1e6, "Mpx")],
                       work=f"{runs * st['steps']:,} steps")


def clustering_cost(config: dict) -> SectionCost:
    cl = config["clustering"]
    spaces = sum(len(n["layers"]) for n in cl["networks"]) * len(cl["weights"]) + cl["pixels"] + cl["mmd"]
    images = 10 * cl["max_per_class"]
    return SectionCost([JobGroup("clustering", 1, spaces * images * cl["size"] ** 2 / 1e6, "Mpx")],
                       work=f"{images:,} images x {spaces} feature spaces")


def generative_cost(config: dict) -> SectionCost:
    gen = config["generative"]
    n_train = gen.get("n_train") or stl10_unlabeled(config)
    models = len(gen["models"]) * len(gen["losses"])
    mpx = gen["train"]["epochs"] * n_train * gen["size"] ** 2 / 1e6
    cost = SectionCost([JobGroup("generative_train", models, mpx, "Mpx"), JobGroup("generative_matrix", 1, 1, "job")],
                       work=f"{gen['train']['epochs'] * n_train:,} images x {models} models")
    cost.checkpoint_gb = models * 30 * MB if gen["runtime"].get("keep_checkpoints", True) else 0.0
    return cost


def common_cost(config: dict) -> SectionCost:
    """Jobs every run has: attributes per architecture, rankings, tables, figures, the report."""
    analysis = ("scores_table", "rankings", "best_layers", "correlations", "figures", "report", "similarity_tables")
    return SectionCost([JobGroup("attributes", len(_archs(config)), 1, "job"),
                        *(JobGroup(rule, 1, 1, "job") for rule in analysis)], work="tables, figures, report")


# Benchmarks and experiments by name (as lossnet.benchmarks.BENCHMARKS and lossnet.experiments.EXPERIMENTS name
# them), plus the jobs every run has.
COST_MODELS: dict[str, Callable[[dict], SectionCost]] = {
    **BENCHMARK_COSTS,
    "image_mean": image_mean_cost,
    "seed003": seed003_cost,
    "kumar": kumar_cost,
    "style_transfer": style_transfer_cost,
    "clustering": clustering_cost,
    "generative": generative_cost,
    "common": common_cost,
}


def sections(config: dict) -> list[str]:
    """The sections the config's default target builds, in the registry's order."""
    wanted = set(config["benchmarks"]) | set(config.get("experiments", [])) | {"common"}
    unknown = wanted - set(COST_MODELS)
    if unknown:
        raise ValueError(f"no cost model for {', '.join(sorted(unknown))} (add one to lossnet.estimate.COST_MODELS)")
    return [name for name in COST_MODELS if name in wanted]


# --------------------------------------------------------------------------------------------------- timings


@dataclass(frozen=True)
class StepTime:
    """One row of the step-time table."""

    device: str
    kind: str
    arch: str
    seconds: float
    unit: str
    source: str
    measured: bool

    @property
    def archs(self) -> tuple[str, ...]:
        return () if self.arch in ("", "-") else tuple(self.arch.split("+"))


def read_step_times(path: str | Path = STEP_TIMES) -> list[StepTime]:
    """The rows of a step-time CSV (``bench/step_times.csv`` by default)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and set(STEP_TIME_COLUMNS) - set(rows[0]):
        raise ValueError(f"{path}: needs the columns {', '.join(STEP_TIME_COLUMNS)}")
    return [StepTime(r["device"], r["kind"], r["arch"], float(r["seconds"]), r["unit"], r["source"],
                     r["measured"].strip().lower() in ("yes", "true", "1")) for r in rows]


@functools.lru_cache(maxsize=None)
def _flops_table(path: str = str(LAYER_MFLOPS)) -> dict[tuple[str, str], float]:
    table: dict[tuple[str, str], float] = {}
    if Path(path).is_file():
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                table[(row["arch"], row["layer"])] = float(row["mflops_to_layer"])
                table[(row["arch"], "total")] = float(row["mflops_total"])
    return table


@functools.lru_cache(maxsize=None)
def mflops(arch: str, layer: str) -> float:
    """Multiply-accumulates (millions, one 224-pixel image) up to ``layer`` of ``arch`` (``total``: the whole
    classifier): ``bench/layer_mflops.csv``, else :func:`lossnet.attributes.layer_attributes` (traced once), else
    torchvision's GFLOPS metadata of the whole network."""
    table = _flops_table()
    if (arch, layer) in table:
        return table[(arch, layer)]
    if layer != "total":
        try:
            from .attributes import layer_attributes

            row = layer_attributes(arch, input_sizes=(64,)).set_index("layer").loc[layer]
            return float(row["mflops_to_layer"])
        except (ValueError, KeyError, RuntimeError):
            pass
    from .weights import weights_metadata

    gflops = weights_metadata(arch, "imagenet").get("gflops")
    if not gflops:
        raise ValueError(f"no FLOP count for {arch}: add it to {LAYER_MFLOPS}")
    return float(gflops) * 1000


def _rows(table: list[StepTime], device: str, kind: str) -> list[StepTime]:
    return [row for row in table if row.device == device and row.kind == kind]


def job_seconds(group: JobGroup, table: list[StepTime], device: str) -> tuple[float, str]:
    """Seconds of one job of ``group`` on ``device`` and how the figure was obtained: ``measured`` (the network's
    own row), ``mix`` (a row measured over several networks, split by FLOPs), ``extrapolated`` (scaled by FLOPs from
    another network's row), ``assumed`` (a row not measured) or ``cpu-row`` (the device has no row for the rule:
    the CPU's, an upper bound)."""
    rows, fallback = _rows(table, device, group.rule), False
    if not rows and device != FALLBACK_DEVICE:  # e.g. a GPU whose suite timed the training rules only
        rows, fallback = _rows(table, FALLBACK_DEVICE, group.rule), True
    if not rows:
        raise ValueError(f"no step time for rule {group.rule} on device {device!r} in {STEP_TIMES.name}: run "
                         "bench/gpu_suite.sh on it, or --device NAME to use another device's rows")
    startup = _rows(table, device, "startup") or _rows(table, FALLBACK_DEVICE, "startup")
    overhead = startup[0].seconds if startup else 0.0
    exact = [row for row in rows if group.arch and row.archs == (group.arch,)]
    row = exact[0] if exact else rows[0]
    if row.unit != group.unit:
        raise ValueError(f"{STEP_TIMES.name}: rule {group.rule} on {device} is in {row.unit}, the model counts "
                         f"{group.unit}")
    rate, how = row.seconds, "measured" if row.measured else "assumed"
    how = "scaled" if row.source.startswith("scaled") else how
    if group.arch and not exact and row.archs:
        reference = sum(mflops(arch, group.layer) for arch in row.archs) / len(row.archs)
        rate *= mflops(group.arch, group.layer) / reference
        how = "extrapolated" if group.arch not in row.archs or not row.measured else \
            ("scaled" if how == "scaled" else "mix")
    return overhead + rate * group.units, f"{FALLBACK_DEVICE}-row" if fallback else how


# --------------------------------------------------------------------------------------------------- the table


def estimate(config: dict, device: str = "cpu", table: list[StepTime] | None = None,
             by_rule: bool = False) -> "Any":
    """The estimate as a pandas table: per section (or per rule with ``by_rule``) the jobs, the work, the
    device-hours, the disk in GB and how the time was obtained, then a ``total`` row."""
    import pandas as pd

    table = read_step_times() if table is None else table
    rows = []
    for name in sections(config):
        cost = COST_MODELS[name](config)
        per_rule: dict[str, dict] = {}
        for group in cost.groups:
            seconds, how = job_seconds(group, table, device)
            entry = per_rule.setdefault(group.rule, {"jobs": 0, "units": 0.0, "unit": group.unit, "seconds": 0.0,
                                                     "timing": set()})
            entry["jobs"] += group.jobs
            entry["units"] += group.jobs * group.units
            entry["seconds"] += group.jobs * seconds
            entry["timing"].add(how)
        disk = {"data_gb": cost.data_gb, "cache_gb": cost.cache_gb, "checkpoint_gb": cost.checkpoint_gb}
        if by_rule:
            for index, (rule, entry) in enumerate(per_rule.items()):
                rows.append({"section": name, "rule": rule, "jobs": entry["jobs"],
                             "work": f"{_count(entry['units'])} {entry['unit']}", "device_hours": entry["seconds"] / 3600,
                             "timing": "+".join(sorted(entry["timing"])),
                             **(disk if index == 0 else dict.fromkeys(disk, 0.0))})
        else:
            rows.append({"section": name, "jobs": sum(e["jobs"] for e in per_rule.values()), "work": cost.work,
                         "device_hours": sum(e["seconds"] for e in per_rule.values()) / 3600,
                         "timing": "+".join(sorted(set().union(*(e["timing"] for e in per_rule.values())))),
                         **disk})
    frame = pd.DataFrame(rows)
    total = {"section": "total", "jobs": int(frame["jobs"].sum()), "work": "",
             "device_hours": frame["device_hours"].sum(), "timing": "",
             **{key: frame[key].sum() for key in ("data_gb", "cache_gb", "checkpoint_gb")}}
    if by_rule:
        total["rule"] = ""
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)


def _count(value: float) -> str:
    """A work count for reading: thousands separated, three significant digits below 100."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


PROBE_ARCHS = ("alexnet", "resnet18", "squeezenet1_1")  # the networks of the CPU table's demo run


def probe_seconds(arch: str, device: str = "cpu", batch: int = 8, side: int = 64, steps: int = 3) -> float:
    """Seconds per megapixel of one training-like step through ``arch`` up to layer L on ``device``: forward and
    backward to the input (as a training job's loss does), random weights, the median of ``steps`` after a warm-up."""
    import statistics
    import time

    import torch

    from .network import LossNetwork

    net = LossNetwork(arch, ["L"], "random").to(device)
    images = torch.rand(batch, 3, side, side, device=device, requires_grad=True)
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        sum(features.float().mean() for features in net(images).values()).backward()
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - start)
    return statistics.median(times) / (batch * side * side / 1e6)


def measure_rows(table: list[StepTime], device: str, torch_device: str) -> list[StepTime]:
    """Rows for ``device`` (a name without rows): every CPU row with work units scaled by the speed-up of
    :func:`probe_seconds` over :data:`PROBE_ARCHS` here against the CPU's ``probe`` rows; per-job rows and the
    start-up stay the CPU's. Labelled ``scaled`` in the estimate."""
    cpu = {row.arch: row.seconds for row in _rows(table, FALLBACK_DEVICE, "probe")}
    if not cpu:
        raise ValueError(f"{STEP_TIMES.name} has no {FALLBACK_DEVICE} probe rows to scale from")
    here = {arch: probe_seconds(arch, torch_device) for arch in cpu}
    speedup = sum(cpu.values()) / sum(here.values())
    rows = [StepTime(device, "probe", arch, seconds, "Mpx", "lossnet estimate --measure", True)
            for arch, seconds in here.items()]
    for row in table:
        if row.device == FALLBACK_DEVICE and row.kind != "probe" and row.unit != "job":
            rows.append(StepTime(device, row.kind, row.arch, row.seconds / speedup, row.unit,
                                 f"scaled from {FALLBACK_DEVICE} by --measure probe (x{speedup:.3g})", True))
    return rows


def current_device() -> str:
    """The name the step-time table uses for this machine's device: the GPU's name, else ``cpu``."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def run(args: Any) -> None:
    """``lossnet estimate``: the estimate of the config in force, as CSV (stdout or ``-o``), notes on stderr."""
    import sys

    config = load_config(args.configfile or (), validate=not args.no_validate)
    table = read_step_times(args.step_times)
    device = args.device or current_device()
    if args.measure:
        import torch

        table += measure_rows(table, device, "cuda" if torch.cuda.is_available() else "cpu")
    if not any(row.device == device for row in table):
        known = sorted({row.device for row in table})
        raise ValueError(f"no step times for device {device!r} in {args.step_times} (known: {', '.join(known)}); "
                         "bench/gpu_suite.sh writes them for a GPU, --device NAME uses another device's table")
    frame = estimate(config, device, table, by_rule=args.by_rule)
    from .cli import write_table

    write_table(frame, args.output, float_format="%.4g")
    total = frame.iloc[-1]
    disk = total["data_gb"] + total["cache_gb"] + total["checkpoint_gb"]
    print(f"lossnet estimate: {device}: {total['jobs']} jobs, {total['device_hours']:.3g} device-hours "
          f"({total['device_hours'] * 60:.3g} min) run one after another, {disk:.3g} GB on disk; timing: measured = a row of {Path(args.step_times).name} for "
          "that network, mix = measured for several networks together and split by FLOPs, extrapolated = scaled "
          "by MFLOPS to the layer from another network's row, assumed = a row not measured, cpu-row = no row for "
          "this device: the CPU's (an upper bound), scaled = a CPU row scaled by --measure's probe", file=sys.stderr)
