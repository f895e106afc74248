"""Snakemake entry point: k-means in every space on the labelled images, the scores table (CSV) and figure."""
from lossnet.experiments import cluster
from lossnet.workflow import start

start(snakemake)
cluster(snakemake.input.data, **snakemake.params.settings, seed=snakemake.params.seed,
        batch_size=snakemake.config["clustering"]["runtime"]["batch_size"],
        device=snakemake.config["device"], table=snakemake.output.csv, figure=snakemake.output.png)
