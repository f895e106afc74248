# Benchmark 3, road delineation on the Massachusetts Roads Dataset (protocol section 5): each split downloaded
# tile by tile from its listings (MRD has no archive) or generated offline, decoded once into HDF5; one iterative
# U-Net per (weights, arch, layer) trained with that loss network and scored on the full-resolution test tiles;
# plus the BCE-only reference (arch pixel, weights none).
DELINEATION = config["delineation"]
MRD_SPLITS = ["train", "valid", "test"]
DL_LAYERS = benchmark_layers(DELINEATION)
SCORE_FILES["delineation"] = expand(
    "results/scores/delineation/{weights}/{arch}/{layer}.csv", weights=WEIGHTS, arch=ARCHS, layer=DL_LAYERS
) + (["results/scores/delineation/none/pixel.csv"] if DELINEATION["pixel_baseline"] else [])

REPLICATE_FILES["delineation"] = [replicates_of(path) for path in SCORE_FILES["delineation"]]


rule download_mrd:
    output:
        "data/raw/mrd/{split}/SHA256SUMS",
    log:
        "logs/data/download_mrd_{split}.log",
    wildcard_constraints:
        split="|".join(MRD_SPLITS),
    localrule: True
    conda:
        ENV
    params:
        root=lambda w, output: Path(output[0]).parents[1],  # data/raw/mrd
        url=DELINEATION["url"],
        workers=DELINEATION["download_workers"],
    script:
        "../../scripts/delineation/download.py"


rule demo_mrd:
    output:
        directory("data/demo/mrd"),
    log:
        "logs/data/demo_mrd.log",
    localrule: True
    conda:
        ENV
    params:
        tiles=DELINEATION["demo"]["tiles"],
        size=DELINEATION["demo"]["size"],
        seed=config["seed"],
    script:
        "../../scripts/delineation/demo.py"


rule prepare_mrd:
    input:
        {"download": expand("data/raw/mrd/{split}/SHA256SUMS", split=MRD_SPLITS), "demo": ["data/demo/mrd"]}[
            DELINEATION["source"]
        ],
    output:
        "data/prepared/mrd.h5",
    log:
        "logs/data/prepare_mrd.log",
    conda:
        ENV
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
        runtime=lambda wildcards, attempt: 60 * attempt,
    params:
        # the demo folder itself, or data/raw/mrd above the downloaded splits' SHA256SUMS
        root=lambda w, input: input[0] if DELINEATION["source"] == "demo" else Path(input[0]).parents[1],
    script:
        "../../scripts/delineation/prepare.py"


rule delineation_train:
    input:
        data="data/prepared/mrd.h5",
        weights=weights_input,
    output:
        "results/scores/delineation/{weights}/{arch}/{layer}.csv",
        "results/scores/delineation/{weights}/{arch}/{layer}.replicates.csv",
    log:
        "logs/delineation/{weights}/{arch}/{layer}.log",
    conda:
        ENV
    threads: DELINEATION["runtime"]["threads"]
    resources:
        gpu=GPU,
        mem_mb=lambda wildcards, attempt: 16000 * attempt,
        runtime=lambda wildcards, attempt: 480 * attempt,
    params:
        network=loss_spec,
        settings=DELINEATION["train"],
        evaluation=DELINEATION["evaluation"],
        seed=config["seed"],
    script:
        "../../scripts/delineation/train.py"


use rule delineation_train as delineation_train_pixel with:
    output:
        "results/scores/delineation/none/pixel.csv",
        "results/scores/delineation/none/pixel.replicates.csv",
    log:
        "logs/delineation/none/pixel.log",
