# Data from outside, for every benchmark: one download rule (checksummed, resumable, atomic) over the DOWNLOADS
# table and one extraction rule over EXTRACTS (rules/common.smk). The benchmark rule files fill both tables, so
# the Snakefile includes this file after them.
import re


def _one_of(paths):
    return "|".join(re.escape(path) for path in paths) or "^$"


rule download:
    output:
        "data/raw/{download}",
    wildcard_constraints:
        download=_one_of(DOWNLOADS),
    params:
        url=lambda w: DOWNLOADS[w.download]["url"],
        sha256=lambda w: DOWNLOADS[w.download].get("sha256"),
        md5=lambda w: DOWNLOADS[w.download].get("md5"),
    log:
        "logs/data/download/{download}.log",
    localrule: True
    script:
        "../scripts/data/download.py"


rule extract:
    input:
        lambda w: "data/raw/" + EXTRACTS[w.folder],
    output:
        directory("data/raw/{folder}"),
    wildcard_constraints:
        folder=_one_of(EXTRACTS),
    log:
        "logs/data/extract/{folder}.log",
    localrule: True
    script:
        "../scripts/data/extract.py"
