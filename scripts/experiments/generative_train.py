"""Snakemake entry point: train (or resume) one generative model with one loss, then its reconstructions and
samples (.npz)."""
from lossnet.experiments import train_generative
from lossnet.workflow import start, training_job

start(snakemake)
train_generative(training_job(snakemake, "generative"), snakemake.output[0], snakemake.params.evaluation)
