"""Snakemake entry point: the perceptual image-mean experiment (seed 003), one figure (PNG + PDF) and a CSV."""
from lossnet.experiments.image_mean import run_experiment
from lossnet.workflow import start

start(snakemake)
params = snakemake.params
run_experiment(**params.settings, networks=params.networks, seed=params.seed, device=snakemake.config["device"],
               output=snakemake.output.png, table=snakemake.output.csv)
