"""Snakemake entry point: generate the synthetic BAPPS-format demo data."""
from lossnet.benchmarks.similarity.demo import make_bapps
from lossnet.workflow import start

start(snakemake)
make_bapps(snakemake.output[0], n_2afc=snakemake.params.n, n_jnd=snakemake.params.n, seed=snakemake.params.seed)
