"""Snakemake entry point: generate synthetic SVHN- or STL-10-format demo data (offline, same formats)."""
from lossnet.benchmarks.autoencoding.demo import make_demo
from lossnet.workflow import start

start(snakemake)
make_demo(snakemake.params.dataset, snakemake.params.root, **snakemake.params.sizes, seed=snakemake.params.seed)
