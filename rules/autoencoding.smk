# Benchmark 4, autoencoder embeddings (protocol section 6): SVHN and STL-10 (downloaded or generated), decoded
# once into HDF5; one autoencoder per (weights, arch, layer, dataset) trained with that loss network, its frozen
# encoder's embeddings, and the MLP probes that score them; plus the pixel-MSE reference (weights "none").

AUTOENCODING = config["autoencoding"]
AE_DATASETS = AUTOENCODING["datasets"]
SVHN_FILES = ["train_32x32.mat", "test_32x32.mat", "extra_32x32.mat"]
AE_ROOT = {
    "download": {"svhn": "data/raw/svhn", "stl10": "data/raw/stl10/stl10_binary"},
    "demo": {"svhn": "data/demo/svhn", "stl10": "data/demo/stl10/stl10_binary"},
}[AUTOENCODING["source"]]
# What a training job depends on (not the whole section: a changed probe knob must not retrain autoencoders).
AE_TRAIN_SETTINGS = {
    key: AUTOENCODING[key]
    for key in ("epochs", "batch_size", "lr", "embedding_size", "normalize_input", "precision", "num_workers",
                "in_memory", "embed_batch_size", "keep_checkpoints")
}
AE_PROBE_SETTINGS = {
    "hidden": AUTOENCODING["probe_hidden"],
    "epochs": AUTOENCODING["probe_epochs"],
    "batch_size": AUTOENCODING["probe_batch_size"],
    "lr": AUTOENCODING["probe_lr"],
    "val_fraction": AUTOENCODING["probe_val_fraction"],
    "standardize": AUTOENCODING["probe_standardize"],
}


rule download_svhn:
    output:
        "data/raw/svhn/{split}_32x32.mat",
    params:
        url=lambda w: AUTOENCODING["archives"][f"svhn_{w.split}"]["url"],
        sha256=lambda w: AUTOENCODING["archives"][f"svhn_{w.split}"].get("sha256"),
        md5=lambda w: AUTOENCODING["archives"][f"svhn_{w.split}"].get("md5"),
    wildcard_constraints:
        split="train|test|extra",
    log:
        "logs/data/download_svhn_{split}.log",
    localrule: True
    script:
        "../scripts/download.py"


rule download_stl10:
    output:
        "data/raw/stl10/stl10_binary.tar.gz",
    params:
        url=AUTOENCODING["archives"]["stl10"]["url"],
        sha256=AUTOENCODING["archives"]["stl10"].get("sha256"),
        md5=AUTOENCODING["archives"]["stl10"].get("md5"),
    log:
        "logs/data/download_stl10.log",
    localrule: True
    script:
        "../scripts/download.py"


rule extract_stl10:
    input:
        rules.download_stl10.output,
    output:
        directory("data/raw/stl10/stl10_binary"),
    log:
        "logs/data/extract_stl10.log",
    localrule: True
    script:
        "../scripts/extract.py"


rule demo_svhn:
    output:
        expand("data/demo/svhn/{name}", name=SVHN_FILES),
    params:
        dataset="svhn",
        sizes=AUTOENCODING["demo"],
        seed=config["seed"],
    log:
        "logs/data/demo_svhn.log",
    localrule: True
    script:
        "../scripts/autoencoding_demo.py"


rule demo_stl10:
    output:
        directory("data/demo/stl10/stl10_binary"),
    params:
        dataset="stl10",
        sizes=AUTOENCODING["demo"],
        seed=config["seed"],
    log:
        "logs/data/demo_stl10.log",
    localrule: True
    script:
        "../scripts/autoencoding_demo.py"


def autoencoding_raw(wildcards):
    """The SVHN .mat files or the stl10_binary folder that prepare_autoencoding decodes."""
    if wildcards.dataset == "svhn":
        return [f"{AE_ROOT['svhn']}/{name}" for name in SVHN_FILES]
    return AE_ROOT["stl10"]


rule prepare_autoencoding:
    input:
        autoencoding_raw,
    output:
        "data/prepared/{dataset}.h5",
    wildcard_constraints:
        dataset="svhn|stl10",
    params:
        root=lambda w: AE_ROOT[w.dataset],
        max_unlabeled=AUTOENCODING["max_unlabeled"],
    resources:
        mem_mb=lambda wildcards, attempt: 24000 * attempt,
    log:
        "logs/data/prepare_{dataset}.log",
    script:
        "../scripts/autoencoding_prepare.py"


rule autoencoder_train:
    input:
        "data/prepared/{dataset}.h5",
    output:
        "results/cache/autoencoding/{weights}/{arch}/{layer}/{dataset}.h5",
    wildcard_constraints:
        dataset="svhn|stl10",
    params:
        arch=arch_params,
        weights=weights_source,
        # Not an output: Snakemake would delete it before a rerun, and a rerun must resume from it.
        checkpoint_dir=lambda w: f"results/checkpoints/autoencoding/{w.weights}/{w.arch}/{w.layer}/{w.dataset}",
        seed=config["seed"],
        device=config["device"],
        settings=AE_TRAIN_SETTINGS,
    threads: 4
    resources:
        gpu=1,
        mem_mb=lambda wildcards, attempt: 32000 * attempt,
        runtime=lambda wildcards, attempt: 720 * attempt,
    log:
        "logs/autoencoding/train/{weights}/{arch}/{layer}/{dataset}.log",
    script:
        "../scripts/autoencoding_train.py"


rule autoencoder_train_pixel:
    input:
        "data/prepared/{dataset}.h5",
    output:
        "results/cache/autoencoding/none/pixel/{dataset}.h5",
    wildcard_constraints:
        dataset="svhn|stl10",
    params:
        checkpoint_dir=lambda w: f"results/checkpoints/autoencoding/none/pixel/{w.dataset}",
        seed=config["seed"],
        device=config["device"],
        settings=AE_TRAIN_SETTINGS,
    threads: 4
    resources:
        gpu=1,
        mem_mb=lambda wildcards, attempt: 32000 * attempt,
        runtime=lambda wildcards, attempt: 720 * attempt,
    log:
        "logs/autoencoding/train/none/pixel/{dataset}.log",
    script:
        "../scripts/autoencoding_train.py"


rule autoencoder_probe:
    input:
        rules.autoencoder_train.output,
    output:
        "results/scores/autoencoding/{weights}/{arch}/{layer}/{dataset}.csv",
    wildcard_constraints:
        dataset="svhn|stl10",
    params:
        seed=config["seed"],
        device=config["device"],
        settings=AE_PROBE_SETTINGS,
    resources:
        mem_mb=lambda wildcards, attempt: 8000 * attempt,
        runtime=lambda wildcards, attempt: 120 * attempt,
    log:
        "logs/autoencoding/probe/{weights}/{arch}/{layer}/{dataset}.log",
    script:
        "../scripts/autoencoding_probe.py"


rule autoencoder_probe_pixel:
    input:
        rules.autoencoder_train_pixel.output,
    output:
        "results/scores/autoencoding/none/pixel/{dataset}.csv",
    wildcard_constraints:
        dataset="svhn|stl10",
    params:
        seed=config["seed"],
        device=config["device"],
        settings=AE_PROBE_SETTINGS,
    resources:
        mem_mb=lambda wildcards, attempt: 8000 * attempt,
        runtime=lambda wildcards, attempt: 120 * attempt,
    log:
        "logs/autoencoding/probe/none/pixel/{dataset}.log",
    script:
        "../scripts/autoencoding_probe.py"
