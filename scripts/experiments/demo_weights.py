"""Snakemake entry point: a seeded state_dict of one architecture, the demo's offline stand-in for pretrained."""
from lossnet.weights import save_seeded_state_dict
from lossnet.workflow import start

start(snakemake)
save_seeded_state_dict(snakemake.wildcards.arch, snakemake.output[0], seed=snakemake.params.seed)
