"""Hydra entry points (``train``), config validation and user-error handling."""
