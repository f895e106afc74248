# Analysis beyond the rankings (protocol section 7): Table IV, correlations with the attributes, figures, HTML report.
from lossnet.figures import figure_names

FIGURES = figure_names(config["benchmarks"])
ATTRIBUTE_FILES = expand("results/attributes/{arch}.csv", arch=ARCHS)


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
        "../scripts/analysis_best_layers.py"


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
        "../scripts/analysis_correlations.py"


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
        "../scripts/analysis_figures.py"


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
        "../scripts/analysis_report.py"
