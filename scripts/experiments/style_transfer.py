"""Snakemake entry point: style transfer under each network and weights variant (grid, losses CSV, correlations)."""
from lossnet.experiments import style_transfer
from lossnet.workflow import start

start(snakemake)
output = snakemake.output
style_transfer(**snakemake.params.settings, seed=snakemake.params.seed, device=snakemake.config["device"],
               grid=output.grid, table=output.csv, correlations=output.correlations)
