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
    resources:
        gpu=1,
    log:
        "logs/similarity/cache/{weights}/{arch}.log",
    script:
        "../scripts/similarity_cache.py"


rule similarity_score:
    input:
        rules.similarity_cache.output,
    output:
        "results/scores/similarity/{weights}/{arch}/{layer}.csv",
    log:
        "logs/similarity/score/{weights}/{arch}/{layer}.log",
    script:
        "../scripts/similarity_score.py"


rule similarity_score_all_layers:
    input:
        rules.similarity_cache.output,
    output:
        "results/scores/similarity/{weights}/{arch}/all.csv",
    params:
        layers=LAYERS,
    log:
        "logs/similarity/score/{weights}/{arch}/all.log",
    script:
        "../scripts/similarity_score.py"
