"""Snakemake entry point: seed 003's image mean of jitter sets, its figure (PNG + PDF) and the scores CSV."""
from lossnet.experiments.image_mean import run_seed003_image_mean
from lossnet.workflow import start

start(snakemake)
params = snakemake.params
run_seed003_image_mean(**params.settings, weights_sources=params.weights_sources, seed=params.seed,
                       device=snakemake.config["device"], output=snakemake.output.png, table=snakemake.output.csv)
