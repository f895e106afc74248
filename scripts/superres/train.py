"""Snakemake entry point: train one SR network (resumable) with a loss network or pixel MSE, then score it on the
whole test images (headline scores, per-image values, one example output)."""
from lossnet.benchmarks.superres.jobs import train_and_evaluate
from lossnet.workflow import start

start(snakemake)
params = snakemake.params
train_and_evaluate(snakemake.input.coco, snakemake.input.tests, snakemake.output, params.checkpoint_dir,
                   network=params.network, scale=params.scale, seed=params.seed, device=params.device,
                   threads=snakemake.threads, **params.settings)
