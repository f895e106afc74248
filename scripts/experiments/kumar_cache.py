"""Snakemake entry point: one pass of a classifier over BAPPS at its stage taps (the Kumar study), every distance."""
from lossnet.benchmarks.similarity.cache import compute_distances
from lossnet.workflow import runtime_of, start

start(snakemake)
job = snakemake.params.job
runtime = runtime_of(snakemake, "kumar")
compute_distances(job["arch"], job["weights"], snakemake.input[0], snakemake.output[0], layers=job["layers"],
                  distances=job["distances"], seed=job["seed"], weights_label=job["variant"],
                  input_size=job["input_size"], device=runtime.device, batch_size=runtime.eval_batch_size)
