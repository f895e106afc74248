"""Snakemake entry point: 2AFC and JND scores of one layer (or of all layers summed), for every distance."""
import pandas as pd

from lossnet.similarity import score
from lossnet.workflow import start

start(snakemake)
layers = snakemake.params.layers if snakemake.wildcards.get("layer") is None else snakemake.wildcards.layer
tables = [score(snakemake.input[0], layers, distance) for distance in snakemake.params.distances]
pd.concat(tables, ignore_index=True).to_csv(snakemake.output[0], index=False)
