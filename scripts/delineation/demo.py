"""Snakemake entry point: generate MRD-format demo tiles (roads drawn on bundled photos; offline)."""
from lossnet.benchmarks.delineation.demo import make_mrd
from lossnet.workflow import start

start(snakemake)
make_mrd(snakemake.output[0], snakemake.params.tiles, snakemake.params.size, seed=snakemake.params.seed)
