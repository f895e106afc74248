"""Snakemake entry point: train one SR network (resumable) with a loss network or pixel MSE, then score it on the
whole test images (headline scores, per-image values, one example output)."""
from lossnet.benchmarks.superres.jobs import train_and_evaluate
from lossnet.workflow import start, training_job

start(snakemake)
train_and_evaluate(training_job(snakemake, "superres"), snakemake.input.tests, snakemake.output)
