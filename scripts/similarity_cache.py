"""Snakemake entry point: one pass of an architecture over BAPPS, caching every layer's pair distances."""
from pathlib import Path

from lossnet.similarity import compute_distances
from lossnet.workflow import ensure_architecture, start

start(snakemake)
arch = snakemake.params.arch
ensure_architecture(arch["name"], arch["layers"], arch["build_kwargs"])
compute_distances(
    arch["name"],
    snakemake.params.weights,
    Path(snakemake.input[0]),
    Path(snakemake.output[0]),
    layers=snakemake.params.layers,
    device=snakemake.params.device,
    seed=snakemake.params.seed,
    weights_label=snakemake.wildcards.weights,
    **snakemake.params.settings,
)
