"""Weights from other projects (NVlabs, rosinality, BasicSR, Real-ESRGAN, SwinIR) as genforge networks.

``genforge.interop.formats`` holds the reader contract; each source project has its own module that
registers a reader when imported below.
"""
from genforge.interop.formats import READERS, Imported, detect, register_reader
from genforge.interop.safe_unpickle import UnsafeGlobalError, safe_load
from genforge.interop import nvlabs  # noqa: F401
from genforge.interop import nvlabs_tf  # noqa: F401
from genforge.interop import rosinality  # noqa: F401
from genforge.interop import swinir  # noqa: F401
from genforge.interop import basicsr  # noqa: F401
from genforge.interop.load import build_part, load_object, load_weights
from genforge.interop.sampling import discriminate, generate

__all__ = ['Imported', 'READERS', 'UnsafeGlobalError', 'build_part', 'detect', 'discriminate',
           'generate', 'load_object', 'load_weights', 'register_reader', 'safe_load']
