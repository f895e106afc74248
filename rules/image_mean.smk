# Perceptual image mean (seed 003, "generalised image mean"): optimise one image from the pixel mean of a set
# of related images under each configured loss network + feature distance and each pixel distance.
# Needs rules/common.smk (ARCH_ENTRIES). Target: results/figures/image_mean.png (also .pdf and .csv).

IMAGE_MEAN = config["image_mean"]  # defaults in schemas/config.schema.yaml


def image_mean_networks(wildcards):
    """Each configured network with its architecture's module paths and the weights of config `weights[0]`."""
    from lossnet.zoo import get_architecture

    variant = config["weights"][0]
    networks = []
    for network in IMAGE_MEAN["networks"]:
        arch = network["arch"]
        try:
            spec = get_architecture(arch)
        except (KeyError, ValueError) as error:
            raise WorkflowError(f"config `image_mean.networks`: {error}")
        entry = ARCH_ENTRIES.get(arch)
        build_kwargs = entry.get("build_kwargs", {}) if isinstance(entry, dict) else dict(spec.build_kwargs)
        if variant in ("imagenet", "random"):
            weights = variant
        elif arch in config["weight_files"].get(variant, {}):
            weights = config["weight_files"][variant][arch]
        else:
            raise WorkflowError(f"config `weight_files.{variant}` has no state_dict for {arch} (image_mean)")
        networks.append(
            {
                "arch": arch,
                "layer": network["layer"],
                "distance": network.get("distance", "lpips"),
                "weights": weights,
                "weights_label": variant,
                "layers": dict(spec.layers),
                "build_kwargs": build_kwargs,
            }
        )
    return networks


rule image_mean:
    output:
        png="results/figures/image_mean.png",
        pdf="results/figures/image_mean.pdf",
        csv="results/figures/image_mean.csv",
    params:
        settings={key: value for key, value in IMAGE_MEAN.items() if key != "networks"},
        networks=image_mean_networks,
        seed=config["seed"],
        device=config["device"],
    resources:
        gpu=1,
        runtime=lambda wildcards, attempt: 60 * attempt,
    log:
        "logs/image_mean.log",
    script:
        "../scripts/image_mean.py"
