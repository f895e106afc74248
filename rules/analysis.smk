# Aggregation and analysis (protocol section 7): every job's scores into one table, the rankings (Table III),
# best layers (Table IV), correlations with the attributes, the figures and the HTML report.
from lossnet.analysis.labels import figure_names

FIGURES = figure_names(config["benchmarks"])
ATTRIBUTE_FILES = expand("results/attributes/{arch}.csv", arch=ARCHS)


rule scores_table:
    input:
        score_files,
    output:
        "results/tables/scores.csv",
    log:
        "logs/analysis/scores_table.log",
    localrule: True
    script:
        "../scripts/analysis/scores_table.py"


rule rankings:
    input:
        scores="results/tables/scores.csv",
        replicates=replicate_files,
    output:
        "results/tables/rankings.csv",
    log:
        "logs/analysis/rankings.log",
    localrule: True
    script:
        "../scripts/analysis/rankings.py"


rule best_layers:
    input:
        "results/tables/scores.csv",
    output:
        best="results/tables/best_layers.csv",
        summary="results/tables/layer_summary.csv",
    log:
        "logs/report/best_layers.log",
    localrule: True
    script:
        "../scripts/analysis/best_layers.py"


rule correlations:
    input:
        scores="results/tables/scores.csv",
        rankings="results/tables/rankings.csv",
        attributes=ATTRIBUTE_FILES,
    output:
        "results/tables/correlations.csv",
    log:
        "logs/report/correlations.log",
    localrule: True
    script:
        "../scripts/analysis/correlations.py"


rule figures:
    input:
        scores="results/tables/scores.csv",
        attributes=ATTRIBUTE_FILES,
    output:
        expand("results/figures/{weights}/{name}.{ext}", weights=WEIGHTS, name=FIGURES, ext=["png", "pdf"]),
    params:
        names=FIGURES,
        weights=WEIGHTS,
        outdir="results/figures",
    log:
        "logs/report/figures.log",
    localrule: True
    script:
        "../scripts/analysis/figures.py"


rule report:
    input:
        rankings="results/tables/rankings.csv",
        best=rules.best_layers.output.best,
        summary=rules.best_layers.output.summary,
        correlations=rules.correlations.output[0],
        figures=expand("results/figures/{weights}/{name}.png", weights=WEIGHTS, name=FIGURES),
    output:
        "results/report.html",
    log:
        "logs/report/report.log",
    localrule: True
    script:
        "../scripts/analysis/report.py"
