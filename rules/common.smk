# Functions and tables that every rule file uses, and no rules. The config's architectures, layers and weights
# variants, the input functions of the per-job rules, and the tables that the benchmark rule files fill and others
# read lazily (at DAG time, so the order of the includes after this file does not matter):
#   DOWNLOADS  path under data/raw -> {url, sha256, md5}        (rules/download.smk downloads each)
#   EXTRACTS   folder under data/raw -> the archive it unpacks from (its top folder has the folder's name)
#   SCORE_FILES, TARGETS  benchmark -> its per-job scores CSVs / extra final outputs
#   REPLICATE_FILES  benchmark -> the bootstrap replicates its jobs write beside their scores (optional: a
#                    benchmark without them gets intervals nowhere and point ranks only; scores.replicates_path)
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError

from lossnet.metric import LPIPS_NETS
from lossnet.network import check_layer_paths
from lossnet.benchmarks import SUPERRES_TEST_SETS
from lossnet.benchmarks.scores import ALL_LAYERS, replicates_path
from lossnet.spec import LossSpec
from lossnet.weights import INITIALIZERS
from lossnet.zoo import LAYER_LABELS, get_architecture, register_from_config

try:
    # A module path that torchvision's model lacks stops the run here (naming the config key), not in a job later.
    for index, entry in enumerate(config["architectures"]):
        if isinstance(entry, dict):
            check_layer_paths(entry["name"], entry["layers"], where=f"architectures[{index}].layers")
    ARCHS = register_from_config(config["architectures"])
except ValueError as error:
    raise WorkflowError(f"config `architectures`: {error}")
LAYERS = config["layers"]


def benchmark_layers(section):
    """The layers a benchmark trains: its own `layers` subset (demo overlays keep fewer), else the study's."""
    return section["layers"] or LAYERS


WEIGHTS = config["weights"]
# Weights variants that are names, not files: ImageNet, torchvision's init, and the named random initialisations.
NAMED_WEIGHTS = ("imagenet", "random", *INITIALIZERS)
# The conda environment of every rule (`--software-deployment-method conda`), the package with its workflow extra.
ENV = str(Path(workflow.basedir) / "envs" / "lossnet.yaml")
ARCH_ENTRIES = {(entry if isinstance(entry, str) else entry["name"]): entry for entry in config["architectures"]}
DOWNLOADS = {}
EXTRACTS = {}
SCORE_FILES = {}
# What a job that can use a GPU asks for: the machine's `gpu` (one at a time locally, profiles/default; a GPU each
# on SLURM). With `device: cpu` (the demo) none does, so such jobs run side by side up to --cores.
GPU = 0 if config["device"] == "cpu" else 1
REPLICATE_FILES = {}
TARGETS = {}

for variant in WEIGHTS:
    if variant not in NAMED_WEIGHTS and variant not in config["weight_files"]:
        raise WorkflowError(
            f"config `weights`: {variant!r} is neither one of {', '.join(NAMED_WEIGHTS)} nor a name under `weight_files` "
            f"(known there: {sorted(config['weight_files'])})"
        )


wildcard_constraints:
    arch="|".join(ARCHS),
    layer="|".join(LAYER_LABELS),
    weights="|".join(WEIGHTS),


def arch_params(wildcards):
    """What defines a job's architecture: name, module paths of the configured layers, build kwargs."""
    spec = get_architecture(wildcards.arch)
    entry = ARCH_ENTRIES[wildcards.arch]
    return {
        "name": spec.name,
        "layers": {label: spec.layers[label] for label in LAYER_LABELS},
        "build_kwargs": entry.get("build_kwargs", {}) if isinstance(entry, dict) else dict(spec.build_kwargs),
    }


def weights_for(arch, variant):
    """imagenet, random, or the state_dict path of the named variant `variant` for `arch`."""
    if variant in NAMED_WEIGHTS:
        return variant
    files = config["weight_files"][variant]
    if arch not in files:
        raise WorkflowError(f"config `weight_files.{variant}` has no state_dict for {arch}")
    return files[arch]


def networks_with_weights(entries, variant, where):
    """Each `{arch, ...}` of an experiment's config list `where` with the weights source of `variant` and its label,
    and the module paths of the architecture's layers (so that a remapped layer reruns the job)."""
    for network in entries:
        try:
            get_architecture(network["arch"])
        except ValueError as error:
            raise WorkflowError(f"config `{where}`: {error}")
    return [
        {
            **network,
            "weights": weights_for(network["arch"], variant),
            "weights_label": variant,
            "modules": dict(get_architecture(network["arch"]).layers),
        }
        for network in entries
    ]


def weights_source(wildcards):
    return weights_for(wildcards.arch, wildcards.weights)


