"""Snakemake entry point: attributes of one architecture per extraction layer."""
from lossnet.attributes import layer_attributes
from lossnet.workflow import ensure_architecture, start

start(snakemake)
arch = snakemake.params.arch
ensure_architecture(arch["name"], arch["layers"], arch["build_kwargs"])
layer_attributes(arch["name"], snakemake.params.input_sizes).to_csv(snakemake.output[0], index=False)
