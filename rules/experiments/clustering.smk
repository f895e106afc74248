# Perceptual clustering (seed 003): k-means in pixel space, MMD++'s embedding and each configured network layer
# and weights variant, on STL-10's test set (benchmark 4's prepared file) or a folder of class folders.
# Targets: results/tables/clustering.csv, results/figures/clustering.png.

CLUSTERING = config["clustering"]  # defaults in schemas/config.schema.yaml
TARGETS["clustering"] = ["results/tables/clustering.csv", "results/figures/clustering.png"]


rule clustering:
    input:
        data="data/prepared/stl10.h5" if CLUSTERING["data"] == "stl10" else CLUSTERING["data"],
        weights=experiment_weight_files(
            "clustering",
            [(net["arch"], variant) for net in CLUSTERING["networks"] for variant in CLUSTERING["weights"]],
        ),
    output:
        csv=report("results/tables/clustering.csv", caption="../../report/clustering.rst", category="Tables"),
        png=report(
            "results/figures/clustering.png",
            caption="../../report/clustering.rst",
            category="Figures",
            subcategory="Clustering",
        ),
    log:
        "logs/clustering.log",
    conda:
        ENV
    threads: CLUSTERING["runtime"]["threads"]
    resources:
        gpu=GPU,
        runtime=lambda wildcards, attempt: 120 * attempt,
    params:
        settings={key: value for key, value in CLUSTERING.items() if key not in ("runtime", "data")},
        seed=config["seed"],
    script:
        "../../scripts/experiments/clustering.py"
