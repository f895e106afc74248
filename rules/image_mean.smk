# Perceptual image mean (seed 003, "generalised image mean"): optimise one image from the pixel mean of a set
# of related images under each configured loss network + feature distance and each pixel distance.
# Target: results/figures/image_mean.png (also .pdf and .csv).

IMAGE_MEAN = config["image_mean"]  # defaults in schemas/config.schema.yaml


def image_mean_networks(wildcards):
    """Each configured network with the weights of config `weights[0]` (their label names them in the figure)."""
    variant = WEIGHTS[0]
    for network in IMAGE_MEAN["networks"]:
        try:
            get_architecture(network["arch"])
        except ValueError as error:
            raise WorkflowError(f"config `image_mean.networks`: {error}")
    return [
        {**network, "weights": weights_for(network["arch"], variant), "weights_label": variant,
         "modules": dict(get_architecture(network["arch"]).layers)}
        for network in IMAGE_MEAN["networks"]
    ]


rule image_mean:
    output:
        png=report("results/figures/image_mean.png", caption="../report/image_mean.rst", category="Figures",
                   subcategory="Image mean"),
        pdf="results/figures/image_mean.pdf",
        csv=report("results/figures/image_mean.csv", caption="../report/image_mean.rst", category="Tables"),
    params:
        settings={key: value for key, value in IMAGE_MEAN.items() if key != "networks"},
        networks=image_mean_networks,
        seed=config["seed"],
    resources:
        gpu=1,
        runtime=lambda wildcards, attempt: 60 * attempt,
    log:
        "logs/image_mean.log",
    script:
        "../scripts/image_mean.py"
