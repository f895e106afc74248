# What this config's run costs (issue 26): `lossnet estimate` of the config in force, as a table. Not part of the
# default target: `snakemake --cores 1 results/tables/cost.csv [--configfile demo.yaml]`.


rule cost:
    input:
        step_times=str(Path(workflow.basedir) / "bench" / "step_times.csv"),
        mflops=str(Path(workflow.basedir) / "bench" / "layer_mflops.csv"),
    output:
        "results/tables/cost.csv",
    log:
        "logs/cost.log",
    conda:
        ENV
    params:
        device=config["device"],
    script:
        "../scripts/cost.py"
