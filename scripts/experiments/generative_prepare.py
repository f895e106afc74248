"""Snakemake entry point: the training and held-out images of the generative models, at their size."""
from lossnet.experiments.generative import prepare_generative
from lossnet.workflow import start

start(snakemake)
prepare_generative(snakemake.input[0], snakemake.output[0], **snakemake.params)
