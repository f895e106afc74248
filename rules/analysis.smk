# Aggregation: every job's scores into one tidy table, then the paper's rankings.


rule scores_table:
    input:
        score_files,
    output:
        "results/tables/scores.csv",
    log:
        "logs/analysis/scores_table.log",
    localrule: True
    script:
        "../scripts/scores_table.py"


rule rankings:
    input:
        "results/tables/scores.csv",
    output:
        "results/tables/rankings.csv",
    log:
        "logs/analysis/rankings.log",
    localrule: True
    script:
        "../scripts/rankings.py"
