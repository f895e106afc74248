"""Snakemake entry point: seed 003's 2AFC table (CSV) and its figure (PNG + PDF) on prepared BAPPS."""
from lossnet.experiments.seed003 import run, table_rows
from lossnet.workflow import start

start(snakemake)
params = snakemake.params
settings = dict(params.settings)
rows = table_rows(settings.pop("vgg_weights"), settings.pop("alexnet_weights"))
run(snakemake.input.prepared, snakemake.output.csv, snakemake.output.png, rows=rows, seed=params.seed,
    device=snakemake.config["device"], batch_size=snakemake.config["seed003"]["runtime"]["eval_batch_size"], **settings)
