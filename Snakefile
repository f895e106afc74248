# lossnet: evaluate deep perceptual loss networks (architecture x extraction layer x weights).
#   snakemake --cores 8 results/tables/rankings.csv                          the paper's study
#   snakemake --cores 2 --configfile demo.yaml                               offline demo on a CPU (everything)
# (--configfile takes several files: name the target before it)
from snakemake.utils import min_version

from lossnet.benchmarks import BENCHMARKS
from lossnet.workflow import clear_stale_locks, validate_config
from snakemake_interface_executor_plugins.settings import ExecMode

min_version("8.0")


configfile: "config.yaml"


# `gpu` is counted per machine: locally `--resources gpu=N` (profiles/default: 1) serialises GPU jobs; on a
# cluster each job asks SLURM for its own GPU and the submitting host's count does not cap the queue.
resource_scopes:
    gpu="local",


validate_config(config, "schemas/config.schema.yaml")
# Locks left by a killed Snakemake (SIGKILL, power loss) are removed when no other Snakemake runs here, so that
# rerunning the same command resumes without `--unlock` (profiles/default also sets rerun-incomplete).
if workflow.exec_mode == ExecMode.DEFAULT:
    clear_stale_locks()


# common.smk defines the tables each benchmark fills (downloads, score files); download.smk reads them, so last.
include: "rules/common.smk"
include: "rules/attributes.smk"
for benchmark in BENCHMARKS:

    include: f"rules/benchmarks/{benchmark}.smk"


include: "rules/experiments/kumar.smk"
include: "rules/analysis.smk"
include: "rules/image_mean.smk"
include: "rules/download.smk"


rule all:
    input:
        "results/tables/rankings.csv",
        "results/report.html",
        "results/figures/image_mean.png",
        expand("results/attributes/{arch}.csv", arch=ARCHS),
        final_targets,
    default_target: True
