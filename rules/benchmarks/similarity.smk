# Benchmark 1, perceptual similarity on BAPPS (protocol section 3): the data decoded once, one network pass per
# architecture into a distance cache, then one score job per layer; network-free distances as reference rows.
SIMILARITY = config["similarity"]
if SIMILARITY["rank_distance"] not in SIMILARITY["distances"]:
    raise WorkflowError(
        f"config similarity.rank_distance: {SIMILARITY['rank_distance']!r} is the distance the rankings use, so it "
        f"must be among similarity.distances (now {SIMILARITY['distances']}): add it there or choose one of them"
    )
BAPPS_ARCHIVES = {"2afc": "twoafc_val", "jnd": "jnd"}  # folder -> the archive that unpacks into it
BAPPS_ROOT = {"download": "data/raw/bapps/dataset", "demo": "data/demo/bapps", "folder": SIMILARITY["root"]}[
    SIMILARITY["source"]
]
DOWNLOADS.update({f"bapps/{name}.tar.gz": SIMILARITY["archives"][name] for name in BAPPS_ARCHIVES.values()})
EXTRACTS.update({f"bapps/dataset/{folder}": f"bapps/{name}.tar.gz" for folder, name in BAPPS_ARCHIVES.items()})
SCORE_FILES["similarity"] = expand(
    "results/scores/similarity/{weights}/{arch}/{layer}.csv", weights=WEIGHTS, arch=ARCHS, layer=LAYERS + ["all"]
) + expand("results/scores/similarity/none/{distance}.csv", distance=SIMILARITY["pixel_distances"])
REPLICATE_FILES["similarity"] = [replicates_of(path) for path in SCORE_FILES["similarity"]]
TARGETS["similarity"] = ["results/tables/sensitivity.csv", "results/tables/distances.csv"]


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
            "download": [f"{BAPPS_ROOT}/{folder}" for folder in BAPPS_ARCHIVES],
            "demo": ["data/demo/bapps"],
            "folder": [],
        }[SIMILARITY["source"]],
    output:
        "data/prepared/bapps.h5",
    log:
        "logs/data/prepare_bapps.log",
    conda:
        ENV
    params:
        # the extracted dataset folder above 2afc/ and jnd/, the demo folder, or the configured root
        root=lambda w, input: (
            Path(input[0]).parent
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
        gpu=1,
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
        gpu=1,
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
