# The Kumar et al. study (seed 002) over every torchvision classifier: one benchmark-1 cache job per (weights
# variant, input size, classifier) at its stage taps, then the tables and figures (a) to (g) under results/kumar/.
# Built when `kumar` is among the config's `experiments` (kumar.yaml: the study; demo.yaml: three random-weight
# classifiers); its figures and tables are its TARGETS, so `rule all` and the report pick them up.
from lossnet.experiments.kumar import plan, run_size, study_layers, variant_source
from lossnet.experiments.kumar_figures import FIGURES as KUMAR_FIGURES
from lossnet.zoo import torchvision_classifiers

KUMAR = config["kumar"]
KUMAR_ARCHS = [
    arch
    for arch in (torchvision_classifiers() if KUMAR["architectures"] == "all" else KUMAR["architectures"])
    if arch not in KUMAR["exclude"]
]
KUMAR_ENABLED = "kumar" in config["experiments"]
KUMAR_JOBS = plan(KUMAR_ARCHS, KUMAR["weights"], KUMAR["input_sizes"]) if KUMAR_ENABLED else []
KUMAR_CACHES = [f"results/kumar/cache/{variant}/{size}/{arch}.h5" for variant, size, arch in KUMAR_JOBS]
KUMAR_TABLES = {name: f"results/kumar/tables/{name}.csv" for name in ("scores", "sensitivity", "models", "ceiling")}
KUMAR_OUTPUTS = [f"results/kumar/figures/{name}.{ext}" for name in KUMAR_FIGURES for ext in ("png", "csv")]
# calibrated LPIPS (lpips_lin) of every network when config similarity.calibration is on: fitted on 2afc/train
KUMAR_CALIBRATED = [
    f"results/kumar/calibrated/{variant}/{size}/{arch}.csv"
    for variant, size, arch in (KUMAR_JOBS if config["similarity"]["calibration"]["enabled"] else [])
]
TARGETS["kumar"] = KUMAR_OUTPUTS
if KUMAR_ENABLED:
    for pair_variant in KUMAR["pair"]:
        if pair_variant not in KUMAR["weights"]:
            raise WorkflowError(f"config kumar.pair: {pair_variant!r} is not among kumar.weights {KUMAR['weights']}")


rule kumar_cache:
    input:
        "data/prepared/bapps.h5",
    output:
        "results/kumar/cache/{kumar_weights}/{kumar_size}/{kumar_arch}.h5",
    log:
        "logs/kumar/cache/{kumar_weights}/{kumar_size}/{kumar_arch}.log",
    wildcard_constraints:
        kumar_size=r"\d+",
    conda:
        ENV
    threads: KUMAR["runtime"]["threads"]
    resources:
        gpu=GPU,
        mem_mb=lambda wildcards, attempt: 16000 * attempt,
        runtime=lambda wildcards, attempt: 60 * attempt,
    params:
        job=kumar_job,
    script:
        "../../scripts/experiments/kumar_cache.py"


rule kumar_calibrate:
    input:
        train="data/prepared/bapps_train.h5",
        val="data/prepared/bapps.h5",
    output:
        "results/kumar/calibrated/{kumar_weights}/{kumar_size}/{kumar_arch}.csv",
    log:
        "logs/kumar/calibrated/{kumar_weights}/{kumar_size}/{kumar_arch}.log",
    wildcard_constraints:
        kumar_size=r"\d+",
    conda:
        ENV
    threads: KUMAR["runtime"]["threads"]
    resources:
        gpu=GPU,
        mem_mb=lambda wildcards, attempt: 16000 * attempt,
        runtime=lambda wildcards, attempt: 120 * attempt,
    params:
        job=kumar_job,
        schedule=config["similarity"]["calibration"]["schedule"],
    script:
        "../../scripts/experiments/kumar_calibrate.py"


rule kumar_tables:
    input:
        caches=KUMAR_CACHES,
        calibrated=KUMAR_CALIBRATED,
        prepared="data/prepared/bapps.h5",
    output:
        **KUMAR_TABLES,
    log:
        "logs/kumar/tables.log",
    localrule: True
    conda:
        ENV
    params:
        jobs=KUMAR_JOBS,
        archs=KUMAR_ARCHS,
        variants=KUMAR["weights"],
        seed=config["seed"],
    script:
        "../../scripts/experiments/kumar_tables.py"


rule kumar_figures:
    input:
        **KUMAR_TABLES,
    output:
        KUMAR_OUTPUTS,
    log:
        "logs/kumar/figures.log",
    localrule: True
    conda:
        ENV
    params:
        pair=KUMAR["pair"],
        depth_series=KUMAR["depth_series"],
        outdir=lambda w, output: Path(output[0]).parent,
    script:
        "../../scripts/experiments/kumar_figures.py"
