"""The Lightning edge: LightningModules, callbacks, logger factories."""

from .callbacks import ReconstructionGrids
from .generator_module import GeneratorModule
from .loggers import wandb_logger

__all__ = ["GeneratorModule", "ReconstructionGrids", "wandb_logger"]
