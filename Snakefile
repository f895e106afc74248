# lossnet: evaluate deep perceptual loss networks (architecture x extraction layer x weights).
#   snakemake --cores 8 results/tables/rankings.csv                          the paper's study
#   snakemake --cores 2 results/tables/rankings.csv --configfile demo.yaml   offline demo on a CPU
# (--configfile takes several files: name the target before it)
from snakemake.utils import min_version, validate

min_version("8.0")


configfile: "config.yaml"


validate(config, "schemas/config.schema.yaml")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/attributes.smk"
include: "rules/similarity.smk"
include: "rules/analysis.smk"
include: "rules/report.smk"


rule all:
    input:
        "results/tables/rankings.csv",
        expand("results/attributes/{arch}.csv", arch=ARCHS),
        ["results/tables/sensitivity.csv", "results/tables/distances.csv"] if "similarity" in config["benchmarks"] else [],
    default_target: True
