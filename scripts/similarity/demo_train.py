"""Snakemake entry point: generate a synthetic BAPPS-format 2afc/train part (calibrated LPIPS fits on it)."""
from lossnet.benchmarks.similarity.demo import make_bapps
from lossnet.workflow import start

start(snakemake)
params = snakemake.params
make_bapps(snakemake.output[0], n_2afc=params.n, seed=params.seed, subsets_2afc=params.subsets, subsets_jnd=(),
           part="train")
