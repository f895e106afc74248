# Benchmark 4, autoencoder embeddings (protocol section 6): SVHN and STL-10 (downloaded or generated), decoded
# once into HDF5; one autoencoder per (weights, arch, layer, dataset) trained with that loss network, its frozen
# encoder's embeddings, and the MLP probes that score them; plus the pixel-MSE reference (weights "none").

AUTOENCODING = config["autoencoding"]
AE_DATASETS = AUTOENCODING["datasets"]
AE_LAYERS = benchmark_layers(AUTOENCODING)
SVHN_FILES = ["train_32x32.mat", "test_32x32.mat", "extra_32x32.mat"]
DOWNLOADS.update({f"svhn/{name}": AUTOENCODING["archives"][f"svhn_{name.split('_')[0]}"] for name in SVHN_FILES})
DOWNLOADS["stl10/stl10_binary.tar.gz"] = AUTOENCODING["archives"]["stl10"]
EXTRACTS["stl10/stl10_binary"] = "stl10/stl10_binary.tar.gz"
AE_ROOT = {
    "download": {"svhn": "data/raw/svhn", "stl10": "data/raw/stl10/stl10_binary"},
    "demo": {"svhn": "data/demo/svhn", "stl10": "data/demo/stl10/stl10_binary"},
}[AUTOENCODING["source"]]
# What prepare_autoencoding decodes: the SVHN .mat files, or the stl10_binary folder.
AE_RAW = {"svhn": [f"{AE_ROOT['svhn']}/{name}" for name in SVHN_FILES], "stl10": [AE_ROOT["stl10"]]}


SCORE_FILES["autoencoding"] = expand(
    "results/scores/autoencoding/{weights}/{arch}/{layer}/{dataset}.csv",
    weights=WEIGHTS,
    arch=ARCHS,
    layer=AE_LAYERS,
    dataset=AE_DATASETS,
) + (
    expand("results/scores/autoencoding/none/pixel/{dataset}.csv", dataset=AE_DATASETS)
    if AUTOENCODING["pixel_baseline"]
    else []
)
REPLICATE_FILES["autoencoding"] = [replicates_of(path) for path in SCORE_FILES["autoencoding"]]


rule demo_svhn:
    output:
        expand("data/demo/svhn/{name}", name=SVHN_FILES),
    log:
        "logs/data/demo_svhn.log",
    localrule: True
    conda:
        ENV
    params:
        dataset="svhn",
        root=lambda w, output: Path(output[0]).parent,  # the folder of the generated .mat files
        sizes=AUTOENCODING["demo"],
        seed=config["seed"],
    script:
        "../../scripts/autoencoding/demo.py"


use rule demo_svhn as demo_stl10 with:
    output:
        directory("data/demo/stl10/stl10_binary"),
    log:
        "logs/data/demo_stl10.log",
    params:
        dataset="stl10",
        root=lambda w, output: Path(output[0]).parent,  # stl10_binary's parent, as the archive unpacks
        sizes=AUTOENCODING["demo"],
        seed=config["seed"],


rule prepare_autoencoding:
    input:
        lambda w: AE_RAW[w.dataset],
    output:
        "data/prepared/{dataset}.h5",
    log:
        "logs/data/prepare_{dataset}.log",
    wildcard_constraints:
        dataset="|".join(AE_DATASETS),
    conda:
        ENV
    resources:
        mem_mb=lambda wildcards, attempt: 24000 * attempt,
    params:
        root=lambda w: AE_ROOT[w.dataset],
        max_unlabeled=AUTOENCODING["max_unlabeled"],
    script:
        "../../scripts/autoencoding/prepare.py"


rule autoencoder_train:
    input:
        data="data/prepared/{dataset}.h5",
        weights=weights_input,
    output:
        "results/cache/autoencoding/{weights}/{arch}/{layer}/{dataset}.h5",
    log:
        "logs/autoencoding/train/{weights}/{arch}/{layer}/{dataset}.log",
    wildcard_constraints:
        dataset="|".join(AE_DATASETS),
    conda:
        ENV
    threads: AUTOENCODING["runtime"]["threads"]
    resources:
        gpu=GPU,
        mem_mb=lambda wildcards, attempt: 32000 * attempt,
        runtime=lambda wildcards, attempt: 720 * attempt,
    params:
        network=loss_spec,
        settings=AUTOENCODING["train"],
        seed=config["seed"],
    script:
        "../../scripts/autoencoding/train.py"


use rule autoencoder_train as autoencoder_train_pixel with:
    output:
        "results/cache/autoencoding/none/pixel/{dataset}.h5",
    log:
        "logs/autoencoding/train/none/pixel/{dataset}.log",


rule autoencoder_probe:
    input:
        rules.autoencoder_train.output,
    output:
        "results/scores/autoencoding/{weights}/{arch}/{layer}/{dataset}.csv",
        "results/scores/autoencoding/{weights}/{arch}/{layer}/{dataset}.replicates.csv",
    log:
        "logs/autoencoding/probe/{weights}/{arch}/{layer}/{dataset}.log",
    wildcard_constraints:
        dataset="|".join(AE_DATASETS),
    conda:
        ENV
    resources:
        mem_mb=lambda wildcards, attempt: 8000 * attempt,
        runtime=lambda wildcards, attempt: 120 * attempt,
    params:
        seed=config["seed"],
        settings=AUTOENCODING["probe"],
    script:
        "../../scripts/autoencoding/probe.py"


use rule autoencoder_probe as autoencoder_probe_pixel with:
    input:
        rules.autoencoder_train_pixel.output,
    output:
        "results/scores/autoencoding/none/pixel/{dataset}.csv",
        "results/scores/autoencoding/none/pixel/{dataset}.replicates.csv",
    log:
        "logs/autoencoding/probe/none/pixel/{dataset}.log",
