"""Figures gennet writes (matplotlib, no Lightning), one family per file: legible image grids shared by the callbacks
and the scripts; the texture-synthesis panel and power spectra; the analysis figures of a classifier; a sparse code's
explanation. Figures are ``matplotlib.figure.Figure`` objects built without pyplot (save them with ``fig.savefig``)."""

from .image_grid import MIN_IMAGE_SIZE, grid_to_pil, image_grid, save_image_grid, upscale_nearest

__all__ = ["MIN_IMAGE_SIZE", "grid_to_pil", "image_grid", "save_image_grid", "upscale_nearest"]
