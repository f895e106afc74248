"""Snakemake entry point: decode the seeded COCO selection (local zips or URLs, range reads) into HDF5."""
from lossnet.benchmarks.superres.data import prepare_coco
from lossnet.workflow import start

start(snakemake)
prepare_coco(snakemake.params.train, snakemake.params.val, snakemake.output[0], **snakemake.params.settings)
