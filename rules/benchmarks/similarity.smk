# Benchmark 1, perceptual similarity on BAPPS (protocol section 3): the data decoded once, one network pass per
# architecture into a distance cache, then one score job per layer; network-free distances as reference rows.
SIMILARITY = config["similarity"]
if SIMILARITY["rank_distance"] not in SIMILARITY["distances"]:
    raise WorkflowError(
        f"config similarity.rank_distance: {SIMILARITY['rank_distance']!r} is the distance the rankings use, so it "
        f"must be among similarity.distances (now {SIMILARITY['distances']}): add it there or choose one of them"
    )
# dataset folder -> the archive that unpacks into it (twoafc_* into dataset/2afc, jnd into dataset)
BAPPS_ARCHIVES = {"2afc/val": "twoafc_val", "jnd": "jnd"}
CALIBRATION = SIMILARITY["calibration"]
# our fit of the LPIPS taps beside the lpips package's v0.1 weights, on the ImageNet backbones they were learned on
LPIPS_V01_ARCHS = [arch for arch in ARCHS if arch in LPIPS_NETS and "imagenet" in WEIGHTS and CALIBRATION["enabled"]]
if CALIBRATION["enabled"]:
    BAPPS_ARCHIVES["2afc/train"] = "twoafc_train"
BAPPS_ROOT = {"download": "data/raw/bapps/dataset", "demo": "data/demo/bapps", "folder": SIMILARITY["root"]}[
    SIMILARITY["source"]
]
DOWNLOADS.update({f"bapps/{name}.tar.gz": SIMILARITY["archives"][name] for name in BAPPS_ARCHIVES.values()})
EXTRACTS.update({f"bapps/dataset/{folder}": f"bapps/{name}.tar.gz" for folder, name in BAPPS_ARCHIVES.items()})
SCORE_FILES["similarity"] = expand(
    "results/scores/similarity/{weights}/{arch}/{layer}.csv", weights=WEIGHTS, arch=ARCHS, layer=LAYERS + ["all"]
) + expand("results/scores/similarity/none/{distance}.csv", distance=SIMILARITY["pixel_distances"])
TARGETS["similarity"] = ["results/tables/sensitivity.csv", "results/tables/distances.csv"]
if CALIBRATION["enabled"]:
    # lpips_lin is a distance of its own (2AFC only: BAPPS has no JND train part) in scores.csv, not ranked
    SCORE_FILES["similarity"] += expand(
        "results/scores/similarity/{weights}/{arch}/calibrated/lpips_lin.csv", weights=WEIGHTS, arch=ARCHS
    )
    if LPIPS_V01_ARCHS:
        TARGETS["similarity"].append("results/tables/calibration_v01.csv")
REPLICATE_FILES["similarity"] = [replicates_of(path) for path in SCORE_FILES["similarity"]]


rule demo_bapps:
    output:
        directory("data/demo/bapps"),
    log:
        "logs/data/demo_bapps.log",
    localrule: True
    conda:
        ENV
    params:
        n=config["demo"]["n_bapps"],
        seed=config["seed"],
    script:
        "../../scripts/similarity/demo.py"


rule prepare_bapps:
    input:
        {
            "download": [f"{BAPPS_ROOT}/{folder}" for folder in ("2afc/val", "jnd")],
            "demo": [BAPPS_ROOT],
            "folder": [],
        }[SIMILARITY["source"]],
    output:
        "data/prepared/bapps.h5",
    log:
        "logs/data/prepare_bapps.log",
    conda:
        ENV
    params:
        # the folder above 2afc/ and jnd/: the extracted dataset, the demo folder, or the configured root
        root=lambda w, input: (
            Path(input[-1]).parent
            if SIMILARITY["source"] == "download"
            else (input[0] if input else SIMILARITY["root"])
        ),
        subsets_2afc=SIMILARITY["subsets_2afc"],
        subsets_jnd=SIMILARITY["subsets_jnd"],
    script:
        "../../scripts/similarity/prepare.py"


rule similarity_cache:
    input:
        "data/prepared/bapps.h5",
        weights=weights_input,
    output:
        "results/cache/similarity/{weights}/{arch}.h5",
    log:
        "logs/similarity/cache/{weights}/{arch}.log",
    conda:
        ENV
    threads: SIMILARITY["runtime"]["threads"]
    resources:
        gpu=GPU,
        mem_mb=lambda wildcards, attempt: 16000 * attempt,
        runtime=lambda wildcards, attempt: 120 * attempt,
    params:
        arch=arch_params,
        weights=weights_source,
        layers=LAYERS,
        seed=config["seed"],
        settings={key: SIMILARITY[key] for key in ("distances", "precision", "normalize_input")},
    script:
        "../../scripts/similarity/cache.py"


rule similarity_score:
    input:
        rules.similarity_cache.output,
    output:
        "results/scores/similarity/{weights}/{arch}/{layer}.csv",
        "results/scores/similarity/{weights}/{arch}/{layer}.replicates.csv",
    log:
        "logs/similarity/score/{weights}/{arch}/{layer}.log",
    localrule: True
    conda:
        ENV
    params:
        layers=lambda w: [w.layer],
        label=lambda w: w.layer,
        distances=SIMILARITY["distances"],
    script:
        "../../scripts/similarity/score.py"


