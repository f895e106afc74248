"""Snakemake entry point: every model's held-out reconstructions under every loss (CSV, heat map) and the
reconstruction figure."""
from lossnet.experiments.generative import run_cross_loss
from lossnet.workflow import start

start(snakemake)
params, output = snakemake.params, snakemake.output
run_cross_loss(dict(zip(params.labels, snakemake.input.runs)), params.losses, weights_sources=params.weights_sources,
               lpips=params.lpips, normalize_input=params.normalize_input, seed=params.seed,
               device=snakemake.config["device"], table=output.csv, matrix=output.matrix, grid=output.grid)
