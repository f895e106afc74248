"""Snakemake entry point: attributes of one architecture per extraction layer."""
from lossnet._util import write_csv
from lossnet.attributes import layer_attributes
from lossnet.workflow import start

start(snakemake)
write_csv(layer_attributes(snakemake.wildcards.arch, snakemake.params.input_sizes), snakemake.output[0])
