"""Snakemake entry point: train one autoencoder (resumable) with a loss network or pixel MSE, then embed the
labelled train/test images with its frozen encoder."""
from lossnet.benchmarks.autoencoding.model import train_and_embed
from lossnet.workflow import start

start(snakemake)
params = snakemake.params
train_and_embed(snakemake.input[0], snakemake.output[0], params.checkpoint_dir, network=params.network,
                seed=params.seed, device=params.device, **params.settings)
