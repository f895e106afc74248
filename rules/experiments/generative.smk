# Generative models (seed 003): an autoencoder and GLO per configured loss, trained on the engine (one job per
# model and loss), then every model's held-out reconstructions scored under every loss, PSNR, SSIM and LPIPS.
# Targets: results/figures/generative_reconstructions.png, results/tables/generative_matrix.csv,
#          results/figures/generative_matrix.png.

GENERATIVE = config["generative"]  # defaults in schemas/config.schema.yaml
GEN_LOSSES = {entry["name"]: {k: v for k, v in entry.items() if k != "name"} for entry in GENERATIVE["losses"]}
GEN_RUNS = [(model, loss) for model in GENERATIVE["models"] for loss in GEN_LOSSES]
GEN_FILES = [f"results/generative/{model}/{loss}.npz" for model, loss in GEN_RUNS]
TARGETS["generative"] = [
    "results/figures/generative_reconstructions.png",
    "results/tables/generative_matrix.csv",
    "results/figures/generative_matrix.png",
]


rule generative_prepare:
    input:
        "data/prepared/stl10.h5" if GENERATIVE["data"] == "stl10" else GENERATIVE["data"],
    output:
        "data/prepared/generative.h5",
    log:
        "logs/data/prepare_generative.log",
    conda:
        ENV
    params:
        size=GENERATIVE["size"],
        n_train=GENERATIVE["n_train"],
        n_heldout=GENERATIVE["n_heldout"],
    script:
        "../../scripts/experiments/generative_prepare.py"


rule generative_train:
    input:
        data="data/prepared/generative.h5",
        weights=generative_weights_input,
    output:
        "results/generative/{model}/{loss}.npz",
    log:
        "logs/generative/{model}/{loss}.log",
    wildcard_constraints:
        model="|".join(GENERATIVE["models"]),
        loss="|".join(GEN_LOSSES),
    conda:
        ENV
    threads: GENERATIVE["runtime"]["threads"]
    resources:
        gpu=GPU,
        mem_mb=lambda wildcards, attempt: 16000 * attempt,
        runtime=lambda wildcards, attempt: 720 * attempt,
    params:
        network=generative_spec,
        settings=generative_settings,
        evaluation=GENERATIVE["evaluation"],
        seed=config["seed"],
    script:
        "../../scripts/experiments/generative_train.py"


rule generative_matrix:
    input:
        runs=GEN_FILES,
        weights=experiment_weight_files(
            "generative",
            [(entry.get("arch", "vgg16"), entry["weights"]) for entry in GEN_LOSSES.values() if "weights" in entry]
            + [(GENERATIVE["lpips"]["arch"], GENERATIVE["lpips"]["weights"])],
        ),
    output:
        grid=report(
            "results/figures/generative_reconstructions.png",
            caption="../../report/generative.rst",
            category="Figures",
            subcategory="Generative models",
        ),
        csv=report("results/tables/generative_matrix.csv", caption="../../report/generative.rst", category="Tables"),
        matrix=report(
            "results/figures/generative_matrix.png",
            caption="../../report/generative.rst",
            category="Figures",
            subcategory="Generative models",
        ),
    log:
        "logs/generative/matrix.log",
    conda:
        ENV
    resources:
        gpu=GPU,
        runtime=lambda wildcards, attempt: 60 * attempt,
    params:
        labels=[f"{model} / {loss}" for model, loss in GEN_RUNS],
        losses=GEN_LOSSES,
        weights_sources=GENERATIVE["weights_sources"],
        lpips=GENERATIVE["lpips"],
        normalize_input=GENERATIVE["train"]["normalize_input"],
        seed=config["seed"],
    script:
        "../../scripts/experiments/generative_matrix.py"