def weights_input(wildcards):
    """The state_dict file of a job's weights variant as an input (none for imagenet, random and the pixel
    reference), so that a new file at the same path reruns the jobs that use it. Every rule whose job loads
    `weights_source` takes it."""
    if "weights" not in wildcards.keys():
        return []
    source = weights_source(wildcards)
    return [] if source in NAMED_WEIGHTS else [source]


def loss_spec(wildcards):
    """The loss network of a training job as one value (lossnet.spec.LossSpec, as plain params): its labels, the
    module path its layer resolves to, build kwargs and weights source, so that a remapped layer reruns the job.
    A rule without an `arch` wildcard is a pixel reference. The engine adds the weights' content identity."""
    if "arch" not in wildcards.keys():
        return LossSpec.pixel().to_params()
    return LossSpec.resolve(wildcards.arch, wildcards.layer, weights_source(wildcards), wildcards.weights).to_params()


def score_files(wildcards=None):
    """Every per-job scores CSV of the enabled benchmarks."""
    return [path for benchmark in config["benchmarks"] for path in SCORE_FILES[benchmark]]


def replicates_of(path):
    """Where the job writing the scores file `path` writes its bootstrap replicates (X.csv -> X.replicates.csv)."""
    return str(replicates_path(path))


def replicate_files(wildcards=None):
    """Every per-job replicates file of the enabled benchmarks (those that write them)."""
    return [path for benchmark in config["benchmarks"] for path in REPLICATE_FILES.get(benchmark, [])]


def one_of(paths):
    """A wildcard constraint matching exactly the given paths (or nothing)."""
    return "|".join(re.escape(path) for path in paths) or "^$"


def output_folder(wildcards, output):
    """A rule's first output (a folder it creates), for a script that takes the folder as a parameter."""
    return output[0]


def input_folder(wildcards, input):
    """The folder a rule's first input lies in, for a script that reads its siblings."""
    return str(Path(input[0]).parent)


def final_targets(wildcards=None):
    """What the default target makes beyond the rankings and the report: each enabled benchmark's own tables and
    figures, and the outputs of each enabled experiment (config `experiments`)."""
    return [path for name in config["benchmarks"] + config["experiments"] for path in TARGETS.get(name, [])]


def kumar_job(wildcards):
    """What defines one cache job: classifier, weights source and seed, taps, distances, the size it runs at."""
    source, offset = variant_source(wildcards.kumar_arch, wildcards.kumar_weights)
    size = int(wildcards.kumar_size)
    return {
        "arch": wildcards.kumar_arch,
        "variant": wildcards.kumar_weights,
        "weights": source,
        "seed": config["seed"] + offset,
        "layers": study_layers(wildcards.kumar_arch),
        "distances": config["kumar"]["distances"],
        "input_size": run_size(wildcards.kumar_arch, size, wildcards.kumar_weights),
    }


def experiment_weights(section, arch, variant):
    """Where experiment `section` loads `variant`'s weights of `arch` from: its `weights_sources` (a stand-in: a
    named initialisation or a state_dict path, `{arch}` filled in), else the variant itself (a named one)."""
    sources = config[section].get("weights_sources", {})
    if variant in sources:
        return sources[variant].format(arch=arch)
    if variant not in NAMED_WEIGHTS:
        raise WorkflowError(
            f"config `{section}`: weights {variant!r} is neither one of {', '.join(NAMED_WEIGHTS)} nor a key of "
            f"`{section}.weights_sources`"
        )
    return variant


def experiment_weight_files(section, pairs):
    """The state_dict files among the weights of (arch, variant) `pairs` in experiment `section`, as inputs (so
    that a new file reruns the experiment)."""
    sources = {experiment_weights(section, arch, variant) for arch, variant in pairs}
    return sorted(source for source in sources if source not in NAMED_WEIGHTS)


def generative_loss(name):
    """The `generative.losses` entry called `name`."""
    return next(entry for entry in config["generative"]["losses"] if entry["name"] == name)


def generative_entry_weights(entry):
    """The weights source of a `generative.losses` entry (none for the network-free losses)."""
    if "weights" not in entry or entry["loss"] in ("l2", "mmdpp"):
        return None
    return experiment_weights("generative", entry.get("arch", "vgg16"), entry["weights"])


def generative_spec(wildcards):
    """The loss network of a generative training job (lossnet.spec.LossSpec, as plain params)."""
    from lossnet.experiments.generative import loss_spec

    entry = generative_loss(wildcards.loss)
    return loss_spec(entry, generative_entry_weights(entry)).to_params()


def generative_settings(wildcards):
    """What defines a generative job: the config's `generative.train`, its model and its loss's name."""
    return {**config["generative"]["train"], "model": wildcards.model, "loss": generative_loss(wildcards.loss)["loss"]}


def generative_weights_input(wildcards):
    """The state_dict file a generative job's loss network loads, if any."""
    source = generative_entry_weights(generative_loss(wildcards.loss))
    return [] if source is None or source in NAMED_WEIGHTS else [source]
