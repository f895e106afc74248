"""Snakemake entry point: train (resumable) the iterative U-Net with one loss network, or BCE only, and score it
on the full-resolution test tiles."""
from lossnet.benchmarks.delineation.evaluation import train_and_score
from lossnet.workflow import start

start(snakemake)
params = snakemake.params
train_and_score(snakemake.input[0], snakemake.output[0], params.checkpoint_dir, network=params.network,
                evaluation=params.evaluation, seed=params.seed, device=params.device, **params.settings)
