# Seed 003 (ariel415el/PerceptualLossExperiments) as it ran: its 2AFC table on the prepared BAPPS val split, beside
# the numbers it reports, and its image mean of jitter sets.
# Targets: results/tables/seed003_2afc.csv (+ results/figures/seed003_2afc.png/.pdf),
#          results/tables/seed003_image_mean.csv (+ results/figures/seed003_image_mean.png/.pdf).

SEED003 = config["seed003"]  # defaults in schemas/config.schema.yaml
# State_dict files named in `seed003.weights_sources`, so that a new file reruns the table.
SEED003_WEIGHT_FILES = [
    source for source in SEED003["weights_sources"].values() if source not in ("imagenet", "random")
]
TARGETS["seed003"] = [
    "results/tables/seed003_2afc.csv",
    "results/figures/seed003_2afc.png",
    "results/figures/seed003_2afc.pdf",
    "results/tables/seed003_image_mean.csv",
    "results/figures/seed003_image_mean.png",
    "results/figures/seed003_image_mean.pdf",
]


# The BAPPS the table reads: benchmark 1's prepared file, or its first `max_per_subset` samples of each subset.
SEED003_BAPPS = "data/prepared/bapps.h5" if SEED003["max_per_subset"] is None else "data/prepared/bapps_seed003.h5"


rule seed003_bapps:
    input:
        "data/prepared/bapps.h5",
    output:
        "data/prepared/bapps_seed003.h5",
    log:
        "logs/seed003_bapps.log",
    localrule: True
    conda:
        ENV
    params:
        per_subset=SEED003["max_per_subset"],
    script:
        "../../scripts/experiments/seed003_bapps.py"


rule seed003_2afc:
    input:
        prepared=SEED003_BAPPS,
        weights=SEED003_WEIGHT_FILES,
    output:
        csv=report("results/tables/seed003_2afc.csv", caption="../../report/seed003.rst", category="Tables"),
        png=report(
            "results/figures/seed003_2afc.png",
            caption="../../report/seed003.rst",
            category="Figures",
            subcategory="Seed 003",
        ),
        pdf="results/figures/seed003_2afc.pdf",
    log:
        "logs/seed003_2afc.log",
    conda:
        ENV
    resources:
        gpu=GPU,
        runtime=lambda wildcards, attempt: 120 * attempt,
    params:
        settings={key: SEED003[key] for key in ("vgg_weights", "alexnet_weights", "n_seeds", "weights_sources")},
        seed=config["seed"],
    script:
        "../../scripts/experiments/seed003.py"


rule seed003_image_mean:
    input:
        weights=SEED003_WEIGHT_FILES,
    output:
        csv=report("results/tables/seed003_image_mean.csv", caption="../../report/seed003.rst", category="Tables"),
        png=report(
            "results/figures/seed003_image_mean.png",
            caption="../../report/seed003.rst",
            category="Figures",
            subcategory="Seed 003",
        ),
        pdf="results/figures/seed003_image_mean.pdf",
    log:
        "logs/seed003_image_mean.log",
    conda:
        ENV
    resources:
        gpu=GPU,
        runtime=lambda wildcards, attempt: 120 * attempt,
    params:
        settings=SEED003["image_mean"],
        weights_sources=SEED003["weights_sources"],
        seed=config["seed"],
    script:
        "../../scripts/experiments/seed003_image_mean.py"
