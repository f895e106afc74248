# Perceptual image mean (seed 003, "generalised image mean"): optimise one image from the pixel mean of a set
# of related images under each configured loss network + feature distance and each pixel distance.
# Target: results/figures/image_mean.png (also .pdf and .csv).

IMAGE_MEAN = config["image_mean"]  # defaults in schemas/config.schema.yaml
TARGETS["image_mean"] = [
    "results/figures/image_mean.png",
    "results/figures/image_mean.pdf",
    "results/figures/image_mean.csv",
]


rule image_mean:
    output:
        png=report(
            "results/figures/image_mean.png",
            caption="../../report/image_mean.rst",
            category="Figures",
            subcategory="Image mean",
        ),
        pdf="results/figures/image_mean.pdf",
        csv=report("results/figures/image_mean.csv", caption="../../report/image_mean.rst", category="Tables"),
    log:
        "logs/image_mean.log",
    conda:
        ENV
    resources:
        gpu=GPU,
        runtime=lambda wildcards, attempt: 60 * attempt,
    params:
        settings={key: value for key, value in IMAGE_MEAN.items() if key != "networks"},
        networks=lambda w: networks_with_weights(IMAGE_MEAN["networks"], WEIGHTS[0], "image_mean.networks"),
        seed=config["seed"],
    script:
        "../../scripts/image_mean.py"
