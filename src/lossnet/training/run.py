"""A training run's identity: the one fingerprint every benchmark and experiment keys its checkpoints by.

A checkpoint is resumed only by a run that would have written it: same loss network (by content, see
:meth:`lossnet.spec.LossSpec.identity`), same prepared data (by content), same result-defining settings and seed.
Everything else (labels, paths, file names, runtime knobs) stays out, so renaming a file never retrains and
replacing one always does. Settings that *continue* a run (``epochs``: more epochs resume it) stay out too.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping

from .._util import atomic_output, content_digest
from ..spec import LossSpec

FINGERPRINT_VERSION = 3  # bump when what a fingerprint means changes: no older checkpoint is then resumed
CONTINUING_SETTINGS = frozenset({"epochs"})  # more of these continue a run instead of defining another one
FINGERPRINT_FILE = "fingerprint.json"


def run_fingerprint(kind: str, spec: LossSpec, data: Mapping[str, str | os.PathLike], settings: Mapping[str, Any],
                    seed: int) -> dict[str, Any]:
    """Everything that defines the result of a training run of benchmark or experiment ``kind``.

    ``data``: the prepared files the run trains on, by role (``{"train": "data/prepared/coco.h5"}``); each enters
    by its content. ``settings``: the result-defining settings (``epochs`` is dropped, see the module doc).
    """
    return {
        "version": FINGERPRINT_VERSION,
        "kind": kind,
        "network": spec.identity(),
        "data": {role: content_digest(path, note=True) for role, path in sorted(data.items())},
        "settings": {key: value for key, value in sorted(settings.items()) if key not in CONTINUING_SETTINGS},
        "seed": seed,
    }


def run_key(fingerprint: Mapping[str, Any]) -> str:
    """A short stable hash of a fingerprint: the name of its checkpoint folder."""
    text = json.dumps(fingerprint, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_dir(root: str | os.PathLike, spec: LossSpec, fingerprint: Mapping[str, Any]) -> Path:
    """``root/<weights>/<arch>/<layer>/run-<key>``: readable by label, distinct by fingerprint.

    The folder gets ``fingerprint.json`` (what defines it, for people and for :func:`check_run_dir`).
    """
    folder = Path(root) / spec.weights_label / spec.arch / spec.layer / f"run-{run_key(fingerprint)}"
    folder.mkdir(parents=True, exist_ok=True)
    check_run_dir(folder, fingerprint)
    note = folder / FINGERPRINT_FILE
    if not note.exists():
        with atomic_output(note) as partial:
            partial.write_text(json.dumps(fingerprint, indent=2, sort_keys=True, default=str) + "\n")
    return folder


def check_run_dir(folder: Path, fingerprint: Mapping[str, Any]) -> None:
    """Refuse a folder whose recorded fingerprint is another run's (a hash collision, or a folder copied by hand)."""
    note = folder / FINGERPRINT_FILE
    if not note.exists():
        return
    try:
        recorded = json.loads(note.read_text())
    except ValueError as error:
        raise ValueError(f"{note} is damaged ({error}): delete {folder} to train this run afresh") from None
    expected = json.loads(json.dumps(fingerprint, sort_keys=True, default=str))
    if recorded != expected:
        raise ValueError(f"{folder} holds another run ({note} differs from this run's fingerprint): delete the "
                         "folder to train this run afresh")
