# Shared helpers: the config's architectures, weights variants and input functions of the per-job rules.
from pathlib import Path

from snakemake.exceptions import WorkflowError

from lossnet.zoo import LAYER_LABELS, register_from_config

try:
    ARCHS = register_from_config(config["architectures"])
except ValueError as error:
    raise WorkflowError(f"config `architectures`: {error}")
LAYERS = config["layers"]
WEIGHTS = config["weights"]
ARCH_ENTRIES = {
    (entry if isinstance(entry, str) else entry["name"]): entry for entry in config["architectures"]
}

for variant in WEIGHTS:
    if variant not in ("imagenet", "random") and variant not in config["weight_files"]:
        raise WorkflowError(
            f"config `weights`: {variant!r} is neither imagenet, random nor a name under `weight_files` "
            f"(known there: {sorted(config['weight_files'])})"
        )


wildcard_constraints:
    arch="|".join(ARCHS),
    layer="|".join(LAYER_LABELS),
    weights="|".join(WEIGHTS),


def arch_params(wildcards):
    """What a job needs to know about its architecture: name, module paths of the configured layers."""
    from lossnet.zoo import get_architecture

    spec = get_architecture(wildcards.arch)
    entry = ARCH_ENTRIES[wildcards.arch]
    return {
        "name": spec.name,
        "layers": {label: spec.layers[label] for label in LAYER_LABELS},
        "build_kwargs": entry.get("build_kwargs", {}) if isinstance(entry, dict) else dict(spec.build_kwargs),
    }


def weights_source(wildcards):
    """imagenet, random, or the state_dict path of a named variant for this architecture."""
    if wildcards.weights in ("imagenet", "random"):
        return wildcards.weights
    files = config["weight_files"][wildcards.weights]
    if wildcards.arch not in files:
        raise WorkflowError(
            f"config `weight_files.{wildcards.weights}` has no state_dict for {wildcards.arch}"
        )
    return files[wildcards.arch]


def score_files(wildcards=None):
    """Every per-job scores CSV of the enabled benchmarks."""
    files = []
    if "similarity" in config["benchmarks"]:
        files += expand(
            "results/scores/similarity/{weights}/{arch}/{layer}.csv", weights=WEIGHTS, arch=ARCHS, layer=LAYERS + ["all"]
        )
        files += expand(
            "results/scores/similarity/none/{distance}.csv", distance=config["similarity"]["pixel_distances"]
        )
    if "autoencoding" in config["benchmarks"]:
        datasets = config["autoencoding"]["datasets"]
        files += expand(
            "results/scores/autoencoding/{weights}/{arch}/{layer}/{dataset}.csv",
            weights=WEIGHTS, arch=ARCHS, layer=LAYERS, dataset=datasets,
        )
        if config["autoencoding"]["pixel_baseline"]:
            files += expand("results/scores/autoencoding/none/pixel/{dataset}.csv", dataset=datasets)
    return files
