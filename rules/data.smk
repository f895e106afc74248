# Datasets: download (checksummed, resumable, atomic), extract, or generate offline; decode once into HDF5.

SIMILARITY = config["similarity"]
BAPPS_DOWNLOADS = "data/raw/bapps"
BAPPS_ARCHIVE = {"2afc": "twoafc_val", "jnd": "jnd"}  # folder -> the archive that unpacks into it
BAPPS_ROOT = {"download": BAPPS_DOWNLOADS + "/dataset", "demo": "data/demo/bapps", "folder": SIMILARITY["root"]}[
    SIMILARITY["source"]
]


rule download_bapps:
    output:
        BAPPS_DOWNLOADS + "/{archive}.tar.gz",
    params:
        url=lambda w: SIMILARITY["archives"][w.archive]["url"],
        sha256=lambda w: SIMILARITY["archives"][w.archive].get("sha256"),
        md5=lambda w: SIMILARITY["archives"][w.archive].get("md5"),
    wildcard_constraints:
        archive="twoafc_val|jnd",
    log:
        "logs/data/download_bapps_{archive}.log",
    localrule: True
    script:
        "../scripts/download.py"


rule extract_bapps:
    input:
        lambda w: f"{BAPPS_DOWNLOADS}/{BAPPS_ARCHIVE[w.folder]}.tar.gz",
    output:
        directory(BAPPS_DOWNLOADS + "/dataset/{folder}"),
    wildcard_constraints:
        folder="2afc|jnd",
    log:
        "logs/data/extract_bapps_{folder}.log",
    localrule: True
    script:
        "../scripts/extract.py"


rule demo_bapps:
    output:
        directory("data/demo/bapps"),
    params:
        n=config["demo"]["n_bapps"],
        seed=config["seed"],
    log:
        "logs/data/demo_bapps.log",
    localrule: True
    script:
        "../scripts/demo_bapps.py"


def bapps_input(wildcards):
    if SIMILARITY["source"] == "download":
        return [f"{BAPPS_ROOT}/{folder}" for folder in BAPPS_ARCHIVE]
    if SIMILARITY["source"] == "demo":
        return rules.demo_bapps.output
    return []


rule prepare_bapps:
    input:
        bapps_input,
    output:
        "data/prepared/bapps.h5",
    params:
        root=BAPPS_ROOT,
        subsets_2afc=SIMILARITY["subsets_2afc"],
        subsets_jnd=SIMILARITY["subsets_jnd"],
    log:
        "logs/data/prepare_bapps.log",
    script:
        "../scripts/prepare_bapps.py"
