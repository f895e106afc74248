"""Snakemake entry point: network-free reference scores (a pixel-space distance) on BAPPS."""
from lossnet._util import write_csv
from lossnet.benchmarks.similarity.scoring import score_pixel_distance
from lossnet.workflow import start

start(snakemake)
scores = score_pixel_distance(snakemake.input[0], snakemake.wildcards.distance, seed=snakemake.params.seed,
                              device=snakemake.params.device)
write_csv(scores, snakemake.output[0])
