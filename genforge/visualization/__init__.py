"""Visualization: Visualizer, backends (local PNG/JSON, TensorBoard) and image grids."""
from .backends import LocalVisBackend, TensorboardVisBackend  # noqa: F401
from .grid import make_grid, save_image_grid, save_png, to_uint8_image  # noqa: F401
from .visualizer import ConcatImageVisualizer, Visualizer  # noqa: F401

GenVisualizer = Visualizer
GenVisBackend = LocalVisBackend
VisBackend = LocalVisBackend

__all__ = ['Visualizer', 'GenVisualizer', 'ConcatImageVisualizer', 'LocalVisBackend',
           'GenVisBackend', 'VisBackend', 'TensorboardVisBackend', 'make_grid', 'save_image_grid',
           'save_png', 'to_uint8_image']
