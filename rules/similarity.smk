# Benchmark 1, perceptual similarity on BAPPS: one network pass per architecture, then one score job per layer.


rule similarity_cache:
    input:
        "data/prepared/bapps.h5",
    output:
        "results/cache/similarity/{weights}/{arch}.h5",
    params:
        arch=arch_params,
        weights=weights_source,
        layers=LAYERS,
        seed=config["seed"],
        device=config["device"],
        settings={
            key: SIMILARITY[key]
            for key in ("distances", "batch_size", "precision", "channels_last", "compile", "normalize_input")
        },
    threads: 4
    resources:
        gpu=1,
        mem_mb=lambda wildcards, attempt: 16000 * attempt,
        runtime=lambda wildcards, attempt: 120 * attempt,
    log:
        "logs/similarity/cache/{weights}/{arch}.log",
    script:
        "../scripts/similarity_cache.py"


rule similarity_score:
    input:
        rules.similarity_cache.output,
    output:
        "results/scores/similarity/{weights}/{arch}/{layer}.csv",
    params:
        distances=SIMILARITY["distances"],
    log:
        "logs/similarity/score/{weights}/{arch}/{layer}.log",
    localrule: True
    script:
        "../scripts/similarity_score.py"


rule similarity_score_all_layers:
    input:
        rules.similarity_cache.output,
    output:
        "results/scores/similarity/{weights}/{arch}/all.csv",
    params:
        layers=LAYERS,
        distances=SIMILARITY["distances"],
    log:
        "logs/similarity/score/{weights}/{arch}/all.log",
    localrule: True
    script:
        "../scripts/similarity_score.py"


rule similarity_pixel:
    input:
        "data/prepared/bapps.h5",
    output:
        "results/scores/similarity/none/{distance}.csv",
    wildcard_constraints:
        distance="l2|ssim|mmdpp",
    params:
        seed=config["seed"],
        device=config["device"],
    resources:
        gpu=1,
        mem_mb=lambda wildcards, attempt: 8000 * attempt,
        runtime=lambda wildcards, attempt: 60 * attempt,
    log:
        "logs/similarity/pixel/{distance}.log",
    script:
        "../scripts/similarity_pixel.py"


rule similarity_tables:
    input:
        caches=expand("results/cache/similarity/{weights}/{arch}.h5", weights=WEIGHTS, arch=ARCHS),
        scores="results/tables/scores.csv",
    output:
        sensitivity="results/tables/sensitivity.csv",
        distances="results/tables/distances.csv",
    log:
        "logs/similarity/tables.log",
    localrule: True
    script:
        "../scripts/similarity_tables.py"
