# Style transfer (seed 003; Gatys et al.) with each configured loss network and weights variant: one figure of
# results, the final losses, and the style image's channel correlations pretrained against random.
# Targets: results/figures/style_transfer.png, results/tables/style_transfer.csv,
#          results/figures/style_transfer_correlations.png.

STYLE = config["style_transfer"]  # defaults in schemas/config.schema.yaml
TARGETS["style_transfer"] = [
    "results/figures/style_transfer.png",
    "results/tables/style_transfer.csv",
    "results/figures/style_transfer_correlations.png",
]


rule style_transfer:
    input:
        weights=experiment_weight_files(
            "style_transfer", [(net["arch"], variant) for net in STYLE["networks"] for variant in STYLE["weights"]]
        ),
    output:
        grid=report(
            "results/figures/style_transfer.png",
            caption="../../report/style_transfer.rst",
            category="Figures",
            subcategory="Style transfer",
        ),
        csv=report("results/tables/style_transfer.csv", caption="../../report/style_transfer.rst", category="Tables"),
        correlations=report(
            "results/figures/style_transfer_correlations.png",
            caption="../../report/style_transfer.rst",
            category="Figures",
            subcategory="Style transfer",
        ),
    log:
        "logs/style_transfer.log",
    conda:
        ENV
    threads: STYLE["runtime"]["threads"]
    resources:
        gpu=GPU,
        runtime=lambda wildcards, attempt: 120 * attempt,
    params:
        settings={key: value for key, value in STYLE.items() if key != "runtime"},
        seed=config["seed"],
    script:
        "../../scripts/experiments/style_transfer.py"


# A seeded state_dict saved as a file: the offline stand-in for pretrained weights (`weights_sources` of the demo's
# experiments point here), so that the demo loads a file the way a real checkpoint is loaded.
rule demo_weights:
    output:
        "data/demo/weights/{arch}.pth",
    log:
        "logs/data/demo_weights_{arch}.log",
    conda:
        ENV
    params:
        seed=config["seed"],
    script:
        "../../scripts/experiments/demo_weights.py"
