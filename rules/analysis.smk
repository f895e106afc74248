# Aggregation and analysis (protocol section 7): every job's scores into one table, the rankings (Table III),
# best layers (Table IV), correlations with the attributes, the figures and the HTML report.
from lossnet.analysis.labels import figure_names
from lossnet.analysis.provenance import config_digest, run_warnings, synthetic_benchmarks

FIGURES = figure_names(config["benchmarks"])
# Every view of the results (rankings, Table IV, correlations, figures, report) shows the one ranked distance.
RANK_DISTANCE = config["similarity"]["rank_distance"]
ATTRIBUTE_FILES = expand("results/attributes/{arch}.csv", arch=ARCHS)


rule scores_table:
    input:
        score_files,
    output:
        scores="results/tables/scores.csv",
        warnings="results/tables/run_warnings.txt",  # read by `lossnet recommend`
    log:
        "logs/analysis/scores_table.log",
    localrule: True
    conda:
        ENV
    params:
        banner=run_warnings(config),
    script:
        "../scripts/analysis/scores_table.py"


rule rankings:
    input:
        scores="results/tables/scores.csv",
        replicates=replicate_files,
    output:
        report("results/tables/rankings.csv", caption="../report/rankings.rst", category="Tables"),
    log:
        "logs/analysis/rankings.log",
    localrule: True
    conda:
        ENV
    params:
        distance=RANK_DISTANCE,
    script:
        "../scripts/analysis/rankings.py"


rule best_layers:
    input:
        "results/tables/scores.csv",
    output:
        best=report("results/tables/best_layers.csv", caption="../report/best_layers.rst", category="Tables"),
        summary=report("results/tables/layer_summary.csv", caption="../report/best_layers.rst", category="Tables"),
    log:
        "logs/report/best_layers.log",
    localrule: True
    conda:
        ENV
    params:
        distance=RANK_DISTANCE,
    script:
        "../scripts/analysis/best_layers.py"


rule correlations:
    input:
        scores="results/tables/scores.csv",
        rankings="results/tables/rankings.csv",
        attributes=ATTRIBUTE_FILES,
    output:
        report("results/tables/correlations.csv", caption="../report/correlations.rst", category="Tables"),
    log:
        "logs/report/correlations.log",
    localrule: True
    conda:
        ENV
    params:
        distance=RANK_DISTANCE,
    script:
        "../scripts/analysis/correlations.py"


rule figures:
    input:
        scores="results/tables/scores.csv",
        attributes=ATTRIBUTE_FILES,
    output:
        report(
            expand("results/figures/{weights}/{name}.png", weights=WEIGHTS, name=FIGURES),
            caption="../report/figures.rst",
            category="Figures",
        ),
        expand("results/figures/{weights}/{name}.pdf", weights=WEIGHTS, name=FIGURES),
    log:
        "logs/report/figures.log",
    localrule: True
    conda:
        ENV
    params:
        distance=RANK_DISTANCE,
        names=FIGURES,
        weights=WEIGHTS,
        outdir=lambda w, output: Path(output[0]).parents[1],  # results/figures above {weights}/
    script:
        "../scripts/analysis/figures.py"


rule report:
    input:
        scores="results/tables/scores.csv",
        attributes=ATTRIBUTE_FILES,
        rankings="results/tables/rankings.csv",
        best=rules.best_layers.output.best,
        summary=rules.best_layers.output.summary,
        correlations=rules.correlations.output[0],
        figures=expand("results/figures/{weights}/{name}.png", weights=WEIGHTS, name=FIGURES),
        pdfs=lambda wildcards: expand("results/figures/{weights}/{name}.pdf", weights=WEIGHTS, name=FIGURES)
        + [p for p in final_targets() if p.endswith(".pdf")],
        tables=lambda wildcards: [p for p in final_targets() if p.endswith(".csv")],
        images=lambda wildcards: [p for p in final_targets() if p.endswith(".png")],
    output:
        report("results/report.html", caption="../report/report.rst", category="Report"),
    log:
        "logs/report/report.log",
    localrule: True
    conda:
        ENV
    params:
        # What the page must say about this run: a banner for synthetic data / random weights, and provenance;
        # benchmarks on synthetic data are not compared with the published scores.
        banner=run_warnings(config),
        synthetic=synthetic_benchmarks(config),
        config_digest=config_digest(config),
        distance=RANK_DISTANCE,
        device=config["device"],
    script:
        "../scripts/analysis/report.py"
