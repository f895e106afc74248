"""Snakemake entry point: the seven MLP probes on one embeddings file -> the benchmark's scores CSV."""
from pathlib import Path

from lossnet.autoencoding import probe_scores
from lossnet.workflow import start

start(snakemake)
probe_scores(Path(snakemake.input[0]), Path(snakemake.output[0]), seed=snakemake.params.seed,
             device=snakemake.params.device, **snakemake.params.settings)
