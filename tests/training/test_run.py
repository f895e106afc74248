"""The one run fingerprint: what enters it (a network by content, data by content, result-defining settings, seed)
and what never does (labels, paths, epochs, runtime knobs), for every training benchmark."""

import dataclasses

import pytest
import torch

from lossnet import zoo
from lossnet.benchmarks.autoencoding.model import AutoencoderTraining
from lossnet.benchmarks.delineation.train import DelineationTraining
from lossnet.benchmarks.superres.train import SuperresTraining
from lossnet.spec import LossSpec
from lossnet.training import Runtime, TrainingJob
from lossnet.training.run import run_key
from lossnet.weights import build_model

SETTINGS = {"superres": SuperresTraining, "delineation": DelineationTraining, "autoencoding": AutoencoderTraining}


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "prepared.h5"
    path.write_bytes(b"prepared data")
    return path


def _key(kind, data, checkpoints, **options):
    job = TrainingJob.create(kind, data, checkpoints, **options)
    return run_key(job.fingerprint(job.settings_as(SETTINGS[kind])))


@pytest.mark.parametrize("kind", list(SETTINGS))
def test_every_result_defining_setting_and_nothing_else_changes_the_run(kind, data, tmp_path):
    base = dict(arch="alexnet", layer="M", weights="random")
    reference = _key(kind, data, tmp_path, **base)
    assert _key(kind, data, tmp_path / "elsewhere", **base, runtime=Runtime(num_workers=3, eval_batch_size=1,
                                                                              keep_checkpoints=False)) == reference
    assert _key(kind, data, tmp_path, **base, epochs=1000) == reference  # more epochs continue the run
    defaults = SETTINGS[kind]()
    for field in dataclasses.fields(defaults):
        if field.name == "epochs":
            continue
        value = getattr(defaults, field.name)
        changed = {bool: lambda v: not v, str: lambda v: "bf16", int: lambda v: v + 1, float: lambda v: v * 2,
                   tuple: lambda v: (*v, 4), type(None): lambda v: 7}[type(value)](value)
        assert _key(kind, data, tmp_path, **base, **{field.name: changed}) != reference, field.name
    assert _key(kind, data, tmp_path, **base, seed=1) != reference
    assert _key(kind, data, tmp_path, **{**base, "layer": "S"}) != reference
    assert _key(kind, data, tmp_path, **{**base, "arch": "pixel"}) != reference


@pytest.mark.parametrize("kind", list(SETTINGS))
def test_weights_and_data_enter_by_content_not_by_name(kind, data, tmp_path):
    state = tmp_path / "weights.pth"
    torch.save(build_model("alexnet", "random", seed=1).state_dict(), state)
    with_file = _key(kind, data, tmp_path, arch="alexnet", weights=state)
    copy = tmp_path / "copy.pth"
    copy.write_bytes(state.read_bytes())
    assert _key(kind, data, tmp_path, arch="alexnet", weights=copy) == with_file  # same content, other path
    torch.save(build_model("alexnet", "random", seed=2).state_dict(), state)
    assert _key(kind, data, tmp_path, arch="alexnet", weights=state) != with_file  # same path, other content

    renamed = tmp_path / "renamed.h5"
    renamed.write_bytes(data.read_bytes())
    reference = _key(kind, data, tmp_path)
    assert _key(kind, renamed, tmp_path) == reference
    data.write_bytes(b"prepared data, rebuilt")
    assert _key(kind, data, tmp_path) != reference


def test_a_remapped_layer_label_is_another_network(data, tmp_path, monkeypatch):
    monkeypatch.setattr(zoo, "ARCHITECTURES", dict(zoo.ARCHITECTURES))
    before = LossSpec.resolve("alexnet", "M", "random")
    zoo.register_architecture("alexnet", {**zoo.get_architecture("alexnet").layers, "M": "features.9"})
    after = LossSpec.resolve("alexnet", "M", "random")
    assert before.labels == after.labels and before.identity() != after.identity()
    assert after.module == "features.9" and LossSpec.from_params(after.to_params()) == after


def test_an_unknown_setting_is_refused_by_name(data, tmp_path):
    job = TrainingJob.create("superres", data, tmp_path, epoch=3)
    with pytest.raises(ValueError, match=r"superres settings: unknown key\(s\) \['epoch'\]"):
        job.settings_as(SuperresTraining)


def test_a_folder_recording_another_run_is_refused(data, tmp_path):
    job = TrainingJob.create("superres", data, tmp_path)
    settings = job.settings_as(SuperresTraining)
    folder = job.run_dir(settings)
    (folder / "fingerprint.json").write_text('{"kind": "someone else"}')
    with pytest.raises(ValueError, match="holds another run"):
        job.run_dir(settings)
