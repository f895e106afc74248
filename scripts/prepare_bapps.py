"""Snakemake entry point: decode a BAPPS folder into HDF5 once."""
from pathlib import Path

from lossnet.bapps import prepare
from lossnet.workflow import start

start(snakemake)
prepare(Path(snakemake.params.root), Path(snakemake.output[0]), snakemake.params.subsets_2afc,
        snakemake.params.subsets_jnd)
