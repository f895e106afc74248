"""Snakemake entry point: train (resumable) the iterative U-Net with one loss network, or BCE only, and score it
on the full-resolution test tiles."""
from lossnet.benchmarks.delineation.evaluation import train_and_score
from lossnet.workflow import start, training_job

start(snakemake)
train_and_score(training_job(snakemake, "delineation"), snakemake.output[0], snakemake.params.evaluation)
