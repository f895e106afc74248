# Attributes of each architecture and extraction layer, computed from the model (protocol section 1).


rule attributes:
    output:
        "results/attributes/{arch}.csv",
    params:
        arch=arch_params,
        input_sizes=config["attributes"]["input_sizes"],
    log:
        "logs/attributes/{arch}.log",
    script:
        "../scripts/attributes.py"
