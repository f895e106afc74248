"""Snakemake entry point: the perceptual image-mean experiment (seed 003), one figure (PNG + PDF) and a CSV."""
from lossnet.image_mean import run_experiment
from lossnet.similarity import resolve_device
from lossnet.workflow import ensure_architecture, start

start(snakemake)
settings = snakemake.params.settings
networks = []
for network in snakemake.params.networks:
    ensure_architecture(network["arch"], network["layers"], network["build_kwargs"])
    networks.append({key: network[key] for key in ("arch", "layer", "distance", "weights", "weights_label")})
run_experiment(
    images=settings["images"],
    n_images=settings["n_images"],
    size=settings["size"],
    steps=settings["steps"],
    lr=settings["lr"],
    networks=networks,
    pixel=settings["pixel"],
    normalize_input=settings["normalize_input"],
    seed=snakemake.params.seed,
    device=resolve_device(snakemake.params.device),
    output=snakemake.output.png,
    table=snakemake.output.csv,
)
