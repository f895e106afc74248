# lossnet: evaluate deep perceptual loss networks (architecture x extraction layer x weights).
#   snakemake --cores 8 results/tables/rankings.csv                          the paper's study
#   snakemake --cores 2 --configfile demo.yaml                               offline demo on a CPU, in demo/
# (--configfile takes several files: name the target before it)
from pathlib import Path

from snakemake.utils import min_version

from lossnet.benchmarks import BENCHMARKS
from lossnet.experiments import EXPERIMENTS
from lossnet.workflow import anchor_paths, clear_stale_locks, validate_config
from snakemake_interface_executor_plugins.settings import ExecMode

min_version("8.0")


configfile: f"{workflow.basedir}/config.yaml"  # beside the Snakefile: cluster jobs parse it again elsewhere


report: "report/workflow.rst"


# `gpu` is counted per machine: locally `--resources gpu=N` (profiles/default: 1) serialises GPU jobs; on a
# cluster each job asks SLURM for its own GPU and the submitting host's count does not cap the queue.
resource_scopes:
    gpu="local",


# Paths beside the Snakefile, not the working directory: cluster jobs parse this file again inside `workdir`.
SCHEMA = f"{workflow.basedir}/schemas/config.schema.yaml"
validate_config(config, SCHEMA)
# The run works in `workdir` (the demo: demo/, so that it never touches the study's data or results); files from
# outside named in the config stay relative to the workflow's folder. A cluster job parses this file again,
# possibly from inside `workdir` already: it must not step into it a second time.
anchor_paths(config, SCHEMA, workflow.basedir)
WORKDIR = Path(workflow.basedir, config["workdir"]).resolve()
if Path.cwd().resolve() != WORKDIR:  # once: a job may parse this file a second time, already inside

    workdir: str(WORKDIR)


# Locks left by a killed Snakemake (SIGKILL, power loss) are removed when no other Snakemake runs here, so that
# rerunning the same command resumes without `--unlock` (profiles/default also sets rerun-incomplete).
if workflow.exec_mode == ExecMode.DEFAULT:
    clear_stale_locks()


# common.smk defines the tables each benchmark fills (downloads, score files); download.smk reads them, so last.
include: "rules/common.smk"
include: "rules/attributes.smk"


for benchmark in BENCHMARKS:

    include: f"rules/benchmarks/{benchmark}.smk"


for experiment in EXPERIMENTS:

    include: f"rules/experiments/{experiment}.smk"


include: "rules/analysis.smk"
include: "rules/cost.smk"
include: "rules/download.smk"


rule all:
    default_target: True
    input:
        "results/tables/rankings.csv",
        "results/report.html",
        expand("results/attributes/{arch}.csv", arch=ARCHS),
        final_targets,
