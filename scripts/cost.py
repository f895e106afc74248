"""Snakemake entry point: `lossnet estimate` of the config in force, per rule, as results/tables/cost.csv."""
from lossnet._util import write_csv
from lossnet.estimate import current_device, estimate, read_step_times
from lossnet.workflow import start

start(snakemake)
device = current_device() if snakemake.params.device in ("auto", "cuda") or snakemake.params.device.startswith("cuda") \
    else "cpu"
table = estimate(snakemake.config, device, read_step_times(snakemake.input.step_times), by_rule=True)
write_csv(table, snakemake.output[0], float_format="%.4g")
