"""Snakemake entry point: the seven MLP probes on one embeddings file -> the benchmark's scores CSV (and the
headline's bootstrap replicates beside it)."""
from lossnet.benchmarks.autoencoding.probes import probe_scores
from lossnet.workflow import start

start(snakemake)
probe_scores(snakemake.input[0], snakemake.output[0], seed=snakemake.params.seed, device=snakemake.config["device"],
             **snakemake.params.settings)
