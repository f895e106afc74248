"""Snakemake entry point: train one autoencoder (resumable) with a loss network or pixel MSE, then embed the
labelled train/test images with its frozen encoder."""
from lossnet.benchmarks.autoencoding.model import train_and_embed
from lossnet.workflow import start, training_job

start(snakemake)
train_and_embed(training_job(snakemake, "autoencoding"), snakemake.output[0])
