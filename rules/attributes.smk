# Attributes of each architecture and extraction layer, computed from the model (protocol section 1).


rule attributes:
    output:
        "results/attributes/{arch}.csv",
    log:
        "logs/attributes/{arch}.log",
    conda:
        ENV
    params:
        arch=arch_params,
        input_sizes=config["attributes"]["input_sizes"],
    script:
        "../scripts/attributes.py"
