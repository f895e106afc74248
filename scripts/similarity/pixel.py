"""Snakemake entry point: network-free reference scores (a pixel-space distance) on BAPPS, with replicates."""
from lossnet.benchmarks.similarity.scoring import score_pixel_distance
from lossnet.workflow import start

start(snakemake)
score_pixel_distance(snakemake.input[0], snakemake.wildcards.distance, seed=snakemake.params.seed,
                     device=snakemake.config["device"], output=snakemake.output[0])
