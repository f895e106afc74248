# Benchmark 2, super-resolution (protocol section 4): COCO 2014 training crops (only the chosen members, read over
# HTTP range requests where the server allows) and the Set5 / Set14 / BSD100 test images, decoded once into HDF5;
# one job per (weights, arch, layer, scale) trains Johnson et al.'s network with that loss network and scores it
# on the whole test images; plus the pixel-MSE and bicubic references (weights "none").
SUPERRES = config["superres"]
SR_SCALES = SUPERRES["scales"]
SR_LAYERS = benchmark_layers(SUPERRES)
SR_TEST_SETS = list(SUPERRES_TEST_SETS)
SR_DEMO = "data/demo/superres"
SR_HR_FILES = {  # Set5 / Set14: one download per HR image
    name: [entry["pattern"].format(i) for i in range(1, entry["count"] + 1)]
    for name, entry in SUPERRES["hr_images"].items()
}
SR_RAW = "data/raw/superres"
# Where each input is read from, and the files a prepare job waits for (the demo: its generated folder).
SR_COCO_RANGE_READS = SUPERRES["source"] == "download" and SUPERRES["coco_range_reads"]
SR_SOURCES = {
    "download": {
        "set5": f"{SR_RAW}/set5",
        "set14": f"{SR_RAW}/set14",
        "bsd100": f"{SR_RAW}/BSDS300-images.tgz",
        **{
            f"coco_{split}": (
                SUPERRES["archives"][f"coco_{split}"]["url"]
                if SR_COCO_RANGE_READS
                else f"{SR_RAW}/coco/{split}2014.zip"
            )
            for split in ("train", "val")
        },
    },
    "demo": {
        "set5": f"{SR_DEMO}/set5",
        "set14": f"{SR_DEMO}/set14",
        "bsd100": f"{SR_DEMO}/BSDS300-images.tgz",
        "coco_train": f"{SR_DEMO}/coco/train2014.zip",
        "coco_val": f"{SR_DEMO}/coco/val2014.zip",
    },
}[SUPERRES["source"]]
SR_INPUTS = {
    "download": {
        **{name: [f"{SR_RAW}/{name}/{file}" for file in files] for name, files in SR_HR_FILES.items()},
        "bsd100": [f"{SR_RAW}/BSDS300-images.tgz"],
        "coco": [] if SR_COCO_RANGE_READS else [f"{SR_RAW}/coco/train2014.zip", f"{SR_RAW}/coco/val2014.zip"],
    },
    "demo": {name: [SR_DEMO] for name in ("set5", "set14", "bsd100", "coco")},
}[SUPERRES["source"]]
DOWNLOADS.update(
    {
        f"superres/{name}/{file}": {
            "url": SUPERRES["hr_images"][name]["base_url"] + file,
            "sha256": SUPERRES["hr_images"][name].get("sha256", {}).get(file),
        }
        for name, files in SR_HR_FILES.items()
        for file in files
    }
)
DOWNLOADS["superres/BSDS300-images.tgz"] = SUPERRES["archives"]["bsds300"]
DOWNLOADS["superres/coco/train2014.zip"] = SUPERRES["archives"]["coco_train"]
DOWNLOADS["superres/coco/val2014.zip"] = SUPERRES["archives"]["coco_val"]
SR_OUTPUTS = {
    "scores": "results/scores/superres/{weights}/{arch}/{layer}/x{scale}.csv",
    "replicates": "results/scores/superres/{weights}/{arch}/{layer}/x{scale}.replicates.csv",
    "per_image": "results/superres/per_image/{weights}/{arch}/{layer}/x{scale}.csv",
    "example": "results/superres/examples/{weights}/{arch}/{layer}/x{scale}.png",
}
SR_REFERENCES = ["bicubic"] + (["pixel"] if SUPERRES["pixel_baseline"] else [])


# The references' outputs: the same files under none/<reference>/ (no layer, no weights variant).
SR_REFERENCE_OUTPUTS = {
    arch: {key: path.replace("{weights}/{arch}/{layer}", f"none/{arch}") for key, path in SR_OUTPUTS.items()}
    for arch in ("bicubic", "pixel")
}


