"""Snakemake entry point: decode SVHN .mat files or an STL-10 binary folder into HDF5 once."""
from pathlib import Path

from lossnet.embedding_data import prepare_stl10, prepare_svhn
from lossnet.workflow import start

start(snakemake)
prepare = {"svhn": prepare_svhn, "stl10": prepare_stl10}[snakemake.wildcards.dataset]
prepare(Path(snakemake.params.root), Path(snakemake.output[0]), max_unlabeled=snakemake.params.max_unlabeled)
