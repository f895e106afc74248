"""Cost models of the four benchmarks for :mod:`lossnet.estimate`: per benchmark, its job groups (a Snakemake
rule, how many jobs, the work of one job) and its disk. They live here because they know each benchmark's data
sizes and rules; the estimate itself names no benchmark.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Full sizes of the paper's data (the counts the prepare rules keep).
BAPPS_2AFC_VAL = {"traditional": 4720, "cnn": 4720, "superres": 10856, "deblur": 9440, "color": 4720,
                  "frameinterp": 1888}
BAPPS_JND_VAL = {"traditional": 4800, "cnn": 4800}
BAPPS_2AFC_TRAIN = {"traditional": 56_600, "cnn": 38_100, "mix": 56_600}  # 2afc/train (calibration)
SVHN = {"unlabeled": 531_131, "train": 73_257, "side": 64}
STL10 = {"unlabeled": 100_000, "train": 5_000, "side": 96}
MB = 1e-3  # in GB


@dataclass(frozen=True)
class JobGroup:
    """Jobs of one rule that cost the same: ``units`` of work each (in the step-time table's ``unit``)."""

    rule: str
    jobs: int
    units: float
    unit: str
    arch: str | None = None   # the loss network the time scales with (None: no network)
    layer: str = "L"          # its extraction layer ("total": the whole classifier)


@dataclass
class SectionCost:
    """A benchmark's or experiment's job groups and its disk in GB (data, caches, kept checkpoints)."""

    groups: list[JobGroup] = field(default_factory=list)
    data_gb: float = 0.0
    cache_gb: float = 0.0
    checkpoint_gb: float = 0.0
    work: str = ""            # the headline work in words, e.g. "2,500 steps x 112 networks"


def _archs(config: dict) -> list[str]:
    return [entry if isinstance(entry, str) else entry["name"] for entry in config["architectures"]]


def _layers(config: dict, section: dict) -> list[str]:
    return list(section.get("layers") or config["layers"])


# --------------------------------------------------------------------------------------------------- models


def _bapps_counts(config: dict) -> tuple[int, int]:
    """(2AFC triplets, JND pairs) of benchmark 1's data: the demo's generated sizes or BAPPS val."""
    sim = config["similarity"]
    if sim.get("source") == "demo":
        n = config.get("demo", {}).get("n_bapps", 48)
        return n * len(sim["subsets_2afc"]), n * len(sim["subsets_jnd"])
    return (sum(BAPPS_2AFC_VAL.get(s, 0) for s in sim["subsets_2afc"]),
            sum(BAPPS_JND_VAL.get(s, 0) for s in sim["subsets_jnd"]))


def _bapps_mpx(config: dict, side: int = 64) -> float:
    """Megapixels of one network pass over benchmark 1's data (3 images a triplet, 2 a JND pair)."""
    triplets, pairs = _bapps_counts(config)
    return (3 * triplets + 2 * pairs) * side * side / 1e6


def calibration_triplets(config: dict) -> int:
    """2AFC triplets of the calibration's train part (0 with calibration off): generated or BAPPS 2afc/train."""
    sim = config["similarity"]
    calibration = sim.get("calibration", {})
    if not calibration.get("enabled"):
        return 0
    subsets = calibration.get("subsets", BAPPS_2AFC_TRAIN)
    if sim.get("source") == "demo":
        return calibration.get("n_train", 64) * len(subsets)
    return sum(BAPPS_2AFC_TRAIN.get(s, 0) for s in subsets)


def similarity_cost(config: dict) -> SectionCost:
    sim, archs, weights = config["similarity"], _archs(config), config["weights"]
    triplets, pairs = _bapps_counts(config)
    per_arch = len(weights)
    cost = SectionCost(work=f"{triplets + pairs:,} samples x {len(archs) * per_arch} networks")
    cost.groups += [JobGroup("similarity_cache", per_arch, _bapps_mpx(config), "Mpx", arch, "L") for arch in archs]
    cost.groups.append(JobGroup("similarity_score", len(archs) * per_arch * len(config["layers"]), 1, "job"))
    cost.groups.append(JobGroup("similarity_score_all_layers", len(archs) * per_arch, 1, "job"))
    cost.groups.append(JobGroup("similarity_pixel", len(sim["pixel_distances"]), triplets + pairs, "samples"))
    cost.data_gb = 0.05 if sim.get("source") == "demo" else 6.5  # twoafc_val + jnd archives and extracted PNGs
    cost.cache_gb = len(archs) * per_arch * (triplets + pairs) * 2 * len(config["layers"]) * 3 * 4 / 1e9 + 0.01
    n_train = calibration_triplets(config)
    if n_train:
        # a network pass over 2afc/train and one over 2afc/val per network; the fit reads the cache only
        mpx = 3 * (n_train + triplets) * 64 * 64 / 1e6 / 2  # a job's share of the train and val passes
        cost.groups += [JobGroup("calibration_cache", 2 * per_arch, mpx, "Mpx", arch, "L") for arch in archs]
        cost.groups.append(JobGroup("calibrate", len(archs) * per_arch, 1, "job"))
        cost.data_gb += 0.0 if sim.get("source") == "demo" else 5.3 * 2  # twoafc_train archive and its PNGs
        # per triplet two pairs x every channel of the study's layers in float32 (~1.4k channels for alexnet)
        cost.cache_gb += len(archs) * per_arch * (n_train + triplets) * 2 * 1500 * 4 / 1e9
    return cost


def superres_cost(config: dict) -> SectionCost:
    sr, archs, weights = config["superres"], _archs(config), config["weights"]
    layers, scales = _layers(config, sr), sr["scales"]
    n_train = sr["n_train"] if sr.get("source") != "demo" else sr.get("demo", {}).get("n_train", sr["n_train"])
    n_train = min(sr["n_train"], n_train)
    steps = sr["train"]["epochs"] * math.ceil(n_train / sr["train"]["batch_size"])
    mpx = steps * sr["train"]["batch_size"] * sr["crop"] ** 2 / 1e6
    jobs = len(weights) * len(scales)
    cost = SectionCost(work=f"{steps:,} steps x {len(archs) * len(layers) * jobs} networks")
    cost.groups += [JobGroup("superres_train", jobs, mpx, "Mpx", arch, layer) for arch in archs for layer in layers]
    if sr.get("pixel_baseline", True):
        cost.groups.append(JobGroup("superres_train_pixel", len(scales), mpx, "Mpx"))
    cost.groups.append(JobGroup("superres_bicubic", len(scales), 1, "job"))
    networks = len(archs) * len(layers) * jobs + len(scales)
    cost.data_gb = 0.02 if sr.get("source") == "demo" else 1.6 + n_train * sr["crop"] ** 2 * 3 / 1e9
    cost.checkpoint_gb = networks * 7 * MB if sr["runtime"].get("keep_checkpoints", True) else 0.0
    return cost


def delineation_cost(config: dict) -> SectionCost:
    dl, archs, weights = config["delineation"], _archs(config), config["weights"]
    layers, train = _layers(config, dl), config["delineation"]["train"]
    steps = train["epochs"] * math.ceil(train["crops_per_epoch"] / train["batch_size"])
    mpx = train["epochs"] * train["crops_per_epoch"] * train["crop"] ** 2 * train["iterations"] / 1e6
    cost = SectionCost(work=f"{steps:,} steps x {len(archs) * len(layers) * len(weights)} networks")
    cost.groups += [JobGroup("delineation_train", len(weights), mpx, "Mpx", arch, layer)
                    for arch in archs for layer in layers]
    if dl.get("pixel_baseline", True):
        cost.groups.append(JobGroup("delineation_train_pixel", 1, mpx, "Mpx"))
    networks = len(archs) * len(layers) * len(weights) + 1
    cost.data_gb = 0.01 if dl.get("source") == "demo" else 9.0  # MRD tiles (PNG/TIFF) and the prepared HDF5
    cost.checkpoint_gb = networks * 2 * MB if dl["runtime"].get("keep_checkpoints", True) else 0.0
    return cost


def _ae_datasets(config: dict) -> dict[str, dict[str, int]]:
    """Per dataset: autoencoder training images, labelled probe-training images and side."""
    ae = config["autoencoding"]
    if ae.get("source") == "demo":
        demo = ae["demo"]
        sizes = {"svhn": 64, "stl10": 96}
        return {name: {"unlabeled": demo["n_unlabeled"], "train": demo["n_train"], "side": sizes[name]}
                for name in ae["datasets"]}
    full = {"svhn": SVHN, "stl10": STL10}
    cap = ae.get("max_unlabeled")
    return {name: {**full[name], "unlabeled": min(full[name]["unlabeled"], cap or full[name]["unlabeled"])}
            for name in ae["datasets"]}


def autoencoding_cost(config: dict) -> SectionCost:
    ae, archs, weights = config["autoencoding"], _archs(config), config["weights"]
    layers, datasets = _layers(config, ae), _ae_datasets(config)
    cost = SectionCost()
    images = 0
    for data in datasets.values():
        mpx = ae["train"]["epochs"] * data["unlabeled"] * data["side"] ** 2 / 1e6
        probe = len(ae["probe"]["hidden"]) * ae["probe"]["epochs"] * data["train"]
        images += ae["train"]["epochs"] * data["unlabeled"]
        cost.groups += [JobGroup("autoencoder_train", len(weights), mpx, "Mpx", arch, layer)
                        for arch in archs for layer in layers]
        cost.groups.append(JobGroup("autoencoder_probe", len(archs) * len(layers) * len(weights), probe,
                                    "probe samples"))
        if ae.get("pixel_baseline", True):
            cost.groups.append(JobGroup("autoencoder_train_pixel", 1, mpx, "Mpx"))
            cost.groups.append(JobGroup("autoencoder_probe_pixel", 1, probe, "probe samples"))
    networks = (len(archs) * len(layers) * len(weights) + 1) * len(datasets)
    cost.work = f"{images:,} images x {networks} autoencoders"
    cost.data_gb = 0.01 if ae.get("source") == "demo" else 4.1 + 6.5  # SVHN + STL-10 archives, prepared HDF5
    cost.cache_gb = networks * 0.01
    cost.checkpoint_gb = networks * 80 * MB if ae["runtime"].get("keep_checkpoints", True) else 0.0
    return cost


# benchmark name -> its cost model (read by lossnet.estimate.COST_MODELS)
BENCHMARK_COSTS = {
    "similarity": similarity_cost,
    "superres": superres_cost,
    "delineation": delineation_cost,
    "autoencoding": autoencoding_cost,
}


# What the experiments' cost models ask of the benchmarks' data, so that they name no benchmark.
def bapps_is_generated(config: dict) -> bool:
    """Whether benchmark 1's data is the demo's generated BAPPS (no download, no ImageNet weights)."""
    return config["similarity"].get("source") == "demo"


def bapps_subset_counts(config: dict) -> tuple[int, int]:
    """How many 2AFC and JND subsets benchmark 1 scores."""
    return len(config["similarity"]["subsets_2afc"]), len(config["similarity"]["subsets_jnd"])


def stl10_unlabeled(config: dict) -> int:
    """Unlabeled STL-10 images as benchmark 4 prepares them (the demo's generated count, or all 100,000)."""
    ae = config["autoencoding"]
    return ae["demo"]["n_unlabeled"] if ae.get("source") == "demo" else STL10["unlabeled"]
