"""Snakemake entry point: decode SVHN .mat files or an STL-10 binary folder into HDF5 once."""
from lossnet.benchmarks.autoencoding.data import prepare
from lossnet.workflow import start

start(snakemake)
prepare(snakemake.wildcards.dataset, snakemake.params.root, snakemake.output[0], snakemake.params.max_unlabeled)
