"""The training engine every benchmark and experiment uses.

* :mod:`.fit`: the loop (seeded per epoch, a checkpoint every epoch, resume after a kill, best-validation epoch
  kept, a clear stop on a non-finite loss);
* :mod:`.run`: a run's fingerprint and checkpoint folder;
* :mod:`.job`: :class:`TrainingJob`, one run as a value, and :class:`Runtime`, the knobs that never define one.
"""

from .fit import FitResult, NonFiniteLossError, fit, load_model_state
from .job import Runtime, TrainingJob
from .run import run_fingerprint, run_key

__all__ = ["FitResult", "NonFiniteLossError", "Runtime", "TrainingJob", "fit", "load_model_state",
           "run_fingerprint", "run_key"]
