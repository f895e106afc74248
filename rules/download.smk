# Data from outside, for every benchmark: one download rule (checksummed, resumable, atomic) over the DOWNLOADS
# table and one extraction rule over EXTRACTS (rules/common.smk). The benchmark rule files fill both tables, so
# the Snakefile includes this file after them.
rule download:
    output:
        "data/raw/{download}",
    log:
        "logs/data/download/{download}.log",
    wildcard_constraints:
        download=one_of(DOWNLOADS),
    localrule: True
    conda:
        ENV
    params:
        url=lambda w: DOWNLOADS[w.download]["url"],
        sha256=lambda w: DOWNLOADS[w.download].get("sha256"),
        md5=lambda w: DOWNLOADS[w.download].get("md5"),
    script:
        "../scripts/data/download.py"


rule extract:
    input:
        lambda w: f"data/raw/{EXTRACTS[w.folder]}",
    output:
        directory("data/raw/{folder}"),
    log:
        "logs/data/extract/{folder}.log",
    wildcard_constraints:
        folder=one_of(EXTRACTS),
    localrule: True
    conda:
        ENV
    script:
        "../scripts/data/extract.py"