use rule similarity_score as similarity_score_all_layers with:
    output:
        "results/scores/similarity/{weights}/{arch}/all.csv",
        "results/scores/similarity/{weights}/{arch}/all.replicates.csv",
    log:
        "logs/similarity/score/{weights}/{arch}/all.log",
    params:
        layers=LAYERS,
        label=ALL_LAYERS,  # the summed layers, also when the study has one layer
        distances=SIMILARITY["distances"],


rule similarity_pixel:
    input:
        "data/prepared/bapps.h5",
    output:
        "results/scores/similarity/none/{distance}.csv",
        "results/scores/similarity/none/{distance}.replicates.csv",
    log:
        "logs/similarity/pixel/{distance}.log",
    wildcard_constraints:
        distance="|".join(SIMILARITY["pixel_distances"]),
    conda:
        ENV
    resources:
        gpu=GPU,
        mem_mb=lambda wildcards, attempt: 8000 * attempt,
        runtime=lambda wildcards, attempt: 60 * attempt,
    params:
        seed=config["seed"],
    script:
        "../../scripts/similarity/pixel.py"


rule similarity_tables:
    input:
        caches=expand("results/cache/similarity/{weights}/{arch}.h5", weights=WEIGHTS, arch=ARCHS),
        scores="results/tables/scores.csv",
    output:
        sensitivity=report("results/tables/sensitivity.csv", caption="../../report/sensitivity.rst", category="Tables"),
        distances=report("results/tables/distances.csv", caption="../../report/distances.rst", category="Tables"),
    log:
        "logs/similarity/tables.log",
    localrule: True
    conda:
        ENV
    script:
        "../../scripts/similarity/tables.py"


# Calibrated LPIPS (config similarity.calibration): 2afc/train decoded once, per-channel values of every triplet
# cached per architecture (train and val; the study's layers, or the LPIPS taps for the v0.1 comparison), the
# channel weights fitted on the CPU from the cache, scored on val.
rule demo_bapps_train:
    output:
        directory("data/demo/bapps_train"),
    log:
        "logs/data/demo_bapps_train.log",
    localrule: True
    conda:
        ENV
    params:
        n=CALIBRATION["n_train"],
        seed=config["seed"] + 1,  # other patches than the val set's
        subsets=CALIBRATION["subsets"],
    script:
        "../../scripts/similarity/demo_train.py"


rule prepare_bapps_train:
    input:
        {"demo": ["data/demo/bapps_train"], "folder": [], "download": [f"{BAPPS_ROOT}/2afc/train"]}[
            SIMILARITY["source"]
        ],
    output:
        "data/prepared/bapps_train.h5",
    log:
        "logs/data/prepare_bapps_train.log",
    conda:
        ENV
    params:
        root=lambda w, input: (
            Path(input[0]).parents[1]
            if SIMILARITY["source"] == "download"
            else (input[0] if input else SIMILARITY["root"])
        ),
        subsets=CALIBRATION["subsets"],
    script:
        "../../scripts/similarity/prepare_train.py"


rule calibration_cache:
    input:
        lambda w: "data/prepared/bapps_train.h5" if w.part == "train" else "data/prepared/bapps.h5",
        weights=weights_input,
    output:
        "results/cache/calibration/{weights}/{arch}/{taps}/{part}.h5",
    log:
        "logs/similarity/calibration_cache/{weights}/{arch}/{taps}/{part}.log",
    wildcard_constraints:
        part="train|val",
        taps="study|lpips",
    conda:
        ENV
    threads: SIMILARITY["runtime"]["threads"]
    resources:
        gpu=GPU,
        mem_mb=lambda wildcards, attempt: 16000 * attempt,
        runtime=lambda wildcards, attempt: 120 * attempt,
    params:
        arch=arch_params,
        weights=weights_source,
        layers=lambda w: LAYERS if w.taps == "study" else "lpips",
        seed=config["seed"],
    script:
        "../../scripts/similarity/calibration_cache.py"


rule calibrate:
    input:
        train="results/cache/calibration/{weights}/{arch}/study/train.h5",
        val="results/cache/calibration/{weights}/{arch}/study/val.h5",
    output:
        calibration="results/calibration/{weights}/{arch}.pt",
        scores="results/scores/similarity/{weights}/{arch}/calibrated/lpips_lin.csv",
        replicates="results/scores/similarity/{weights}/{arch}/calibrated/lpips_lin.replicates.csv",
    log:
        "logs/similarity/calibrate/{weights}/{arch}.log",
    conda:
        ENV
    params:
        schedule=CALIBRATION["schedule"],
        seed=config["seed"],
    script:
        "../../scripts/similarity/calibrate.py"


rule calibration_v01:
    input:
        train="results/cache/calibration/imagenet/{arch}/lpips/train.h5",
        val="results/cache/calibration/imagenet/{arch}/lpips/val.h5",
    output:
        "results/calibration/imagenet/{arch}.lpips_v01.csv",
    log:
        "logs/similarity/calibration_v01/{arch}.log",
    wildcard_constraints:
        arch=one_of(LPIPS_NETS),
    conda:
        ENV
    params:
        schedule=CALIBRATION["schedule"],
        seed=config["seed"],
    script:
        "../../scripts/similarity/calibration_v01.py"


rule calibration_v01_table:
    input:
        expand("results/calibration/imagenet/{arch}.lpips_v01.csv", arch=LPIPS_V01_ARCHS),
    output:
        report("results/tables/calibration_v01.csv", caption="../../report/calibration_v01.rst", category="Tables"),
    log:
        "logs/similarity/calibration_v01_table.log",
    localrule: True
    conda:
        ENV
    script:
        "../../scripts/similarity/calibration_v01_table.py"