SCORE_FILES["superres"] = expand(
    SR_OUTPUTS["scores"], weights=WEIGHTS, arch=ARCHS, layer=SR_LAYERS, scale=SR_SCALES
) + [path for arch in SR_REFERENCES for path in expand(SR_REFERENCE_OUTPUTS[arch]["scores"], scale=SR_SCALES)]
SR_EXAMPLES = expand(SR_OUTPUTS["example"], weights=WEIGHTS, arch=ARCHS, layer=SR_LAYERS, scale=SR_SCALES) + [
    path for arch in SR_REFERENCES for path in expand(SR_REFERENCE_OUTPUTS[arch]["example"], scale=SR_SCALES)
]
REPLICATE_FILES["superres"] = [replicates_of(path) for path in SCORE_FILES["superres"]]
TARGETS["superres"] = ["results/figures/superres_examples.png"]


rule demo_superres:
    output:
        directory(SR_DEMO),
    log:
        "logs/data/demo_superres.log",
    localrule: True
    conda:
        ENV
    params:
        root=output_folder,
        sizes=SUPERRES["demo"],
        seed=config["seed"],
    script:
        "../../scripts/superres/demo.py"


rule prepare_superres_coco:
    input:
        SR_INPUTS["coco"],
    output:
        "data/prepared/superres/coco.h5",
    log:
        "logs/data/prepare_superres_coco.log",
    conda:
        ENV
    resources:
        mem_mb=lambda wildcards, attempt: 8000 * attempt,
        runtime=lambda wildcards, attempt: 240 * attempt,
    params:
        train=SR_SOURCES["coco_train"],
        val=SR_SOURCES["coco_val"],
        settings={
            "n_train": SUPERRES["n_train"],
            "n_val": SUPERRES["n_val"],
            "size": SUPERRES["crop"],
            "seed": config["seed"],
            "cache_dir": f"{SR_RAW}/coco",  # the whole-file fallback of range reads
            "sha256": {split: SUPERRES["archives"][f"coco_{split}"].get("sha256") for split in ("train", "val")},
        },
    script:
        "../../scripts/superres/prepare_coco.py"


rule prepare_superres_test:
    input:
        lambda w: SR_INPUTS[w.test_set],
    output:
        "data/prepared/superres/{test_set}.h5",
    log:
        "logs/data/prepare_superres_{test_set}.log",
    wildcard_constraints:
        test_set="|".join(SR_TEST_SETS),
    conda:
        ENV
    params:
        source=lambda w: SR_SOURCES[w.test_set],
        scales=SR_SCALES,  # images too small for the largest scale are refused here, not after training
    script:
        "../../scripts/superres/prepare_test.py"


rule superres_train:
    input:
        data="data/prepared/superres/coco.h5",
        tests=expand("data/prepared/superres/{test_set}.h5", test_set=SR_TEST_SETS),
        weights=weights_input,
    output:
        **SR_OUTPUTS,
    log:
        "logs/superres/train/{weights}/{arch}/{layer}/x{scale}.log",
    wildcard_constraints:
        scale="|".join(map(str, SR_SCALES)),
    conda:
        ENV
    threads: SUPERRES["runtime"]["threads"]
    resources:
        gpu=GPU,
        mem_mb=lambda wildcards, attempt: 16000 * attempt,
        runtime=lambda wildcards, attempt: 720 * attempt,
    params:
        network=loss_spec,
        settings=lambda w: {**SUPERRES["train"], "scale": int(w.scale)},
        seed=config["seed"],
    script:
        "../../scripts/superres/train.py"


use rule superres_train as superres_train_pixel with:
    output:
        **SR_REFERENCE_OUTPUTS["pixel"],
    log:
        "logs/superres/train/none/pixel/x{scale}.log",


rule superres_bicubic:
    input:
        tests=expand("data/prepared/superres/{test_set}.h5", test_set=SR_TEST_SETS),
    output:
        **SR_REFERENCE_OUTPUTS["bicubic"],
    log:
        "logs/superres/bicubic/x{scale}.log",
    wildcard_constraints:
        scale="|".join(map(str, SR_SCALES)),
    conda:
        ENV
    params:
        scale=lambda w: int(w.scale),
        seed=config["seed"],
    script:
        "../../scripts/superres/bicubic.py"


rule superres_examples:
    input:
        scores=SCORE_FILES["superres"],
        examples=SR_EXAMPLES,
        test_set="data/prepared/superres/set5.h5",
    output:
        report(
            "results/figures/superres_examples.png",
            caption="../../report/superres_examples.rst",
            category="Figures",
            subcategory="Super-resolution",
            labels={"figure": "example outputs", "benchmark": "super-resolution"},
        ),
    log:
        "logs/superres/examples.log",
    localrule: True
    conda:
        ENV
    script:
        "../../scripts/superres/examples.py"
