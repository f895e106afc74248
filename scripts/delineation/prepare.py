"""Snakemake entry point: decode the MRD tiles of every split once into HDF5."""
from lossnet.benchmarks.delineation.data import prepare
from lossnet.workflow import start

start(snakemake)
prepare(snakemake.params.root, snakemake.output[0])
