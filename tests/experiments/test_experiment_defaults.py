"""The library calls and the paper's config agree: the workflow's defaults are the functions' defaults, and both
are seed 003's settings."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import yaml

from lossnet.experiments import EXPERIMENTS, cluster, style_transfer
from lossnet.experiments.generative import GenerativeEvaluation, GenerativeTraining

REPO = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
SCHEMA = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())


def defaults(function) -> dict:
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty}


def test_every_experiment_is_planned_by_the_paper_config_and_the_schema():
    # The paper's config plans every experiment but the Kumar study, which has its own overlay (kumar.yaml);
    # the demo runs all of them.
    assert set(CONFIG["experiments"]) == set(EXPERIMENTS) - {"kumar"}
    assert yaml.safe_load((REPO / "kumar.yaml").read_text())["experiments"] == ["kumar"]
    assert set(yaml.safe_load((REPO / "demo.yaml").read_text())["experiments"]) == set(EXPERIMENTS)
    assert set(SCHEMA["properties"]["experiments"]["items"]["enum"]) == set(EXPERIMENTS)
    for name in ("style_transfer", "clustering", "generative"):
        assert (REPO / f"rules/experiments/{name}.smk").exists() and "runtime" in CONFIG[name]


def test_style_transfer_config_is_the_seeds_and_the_functions():
    section, expected = CONFIG["style_transfer"], defaults(style_transfer)
    assert (section["size"], section["steps"], section["lr"]) == (256, 1000, 0.5)
    assert (section["decay_every"], section["decay"], section["style_weight"]) == (250, 0.75, 30)
    for key in ("content", "style", "size", "steps", "lr", "decay_every", "decay", "style_weight", "tv_weight"):
        assert section[key] == expected[key], key
    assert section["networks"] == [dict(n) for n in expected["networks"]]
    assert section["weights"] == list(expected["weights"])


def test_clustering_config_is_the_functions():
    section, expected = CONFIG["clustering"], defaults(cluster)
    for key in ("size", "max_per_class", "n_seeds", "pixels", "mmd"):
        assert section[key] == expected[key], key
    assert section["n_seeds"] == 5
    assert section["networks"] == [dict(n) for n in expected["networks"]]


def test_generative_config_is_the_seeds_and_the_settings_defaults():
    train = CONFIG["generative"]["train"]
    settings = dataclasses.asdict(GenerativeTraining())
    for key, value in train.items():
        assert (list(settings[key]) if key == "betas" else settings[key]) == value, key
    assert (train["batch_size"], train["lr"], train["code_lr"], train["z_dim"]) == (64, 0.001, 0.01, 64)
    assert (train["lr_decay_every"], train["lr_decay_factor"], train["betas"]) == (25, 0.5, [0.5, 0.999])
    assert CONFIG["generative"]["evaluation"] == dataclasses.asdict(GenerativeEvaluation())
    losses = {entry["name"]: entry["loss"] for entry in CONFIG["generative"]["losses"]}
    assert {"l2", "mmdpp", "seed_vgg"} <= set(losses.values()) and "mse" in losses.values()
