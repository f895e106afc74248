"""Snakemake entry point: decode one test set (Set5/Set14 folder or the BSDS300 archive) into HDF5."""
from lossnet.benchmarks.superres.data import prepare_test_set
from lossnet.workflow import start

start(snakemake)
prepare_test_set(snakemake.params.source, snakemake.output[0], snakemake.wildcards.test_set, snakemake.params.scales)
