"""Figures gennet writes (edge, no Lightning): legible image grids shared by the callbacks and the scripts."""

from .image_grid import MIN_IMAGE_SIZE, grid_to_pil, image_grid, save_image_grid, upscale_nearest

__all__ = ["MIN_IMAGE_SIZE", "grid_to_pil", "image_grid", "save_image_grid", "upscale_nearest"]
