"""Snakemake entry point: unpack an archive and move its top folder into place."""
from lossnet.data.download import extract_top_folder
from lossnet.workflow import start

start(snakemake)
extract_top_folder(snakemake.input[0], snakemake.output[0])
