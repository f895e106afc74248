"""Snakemake entry point: generate benchmark 2's inputs offline (COCO-like zips, Set5/Set14 folders, BSDS300)."""
from lossnet.benchmarks.superres.demo import make_demo
from lossnet.workflow import start

start(snakemake)
make_demo(snakemake.params.root, **snakemake.params.sizes, seed=snakemake.params.seed)
