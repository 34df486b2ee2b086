"""The Lightning edge: LightningModules, callbacks, logger factories."""

from .atom_usage import AtomUsage
from .callbacks import ReconstructionGrids
from .checkpoint_io import AtomicCheckpointIO
from .classifier_module import ClassifierModule
from .dictionary_learning import DictionaryLearning
from .divergence import NonFiniteLossError, StopOnNonFiniteLoss
from .generator_module import GeneratorModule
from .loggers import wandb_logger
from .preemption import Preemption, RandomState
from .prior_module import PriorModule, PriorSampleGrids

__all__ = ["AtomUsage", "AtomicCheckpointIO", "ClassifierModule", "DictionaryLearning", "GeneratorModule", "NonFiniteLossError", "Preemption", "PriorModule", "PriorSampleGrids", "RandomState", "ReconstructionGrids", "StopOnNonFiniteLoss", "wandb_logger"]
